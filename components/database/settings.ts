/**
 * The pure half of the database tier: defaults, the args checks, and where the Docker server lives on its target's
 * backend network. No provider import, so a program can read it without loading a provider SDK.
 */
import type { ArgsIssue } from "../shared/errors";
import { SQL_IDENTIFIER, imageTagMajor } from "../shared/formats";
import {
  type ExtraDatabaseOptions,
  type SchemaAccess,
  REQUIRED_EXTENSIONS,
  bootstrapIssues,
} from "./bootstrapSql";

/** What the bootstrap creates besides the fixed seed-002 set; both backends take it (`DockerDatabaseArgs`, `RdsDatabaseArgs`). */
export interface DatabaseBootstrapArgs {
  /**
   * Extensions created in the application database besides postgis, uuid-ossp and pgcrypto (always created). One the
   * image is known not to ship (TimescaleDB in the PostGIS image) is refused here; any other the server lacks fails
   * the bootstrap job with a message naming it.
   * @default []
   * @example ["pg_trgm", "timescaledb"]
   */
  extensions?: string[];
  /**
   * Schemas of the application database besides `app` and `audit`, owned by `db_admin` (the migrations). For each,
   * what `app_writer` may do (`write`: CRUD, sequences and functions; `read`; `none`) and `app_reader` (`read` or
   * `none`); re-runs apply narrowed access too.
   * @default {}
   * @example { tenancy: {}, telemetry: {}, audit_log: { writer: "read", reader: "none" } }
   */
  schemas?: Record<string, SchemaAccess>;
  /**
   * Extra databases (seed 001: a database per service), each owned by `<name>_owner` (its migrations) and used by
   * `<name>_writer` and `<name>_reader`, exposed as `connection.databases.<name>`. Only a database's own roles may
   * connect to it. Its schemas default to `{ app: {} }`; it gets only the extensions listed for it.
   * @default {}
   * @example { telemetry: { extensions: ["timescaledb"] }, billing: { schemas: { ledger: {} } } }
   */
  databases?: Record<string, ExtraDatabaseOptions>;
}

/** The PostgreSQL + PostGIS image both backends use: the server on Docker, `psql` for the bootstrap on RDS. */
export const DEFAULT_POSTGIS_IMAGE = "postgis/postgis:17-3.5";
/** The application database both backends create. */
export const DEFAULT_DATABASE = "platform";

/** Defaults of the PostGIS container. */
export const DOCKER_DATABASE_DEFAULTS = {
  image: DEFAULT_POSTGIS_IMAGE,
  database: DEFAULT_DATABASE,
  memoryMb: 2048,
  shmSizeMb: 256,
} as const;

/** Defaults of the RDS instance: a small, single-AZ, encrypted PostgreSQL 17 with a week of backups. */
export const RDS_DATABASE_DEFAULTS = {
  engineVersion: "17",
  instanceClass: "db.t4g.medium",
  allocatedStorageGb: 20,
  maxAllocatedStorageGb: 100,
  multiAz: false,
  backupRetentionDays: 7,
  performanceInsights: false,
  performanceInsightsRetentionDays: 7,
  enhancedMonitoringSeconds: 0,
} as const;

/** Enhanced Monitoring's intervals, in seconds (0 is off). */
export const ENHANCED_MONITORING_SECONDS = [0, 1, 5, 10, 15, 30, 60] as const;

/** The database server's DNS name, port and superuser on a Docker target's backend network. */
export const DATABASE_HOST = "database";
export const DATABASE_PORT = 5432;
export const SUPERUSER = "postgres";
/**
 * Where the WAL archive volume is mounted, in the database container (`walArchive`) and in the backups' base-backup
 * runner alike: the restore command a point-in-time restore writes reads it there.
 */
export const WAL_ARCHIVE_DIR = "/wal-archive";

/** An image's repository without registry, tag or digest: `docker.io/timescale/timescaledb-ha:pg17` → `timescale/timescaledb-ha`. */
export function imageRepository(image: string): string {
  const ref = image.split("@")[0]!;
  const colon = ref.lastIndexOf(":");
  const name = colon > ref.lastIndexOf("/") ? ref.slice(0, colon) : ref;
  const parts = name.split("/");
  // A first part with a dot or a port is a registry (docker.io, ghcr.io, localhost:5000).
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  return parts.join("/");
}

/** TimescaleDB's HA image (PostGIS included): tags start with `pg<major>` and its data lives under its own home. */
const TIMESCALE_HA = "timescale/timescaledb-ha";

