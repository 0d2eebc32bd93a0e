/**
 * The building blocks of the stack configuration and the core tiers (targets, safety, storage, database, proxy), as
 * zod schemas. The whole namespace is assembled in `stack.ts` (tiers in `tiers/` build on this file, so it imports
 * none of them). `docs/configuration.md` is the prose version.
 *
 * Schemas are strict: an unknown key is an error (a typo must never silently fall back to a default).
 */
import { z } from "zod";

// A stack's configuration is parsed once per process. Zod's JIT generates and compiles a function per object
// schema on its first parse, which costs about twice what it saves on a single parse; the interpreted path
// validates the same way with the same issues.
z.config({ jitless: true });

export const ENVIRONMENTS = ["local", "staging", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** A name used as a stable key (target names, bucket names, route names): becomes part of logical names. */
export const keyName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,30}$/,
    "must be lower-case letters, digits and '-', start with a letter, at most 31 chars",
  );

const port = z.number().int().min(1).max(65535);

const ipv4 = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/,
    "must be an IPv4 address like 127.0.0.1",
  );

/** An IPv4 CIDR block such as `10.0.0.0/8`; a bare address means `/32`. */
export const cidr = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/,
    "must be an IPv4 CIDR block like 10.0.0.0/8 or 192.168.1.20/32",
  );

/** A container image reference that names a tag or digest: `:latest` and tag-less images are refused. */
export const pinnedImage = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/,
    "must be an image reference like registry/name:tag",
  )
  .refine(
    (ref) => /@sha256:/.test(ref) || /:[^/:]+$/.test(ref),
    "must be pinned to a tag or digest (name:tag)",
  )
  .refine((ref) => !/:latest$/.test(ref), "must not use the moving tag :latest; pin a version");

// ---------------------------------------------------------------------------------------------------------
// Safety

export const safetySchema = z.strictObject({
  /** `protect` on stateful resources (volumes, buckets, databases). @default false in local, true elsewhere */
  protect: z.boolean().optional(),
  /** `retainOnDelete` on stateful resources. @default false in local, true elsewhere */
  retainOnDelete: z.boolean().optional(),
});

// ---------------------------------------------------------------------------------------------------------
// Tiers

/** A host port binding. The address defaults to loopback: nothing is reachable from the LAN unless asked for. */
export const publishSchema = z.strictObject({
  port,
  address: ipv4.default("127.0.0.1"),
});
export type PublishConfig = z.infer<typeof publishSchema>;

const bucketSchema = z.strictObject({
  versioning: z.boolean().default(true),
  /** Delete objects this many days after creation. */
  expireAfterDays: z.number().int().min(1).max(3650).optional(),
  /** Delete non-current versions this many days after they were replaced. */
  noncurrentExpireAfterDays: z.number().int().min(1).max(3650).optional(),
});
export type BucketConfig = z.infer<typeof bucketSchema>;

/** S3 bucket naming rules (3–63 chars, lower-case, digits, '-'); the key is the bucket's stable name. */
const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
    "must be 3-63 lower-case letters, digits or '-' (S3 bucket rules)",
  );

export const DEFAULT_BUCKETS: Record<string, z.input<typeof bucketSchema>> = {
  raw: { versioning: true },
  derived: { versioning: true },
  tiles: { versioning: false },
  logs: { versioning: false, expireAfterDays: 30 },
};

export const storageSchema = z.strictObject({
  on: keyName,
  /** S3-compatible server image (MinIO by default; the frozen quay.io build, see docs). */
  image: pinnedImage.default("quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"),
  /** Image that runs the bucket bootstrap (`mc`). */
  clientImage: pinnedImage.default("quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z"),
  /** S3 API published on the host. @default 127.0.0.1:9000 in local, not published elsewhere */
  publishApi: z.union([publishSchema, z.literal(false)]).optional(),
  /** Web console published on the host. @default 127.0.0.1:9001 in local, not published elsewhere */
  publishConsole: z.union([publishSchema, z.literal(false)]).optional(),
  buckets: z.record(bucketName, bucketSchema).default(DEFAULT_BUCKETS as never),
  memoryMb: z.number().int().min(128).default(1024),
});
export type StorageConfig = z.infer<typeof storageSchema>;

