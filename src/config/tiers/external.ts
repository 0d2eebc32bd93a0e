/**
 * Data tiers stackport did not create: `external` sources (a database or object store a system stackport does not run
 * serves — Supabase, buckets managed elsewhere — as the `from` side of a cutover; stackport creates nothing there, it
 * only hands their connection to the copy jobs) and adoption (existing S3 buckets and RDS instances brought under
 * management with Pulumi's `import`, so they are managed without being recreated). The schemas of
 * `stackport:<tier>.external` and `stackport:<tier>.adopt`, and the checks only the stack can make.
 */
import { z } from "zod";
import { BUCKET_NAME } from "../../../components/storage/settings";
import type { ConfigIssue } from "../errors";
import { configKey } from "../keys";
import { keyName } from "../schema";

/** A name of `stackport:secrets` (a stack secret: `pulumi config set --secret --path 'stackport:secrets.<name>'`). */
const secretName = keyName;
const bucketName = z
  .string()
  .regex(BUCKET_NAME, "must be 3-63 lower-case letters, digits or '-' (S3 bucket rules)");

/** `stackport:database.external`. */
export const externalDatabaseSchema = z.strictObject({
  /**
   * The stack secret holding the source's PostgreSQL URL, `postgresql://user:password@host:port/database`, as the
   * machine running `pulumi up` reaches it (Supabase: the direct or session-pooler connection string).
   * @example "supabase-db-url"
   */
  urlSecret: secretName,
});

/** `stackport:storage.external`. */
export const externalStorageSchema = z.strictObject({
  /**
   * The S3 API, `https://host[:port]` without a path (mc's client library, minio-go, refuses an endpoint with a path),
   * as the object mirror's container reaches it. Existing AWS buckets: `https://s3.<region>.amazonaws.com`.
   */
  endpoint: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  /** The stack secret holding the access key id (read access to the buckets is enough). */
  accessKeyIdSecret: secretName,
  /** The stack secret holding the secret access key. */
  secretAccessKeySecret: secretName,
  /**
   * The buckets' names at the source, by key of `stackport:storage.buckets`. @default the key itself
   * @example { raw: "goes-raw-prod-2019" }
   */
  bucketNames: z.record(keyName, bucketName).optional(),
});

/** `stackport:storage.adopt`. */
export const adoptStorageSchema = z.strictObject({
  /**
   * Existing S3 buckets to manage instead of creating new ones: key of `stackport:storage.buckets` → the bucket's name.
   * @example { raw: "goes-raw-prod-2019" }
   */
  buckets: z.record(keyName, bucketName),
});

/** `stackport:database.adopt`. */
export const adoptDatabaseSchema = z.strictObject({
  /** The existing RDS instance's identifier (`aws rds describe-db-instances`). */
  dbInstanceIdentifier: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}$/, "must be an RDS instance identifier (lower-case letters, digits, '-')"),
});

export type ExternalDatabaseConfig = z.infer<typeof externalDatabaseSchema>;
export type ExternalStorageConfig = z.infer<typeof externalStorageSchema>;

/** What the checks read: the targets, the two data tiers, the cutover and the stack secrets' names. */
interface SourcesContext {
  targets: Record<string, { kind: string }>;
  secrets?: Record<string, string> | undefined;
  storage?:
    | {
        on: string;
        buckets: Record<string, unknown>;
        external?: ExternalStorageConfig | undefined;
        adopt?: { buckets: Record<string, string> } | undefined;
      }
    | undefined;
  database?: { on: string; external?: ExternalDatabaseConfig | undefined; adopt?: unknown } | undefined;
  proxy?: { on: string } | undefined;
  ingestion?: { on: string } | undefined;
  basemap?: { on: string } | undefined;
  observability?: { on: string } | undefined;
  cutover?:
    | {
        storage?: { from: string; to: string } | undefined;
        database?: { from: string; to: string; schemas?: string[] | undefined } | undefined;
      }
    | undefined;
}

/**
 * Where external targets may appear and what an external or adopted tier needs, each problem named by its key:
 * only storage and database sit on an external target, only as the `from` side of a cutover, with their `external`
 * connection; a cutover never moves onto one; secrets named exist; `adopt` only where the tier has an AWS side.
 */