/** The PostgreSQL major version an image's tag starts with (9–99; `pg17…` for TimescaleDB's), or undefined. */
export function postgresMajor(image: string): number | undefined {
  const pg = /:pg(\d+)(?:[.-]|$)/.exec(image.split("@")[0]!);
  const major = imageRepository(image) === TIMESCALE_HA && pg ? Number(pg[1]) : imageTagMajor(image);
  return major !== undefined && major >= 9 && major < 100 ? major : undefined;
}

/**
 * Where the data volume mounts: images for PostgreSQL 18+ keep versioned data dirs under /var/lib/postgresql;
 * TimescaleDB's HA image keeps PGDATA at /home/postgres/pgdata/data (its Dockerfile's `ENV PGDATA`).
 */
export function dataMountPath(major: number, image?: string): string {
  if (image !== undefined && imageRepository(image) === TIMESCALE_HA) return "/home/postgres/pgdata";
  return major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}

/**
 * Extensions that only some images ship, and which images those are. Another extension is in every PostgreSQL
 * image (contrib) or cannot be known here: the bootstrap then fails naming it if the server lacks it.
 */
const IMAGE_ONLY_EXTENSIONS: Record<string, { images: readonly string[]; rds: boolean; use: string }> = {
  timescaledb: {
    images: [TIMESCALE_HA, "timescale/timescaledb"],
    rds: false,
    use: "a TimescaleDB image with PostGIS, e.g. timescale/timescaledb-ha:pg17",
  },
  timescaledb_toolkit: {
    images: [TIMESCALE_HA],
    rds: false,
    use: "timescale/timescaledb-ha:pg17",
  },
  vector: {
    images: [TIMESCALE_HA, "pgvector/pgvector"],
    rds: true,
    use: "an image with pgvector, e.g. timescale/timescaledb-ha:pg17",
  },
};
/** Images whose extensions are known: the PostGIS images ship contrib and PostGIS only. */
const KNOWN_IMAGES = [
  "postgis/postgis",
  "imresamu/postgis",
  TIMESCALE_HA,
  "timescale/timescaledb",
  "postgres",
];
/** Images that cannot serve the bootstrap at all: it always creates PostGIS. */
const WITHOUT_POSTGIS = ["timescale/timescaledb", "postgres", "pgvector/pgvector"];

/** The extension lists of the args, each with its arg path. */
function extensionLists(args: DatabaseBootstrapArgs): { path: string; list: string[] }[] {
  return [
    { path: "extensions", list: args.extensions ?? [] },
    ...Object.entries(args.databases ?? {}).map(([name, db]) => ({
      path: `databases.${name}.extensions`,
      list: db.extensions ?? [],
    })),
  ];
}

/** What the image (Docker) or RDS cannot provide of the configured extensions. */
function extensionIssues(args: DatabaseBootstrapArgs, server: { image: string } | "rds"): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const repo = server === "rds" ? "rds" : imageRepository(server.image);
  if (server !== "rds" && WITHOUT_POSTGIS.includes(repo))
    issues.push({
      path: "image",
      message: `'${server.image}' has no PostGIS, which the bootstrap always creates (${REQUIRED_EXTENSIONS.join(", ")}); use postgis/postgis or, for TimescaleDB, timescale/timescaledb-ha`,
    });
  for (const { path, list } of extensionLists(args)) {
    list.forEach((extension, i) => {
      const only = IMAGE_ONLY_EXTENSIONS[extension];
      if (!only) return;
      if (server === "rds") {
        if (!only.rds)
          issues.push({ path: `${path}[${i}]`, message: `RDS for PostgreSQL does not offer '${extension}'` });
      } else if (KNOWN_IMAGES.includes(repo) && !only.images.includes(repo))
        issues.push({
          path: `${path}[${i}]`,
          message: `'${extension}' is not in the image '${server.image}'; use ${only.use}`,
        });
    });
  }
  return issues;
}

/** The oldest PostgreSQL major whose psql has `\getenv`, which the bootstrap reads role passwords with. */
export const MIN_CLIENT_MAJOR = 15;

/** The bootstrap's psql comes from this image: it must read passwords from the environment (`\getenv`). */
function clientIssues(path: string, image: string | undefined): ArgsIssue[] {
  const major = image === undefined ? undefined : postgresMajor(image);
  return major !== undefined && major < MIN_CLIENT_MAJOR
    ? [
        {
          path,
          message: `'${image}' has PostgreSQL ${major}; the bootstrap needs psql ${MIN_CLIENT_MAJOR} or later (it reads role passwords from the environment with \\getenv, never from its arguments)`,
        },
      ]
    : [];
}