export const databaseSchema = z.strictObject({
  on: keyName,
  /** PostgreSQL + PostGIS image. Major ≥ 18 mounts its volume at /var/lib/postgresql. */
  image: pinnedImage
    .refine(
      (ref) => /:\d+(?:[.-][^/:@]*)?(?:@sha256:[a-f0-9]{64})?$/.test(ref),
      "must carry a tag that starts with the PostgreSQL major version, e.g. postgis/postgis:17-3.5 (the volume path depends on it)",
    )
    .default("postgis/postgis:17-3.5"),
  /** Database the application uses. */
  name: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
    .default("platform"),
  /** Port published on the host. @default 127.0.0.1:5432 in local, not published elsewhere */
  publish: z.union([publishSchema, z.literal(false)]).optional(),
  /** Create a `monitoring` role with `pg_monitor` (seed 002: no implicit monitoring users). */
  monitoringUser: z.boolean().default(false),
  memoryMb: z.number().int().min(256).default(2048),
  /** `shm_size` for the container, in MB (PostgreSQL parallel queries need more than Docker's 64 MB). */
  shmSizeMb: z.number().int().min(64).default(256),
  /**
   * Schema migrations (Alembic, drizzle-kit, Flyway…) as a one-shot job after the bootstrap, as `db_admin`, the one
   * role that may change the schema. One container runs them, on the first update and again whenever `image` or
   * `command` changes (a new release); services get their connection only once it succeeded. The job gets
   * `DATABASE_URL` and the libpq variables; its image needs `/bin/sh`. Docker only.
   */
  migrations: z
    .strictObject({
      image: pinnedImage,
      command: z.array(z.string().min(1)).min(1),
    })
    .optional(),
});
export type DatabaseConfig = z.infer<typeof databaseSchema>;

export const routeSchema = z.strictObject({
  /** Host name this route answers on. @default the proxy's `domain` */
  host: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a DNS name")
    .optional(),
  /** Path prefix, e.g. `/tiles`. @default every path of the host */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/, "must start with / and contain only URL path characters")
    .optional(),
  /** Remove the path prefix before proxying. */
  stripPrefix: z.boolean().default(false),
  /** The upstream: a service another tier exposes (e.g. `storage`, `storage-console`) or `host:port`. */
  to: z.string().min(1),
  /**
   * `basic`: HTTP basic auth with the proxy's generated users (bcrypt). `apiKey`: the request must carry header
   * `X-API-Key` equal to the route's generated key (a secret stack output), otherwise 401.
   */
  auth: z.enum(["none", "basic", "apiKey"]).default("none"),
  /** Only these client networks may use the route; others get 403. */
  allowFrom: z.array(cidr).optional(),
});
export type RouteConfig = z.infer<typeof routeSchema>;

export const proxySchema = z.strictObject({
  on: keyName,
  image: pinnedImage.default("caddy:2.11.4-alpine"),
  /** Site address for routes without their own `host`. */
  domain: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a DNS name")
    .default("localhost"),
  tls: z
    .discriminatedUnion("mode", [
      z.strictObject({ mode: z.literal("http") }),
      z.strictObject({ mode: z.literal("internal") }),
      z.strictObject({ mode: z.literal("acme"), email: z.email("must be an e-mail address") }),
    ])
    .default({ mode: "http" }),
  /** Host address the proxy listens on. @default 127.0.0.1 in local, 0.0.0.0 elsewhere (it is the entry point) */
  bindAddress: ipv4.optional(),
  httpPort: port.default(80),
  httpsPort: port.default(443),
  /** Users for `auth: basic` routes; each gets a generated password (a stack output, secret). */
  basicAuthUsers: z.array(keyName).default(["admin"]),
  routes: z.record(keyName, routeSchema).default({}),
  memoryMb: z.number().int().min(64).default(256),
});
export type ProxyConfig = z.infer<typeof proxySchema>;
