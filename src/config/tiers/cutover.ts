/**
 * `stackport:cutover` — a tier moving between two targets, one reviewed phase per `pulumi up`
 * (docs/runbooks/cutover-*.md). The phase → placement rules live in src/config/phases.ts.
 */
import { z } from "zod";
import { PHASES } from "../phases";
import { keyName } from "../schema";

/** Tiers that can move between targets (the stateful ones carry their data across with copy/verify jobs). */
export const CUTOVER_TIERS = ["storage", "database"] as const;
export type CutoverTier = (typeof CUTOVER_TIERS)[number];

/** An address as the machine running `pulumi up` reaches it (an SSH tunnel, a VPN address, a published port). */
const reachable = z.strictObject({
  /** Host name or IP address. */
  host: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name or IP address"),
  /** Port. */
  port: z.number().int().min(1).max(65535),
});

const phaseFields = {
  /** The target the tier is on now (an `external` target for a system stackport does not run); keep the tier's `on` at `from` until the cutover ends. */
  from: keyName,
  /** The target the tier moves to. */
  to: keyName,
  /** Where the cutover stands; each phase is one reviewed `pulumi up`. */
  phase: z.enum(PHASES),
  /**
   * Parallel run: during replicate, freeze and backfill the tier's consumers (services, the basemap) may be placed on
   * the `to` target, where they use its copy — read-only: the database as `app_reader`, buckets with read access —
   * so the new side is exercised before `switch`. The copy is replaced by the backfill, so nothing may write to it.
   * @default false
   */
  parallelRun: z.boolean().optional(),
};

const databaseCutover = z.strictObject({
  ...phaseFields,
  /**
   * Where the copy and verification (run from the machine running `pulumi up`, with pg_dump/psql 15+ on PATH)
   * reach each side's database. Required by the phases that copy: replicate and backfill. An external source is
   * reached at its URL's host (`stackport:database.external.urlSecret`): give only `target` then.
   */
  access: z.strictObject({ source: reachable.optional(), target: reachable }).optional(),
  /**
   * The schemas copied and verified. Required from an external source (its schemas are its own, e.g. Supabase's
   * `auth`, `storage`, `public`); their grants are not copied, the target's `app_reader`/`app_writer` get read and
   * read-write on them instead.
   * @default ["app"]
   */
  schemas: z
    .array(z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case schema name"))
    .min(1)
    .optional(),
});

const storageCutover = z.strictObject({
  ...phaseFields,
  /**
   * The object mirror: a container on the Docker side copying every bucket source → target (replicate, freeze),
   * then the verified final copy (backfill).
   */
  mirror: z
    .strictObject({
      /**
       * The target the mirror runs on: `from` or `to`, a Docker target (two AWS sides are refused: use S3
       * Replication). @default the Docker side (the source when both are Docker)
       */
      on: keyName.optional(),
      /**
       * The other side's S3 API as the mirror reaches it, `http(s)://host[:port]`. Required when both sides are Docker
       * (a published MinIO API). @default the other side's endpoint (S3's public one)
       */
      remoteEndpoint: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
      /** Seconds between two passes of the continuous mirror. @default 60 */
      intervalSeconds: z.number().int().min(1).max(86_400).optional(),
    })
    .optional(),
});

export type DatabaseCutover = z.infer<typeof databaseCutover>;
export type StorageCutover = z.infer<typeof storageCutover>;

export const cutoverSchema = z.strictObject({
  /** Move the storage tier: its buckets are mirrored to the new target, then verified. */
  storage: storageCutover.optional(),
  /** Move the database tier: copied with pg_dump/pg_restore, then verified (row counts and checksums per table). */
  database: databaseCutover.optional(),
});
export type CutoverConfig = z.infer<typeof cutoverSchema>;