/** The database name's rule, shared by both backends. */
function databaseIssues(database: string | undefined): ArgsIssue[] {
  return database === undefined || SQL_IDENTIFIER.test(database)
    ? []
    : [{ path: "database", message: "must be a lower-case SQL identifier" }];
}

/** The names of the bootstrap args (databases, schemas, extensions), as both backends check them. */
function bootstrapArgsIssues(args: DatabaseBootstrapArgs & { database?: string | undefined }): ArgsIssue[] {
  return bootstrapIssues({ ...args, database: args.database ?? DEFAULT_DATABASE });
}

/** What is wrong with `DockerDatabaseArgs` (empty when valid). */
export function validateDockerDatabaseArgs(
  args: {
    image?: string | undefined;
    database?: string | undefined;
  } & DatabaseBootstrapArgs,
): ArgsIssue[] {
  const image = args.image ?? DOCKER_DATABASE_DEFAULTS.image;
  return [
    ...bootstrapArgsIssues(args),
    ...extensionIssues(args, { image }),
    ...(postgresMajor(image) === undefined
      ? [
          {
            path: "image",
            message: `cannot tell the PostgreSQL major version from '${image}' (the volume path depends on it); use a tag that starts with it, e.g. postgis/postgis:17-3.5`,
          },
        ]
      : []),
    ...clientIssues("image", image),
    ...databaseIssues(args.database),
  ];
}

/** What is wrong with `RdsDatabaseArgs` (empty when valid). */
export function validateRdsDatabaseArgs(
  args: DatabaseBootstrapArgs & {
    database?: string | undefined;
    engineVersion?: string | undefined;
    instanceClass?: string | undefined;
    allocatedStorageGb?: number | undefined;
    maxAllocatedStorageGb?: number | undefined;
    backupRetentionDays?: number | undefined;
    clientImage?: string | undefined;
    performanceInsightsRetentionDays?: number | undefined;
    enhancedMonitoringSeconds?: number | undefined;
    maxConnections?: number | undefined;
  },
): ArgsIssue[] {
  const d = RDS_DATABASE_DEFAULTS;
  const issues = [
    ...databaseIssues(args.database),
    ...clientIssues("clientImage", args.clientImage),
    ...bootstrapArgsIssues(args),
    ...extensionIssues(args, "rds"),
  ];
  const problem = (path: string, message: string) => issues.push({ path, message });
  if (args.engineVersion !== undefined && !/^\d{2}(\.\d+)?$/.test(args.engineVersion))
    problem("engineVersion", "must be a PostgreSQL version like 17 or 17.4");
  if (args.instanceClass !== undefined && !/^db\.[a-z0-9-]+\.[a-z0-9]+$/.test(args.instanceClass))
    problem("instanceClass", "must be an RDS instance class like db.t4g.medium");
  const storage = args.allocatedStorageGb ?? d.allocatedStorageGb;
  const max = args.maxAllocatedStorageGb ?? d.maxAllocatedStorageGb;
  if (!(Number.isInteger(storage) && storage >= 20 && storage <= 65536))
    problem("allocatedStorageGb", "must be a whole number of GB from 20 to 65536");
  if (!(Number.isInteger(max) && max >= 20 && max <= 65536))
    problem("maxAllocatedStorageGb", "must be a whole number of GB from 20 to 65536");
  else if (max < storage) problem("maxAllocatedStorageGb", "must be at least allocatedStorageGb");
  const pi = args.performanceInsightsRetentionDays;
  if (pi !== undefined && !(pi === 7 || (Number.isInteger(pi) && pi % 31 === 0 && pi >= 31 && pi <= 731)))
    problem(
      "performanceInsightsRetentionDays",
      "must be 7 (the free tier) or a multiple of 31 from 31 to 731 (whole months, as RDS takes them)",
    );
  const em = args.enhancedMonitoringSeconds;
  if (em !== undefined && !(ENHANCED_MONITORING_SECONDS as readonly number[]).includes(em))
    problem("enhancedMonitoringSeconds", `must be one of ${ENHANCED_MONITORING_SECONDS.join(", ")}`);
  const connections = args.maxConnections;
  if (
    connections !== undefined &&
    !(Number.isInteger(connections) && connections >= 10 && connections <= 262143)
  )
    problem("maxConnections", "must be a whole number from 10 to 262143");
  const days = args.backupRetentionDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 0 && days <= 35))
    problem("backupRetentionDays", "must be a whole number of days from 0 to 35");
  return issues;
}

/** The major of an RDS engine version (`17.4` → 17): the parameter group family is `postgres<major>`. */
export const engineMajor = (engineVersion: string) => Number(engineVersion.split(".")[0]);