export function sourceIssues(cfg: SourcesContext): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: PropertyKey[], message: string) => issues.push({ key: configKey(path), message });
  const kindOf = (t: string | undefined) => (t === undefined ? undefined : cfg.targets[t]?.kind);

  for (const tier of ["proxy", "ingestion", "basemap", "observability"] as const) {
    const on = cfg[tier]?.on;
    if (kindOf(on) === "external")
      add(
        [tier, "on"],
        `'${on}' is an external target: stackport runs nothing there; only stackport:storage and stackport:database are placed on one, as the from side of a cutover`,
      );
  }

  for (const tier of ["storage", "database"] as const) {
    const placed = cfg[tier];
    if (!placed) continue;
    const cutover = cfg.cutover?.[tier];
    const onExternal = kindOf(placed.on) === "external";
    if (kindOf(cutover?.to) === "external")
      add(
        ["cutover", tier, "to"],
        `'${cutover!.to}' is an external target: a cutover moves a tier onto a target stackport runs (docker or aws)`,
      );
    if (onExternal && !placed.external)
      add(
        [tier, "external"],
        `is required: stackport:${tier}.on '${placed.on}' is an external target, and this block gives its connection`,
      );
    if (onExternal && !(cutover && cutover.from === placed.on))
      add(
        [tier, "on"],
        `'${placed.on}' is an external target: it is only the from side of a cutover (stackport:cutover.${tier}: { from: ${placed.on}, to: <a docker or aws target>, phase })`,
      );
    if (!onExternal && placed.external)
      add(
        [tier, "external"],
        `has no effect: stackport:${tier}.on '${placed.on}' is a ${kindOf(placed.on) ?? "unknown"} target; the block describes a tier on an external target`,
      );
    if (placed.adopt !== undefined) {
      const sides = [placed.on, cutover?.to].filter((t): t is string => t !== undefined);
      if (!sides.some((t) => kindOf(t) === "aws"))
        add(
          [tier, "adopt"],
          `adopts existing AWS resources with Pulumi import, but stackport:${tier} has no AWS side (on '${placed.on}'${cutover ? `, cutover to '${cutover.to}'` : ""})`,
        );
    }
  }

  const storage = cfg.storage;
  for (const [key, name] of Object.entries(storage?.external?.bucketNames ?? {}))
    if (storage && !(key in storage.buckets))
      add(["storage", "external", "bucketNames", key], unknownBucket(key, name, storage.buckets));
  for (const [key, name] of Object.entries(storage?.adopt?.buckets ?? {}))
    if (storage && !(key in storage.buckets))
      add(["storage", "adopt", "buckets", key], unknownBucket(key, name, storage.buckets));
  const endpoint = storage?.external?.endpoint;
  if (endpoint && !/^https?:\/\/[^/]+\/?$/.test(endpoint))
    add(
      ["storage", "external", "endpoint"],
      "has a path: the object mirror's mc (minio-go, isValidEndpointURL) only addresses an S3 API at the root of a host; give https://host[:port] (Supabase Storage's /storage/v1/s3 endpoint: see docs/runbooks/cutover-supabase-to-homelab.md)",
    );

  const named: [PropertyKey[], string | undefined][] = [
    [["database", "external", "urlSecret"], cfg.database?.external?.urlSecret],
    [["storage", "external", "accessKeyIdSecret"], storage?.external?.accessKeyIdSecret],
    [["storage", "external", "secretAccessKeySecret"], storage?.external?.secretAccessKeySecret],
  ];
  for (const [path, name] of named) {
    if (name !== undefined && !(name in (cfg.secrets ?? {})))
      add(
        path,
        `unknown secret '${name}'; set it with pulumi config set --secret --path 'stackport:secrets.${name}' <value> (known: ${
          Object.keys(cfg.secrets ?? {})
            .sort()
            .join(", ") || "(none)"
        })`,
      );
  }

  const database = cfg.cutover?.database;
  if (database && kindOf(database.from) === "external" && !database.schemas)
    add(
      ["cutover", "database", "schemas"],
      `is required when copying from an external source ('${database.from}'): list the schemas to copy and verify, e.g. [auth, storage, public]; stackport's own 'app' is not there`,
    );
  return issues;
}

const unknownBucket = (key: string, name: string, buckets: Record<string, unknown>) =>
  `'${key}' (${name}) is not a key of stackport:storage.buckets (${Object.keys(buckets).join(", ") || "none"}); every bucket of the tier is listed there`;
