/**
 * `stackport:database` — PostgreSQL + PostGIS: a container on a Docker target, RDS on an AWS target, the same
 * bootstrap (roles, schemas, extensions) on both. The schema (with the `aws` block), the environment's defaults,
 * the checks only the stack can make, and the mapping from config to the component args.
 */
import { z } from "zod";
import type { StatefulSafety } from "../../../components/shared/component";
import {
  DATABASE_PORT,
  DOCKER_DATABASE_DEFAULTS,
  RDS_DATABASE_DEFAULTS,
  validateDockerDatabaseArgs,
  validateRdsDatabaseArgs,
} from "../../../components/database/settings";
import type { DockerDatabaseArgs } from "../../../components/database/dockerDatabase";
import type { RdsDatabaseArgs } from "../../../components/database/rdsDatabase";
import { SQL_IDENTIFIER } from "../../../components/shared/formats";
import { type ConfigIssue, configIssues } from "../errors";
import { adoptDatabaseSchema, externalDatabaseSchema } from "./external";
import { CONFIG_NAMESPACE, configKey } from "../keys";
import { type Environment, type Published, keyName, pinnedImage, publishOrOff, publishedOn } from "../schema";

/** `stackport:database.aws`: the RDS instance, when the tier is on an AWS target. */
export const awsDatabaseSchema = z.strictObject({
  /** PostgreSQL engine version: a major (`17`, minor upgrades automatic) or `major.minor`. Major upgrades are manual. */
  engineVersion: z.string().default(RDS_DATABASE_DEFAULTS.engineVersion),
  /** RDS instance class. */
  instanceClass: z.string().default(RDS_DATABASE_DEFAULTS.instanceClass),
  /** Storage allocated at creation, in GB. */
  allocatedStorageGb: z.number().default(RDS_DATABASE_DEFAULTS.allocatedStorageGb),
  /** Storage autoscaling ceiling. */
  maxAllocatedStorageGb: z.number().default(RDS_DATABASE_DEFAULTS.maxAllocatedStorageGb),
  /** A standby in a second availability zone, with automatic failover. @default `true` in production, else `false` */
  multiAz: z.boolean().optional(),
  /** Days of automated backups (0 turns them off; refused in production). @default `1` in `local`, `7` elsewhere */
  backupRetentionDays: z.number().optional(),
  /**
   * Performance Insights: database load by wait event and SQL statement (the RDS view of slow queries). Turning it on
   * or off updates the instance in place. @default `true` in production, `false` elsewhere
   */
  performanceInsights: z.boolean().optional(),
  /** Days Performance Insights keeps its data: 7 (free tier) or a multiple of 31 up to 731. */
  performanceInsightsRetentionDays: z
    .number()
    .int()
    .default(RDS_DATABASE_DEFAULTS.performanceInsightsRetentionDays),
  /** Enhanced Monitoring's interval in seconds (OS metrics; 1, 5, 10, 15, 30 or 60); 0 is off. */
  enhancedMonitoringSeconds: z.number().int().default(RDS_DATABASE_DEFAULTS.enhancedMonitoringSeconds),
  /**
   * `max_connections` of the instance (applied at its next reboot) and what the connections alarm compares with.
   * @default RDS's own, estimated from the instance class's memory
   */
  maxConnections: z.number().int().optional(),
});
export type AwsDatabaseConfig = z.infer<typeof awsDatabaseSchema>;

// Helper F's block (external sources and adoption, src/config/tiers/external.ts): kept apart from the bootstrap's keys.
const sourceKeys = {
  /**
   * The database as a system stackport does not run serves it: the tier is `on` an `external` target, the `from` side
   * of a cutover. stackport creates nothing there; the copy and verification reach it through this URL.
   */
  external: externalDatabaseSchema.optional(),
  /**
   * Bring an existing RDS instance under management instead of creating one (Pulumi `import`, AWS only): the plan
   * shows an import, not a create. Its settings must match the instance's, or the import fails
   * (docs/runbooks/cutover-s3-to-minio.md, "Adopting").
   */
  adopt: adoptDatabaseSchema.optional(),
};

const schemaAccessSchema = z.strictObject({
  /** What `app_writer` (or the database's writer) may do in the schema. */
  writer: z.enum(["write", "read", "none"]).default("write"),
  /** What `app_reader` (or the database's reader) may do in the schema. */
  reader: z.enum(["read", "none"]).default("read"),
});

const extraDatabaseSchema = z.strictObject({
  /** Its schemas, owned by `<name>_owner`, and the writer's and reader's access to each. */
  schemas: z.record(z.string(), schemaAccessSchema).default({ app: { writer: "write", reader: "read" } }),
  /** Extensions created in it; none otherwise. */
  extensions: z.array(z.string()).default([]),
});

export const databaseSchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /**
   * PostgreSQL + PostGIS image; its tag starts with the PostgreSQL major version, which picks the volume path: majors
   * ≥ 18 mount it at `/var/lib/postgresql`, older ones at `/var/lib/postgresql/data`. `postgis/postgis` is
   * amd64-only; use `imresamu/postgis` on ARM hosts.
   */
  image: pinnedImage.default(DOCKER_DATABASE_DEFAULTS.image),
  /** The application database. */
  name: z
    .string()
    .regex(SQL_IDENTIFIER, "must be a lower-case SQL identifier")
    .default(DOCKER_DATABASE_DEFAULTS.database),
  /**
   * PostgreSQL on the host, or `false` for never; `0.0.0.0` is refused.
   * @default `127.0.0.1:5432` in `local`, not published elsewhere
   */
  publish: publishOrOff,
  /**
   * Create a `monitoring` role with `pg_monitor` (server statistics, no data); none is created otherwise (no
   * implicit monitoring users). When the observability tier is on the same Docker target, its PostgreSQL exporter
   * connects as this role (`stackport:observability.postgresExporter`).
   */
  monitoringUser: z.boolean().default(false),
  /**
   * Extensions created in the application database besides postgis, uuid-ossp and pgcrypto (always there). One the
   * image is known not to ship is refused (TimescaleDB needs `image: timescale/timescaledb-ha:pg17`; RDS offers no
   * TimescaleDB); any other the server lacks fails the bootstrap job, naming it.
   */
  extensions: z.array(z.string()).default([]),
  /**
   * Schemas of the application database besides `app` and `audit` (seed 004's schema modules), owned by `db_admin`.
   * For each, `writer` is what `app_writer` may do (`write`, `read` or `none`) and `reader` what `app_reader` may
   * (`read` or `none`); a narrower setting is applied on the next run.
   */
  schemas: z.record(z.string(), schemaAccessSchema).default({}),
  /**
   * Extra databases (seed 001: a database per service), each owned by `<name>_owner` and used by `<name>_writer`
   * and `<name>_reader`; a database's roles cannot connect to any other. A service picks one with
   * `connections.database: { name: <name>, role: writer }`. With `stackport:backups`, set `backups.wal`: pg_dump
   * covers the application database only, base backups and the WAL archive the whole server.
   */
  databases: z.record(z.string(), extraDatabaseSchema).default({}),
  /** Container memory limit, in MB. */
  memoryMb: z.number().int().min(256).default(DOCKER_DATABASE_DEFAULTS.memoryMb),
  /** `shm_size` for the container, in MB (PostgreSQL parallel queries need more than Docker's 64 MB). */
  shmSizeMb: z.number().int().min(64).default(DOCKER_DATABASE_DEFAULTS.shmSizeMb),
  /**
   * Schema migrations (Alembic, drizzle-kit, Flyway…) as a one-shot job after the bootstrap, as `db_admin`, the one
   * role that may change the schema. One container runs them, on the first update and again whenever `image` or
   * `command` changes (a new release); services get their connection only once it succeeded. The job gets
   * `DATABASE_URL` and the libpq variables (`PGHOST`…, with `search_path=app,public`). Docker only: on AWS the key is
   * refused; run migrations from CI against the `db_admin` secret.
   */
  migrations: z
    .strictObject({
      /** Image that runs them; it needs `/bin/sh`. */
      image: pinnedImage,
      /** The migration command, e.g. `["alembic", "upgrade", "head"]`. */
      command: z.array(z.string().min(1)).min(1),
    })
    .optional(),
  aws: awsDatabaseSchema.optional(),
  ...sourceKeys,
});
export type DatabaseConfig = z.infer<typeof databaseSchema>;

/** The `aws` block with the environment's defaults applied. */
export type AwsDatabaseSettings = Required<Omit<AwsDatabaseConfig, "maxConnections">> &
  Pick<AwsDatabaseConfig, "maxConnections">;

export interface ResolvedDatabase extends Omit<DatabaseConfig, "publish" | "aws"> {
  publish: Published;
  aws: AwsDatabaseSettings;
}

const production = (env: Environment) => env === "production";

/**
 * Environment defaults: PostgreSQL on loopback in `local`, published nowhere elsewhere; on RDS multi-AZ and
 * Performance Insights in production, a day of backups in `local` and a week elsewhere.
 */
export function resolveDatabase(database: DatabaseConfig, environment: Environment): ResolvedDatabase {
  const aws = database.aws ?? awsDatabaseSchema.parse({});
  return {
    ...database,
    publish: publishedOn(database.publish, environment, DATABASE_PORT),
    aws: {
      ...aws,
      multiAz: aws.multiAz ?? production(environment),
      backupRetentionDays: aws.backupRetentionDays ?? (environment === "local" ? 1 : 7),
      performanceInsights: aws.performanceInsights ?? production(environment),
    },
  };
}

/** The bootstrap's extensions, schemas and databases, only when configured (so other plans stay as they were). */
function bootstrapArgs(
  database: DatabaseConfig,
): Pick<DockerDatabaseArgs, "extensions" | "schemas" | "databases"> {
  return {
    ...(database.extensions.length > 0 && { extensions: database.extensions }),
    ...(Object.keys(database.schemas).length > 0 && { schemas: database.schemas }),
    ...(Object.keys(database.databases).length > 0 && { databases: database.databases }),
  };
}

/**
 * The tier on a Docker target. Only the serving side runs the migrations (during a cutover the other gets a copy);
 * `backupUser` where backups dump it.
 */
export function dockerDatabaseArgs(
  database: ResolvedDatabase,
  safety: StatefulSafety,
  opts: { runMigrations: boolean; backupUser?: boolean },
): Omit<DockerDatabaseArgs, "placement"> {
  const migrations = opts.runMigrations ? database.migrations : undefined;
  return {
    image: database.image,
    database: database.name,
    ...(database.publish && { publish: database.publish }),
    monitoringUser: database.monitoringUser,
    ...bootstrapArgs(database),
    // The read-only role the backup runner dumps as; only where stackport:backups runs.
    ...(opts.backupUser && { backupUser: true }),
    memoryMb: database.memoryMb,
    shmSizeMb: database.shmSizeMb,
    ...(migrations && {
      migrations: { ...migrations, origin: configKey(["database", "migrations", "command"]) },
    }),
    safety,
  };
}

/**
 * The tier on an AWS target: a `local` instance is disposable (no deletion protection, no final snapshot); the
 * tier's image runs the bootstrap's psql.
 */
export function rdsDatabaseArgs(
  database: ResolvedDatabase,
  stack: {
    environment: Environment;
    safety: StatefulSafety;
    logRetentionDays: number;
    assumeRoleArn?: string;
  },
): Omit<RdsDatabaseArgs, "placement"> {
  return {
    database: database.name,
    ...database.aws,
    monitoringUser: database.monitoringUser,
    ...bootstrapArgs(database),
    disposable: stack.environment === "local",
    clientImage: database.image,
    logRetentionDays: stack.logRetentionDays,
    ...(stack.assumeRoleArn && { assumeRoleArn: stack.assumeRoleArn }),
    ...(database.adopt && { adopt: database.adopt }),
    safety: stack.safety,
  };
}

/** Arg paths that are top-level config keys; every other RDS setting sits in the `aws` block. */
const TOP_LEVEL_ARGS = ["image", "", "schemas", "databases"];

/** A database arg path's config key: `database` is `name`, RDS settings sit in the `aws` block. */
export function databaseKey(path: string): string {
  const [head, ...rest] = path.split(".");
  const top = head!.replace(/\[\d+\]$/, "");
  const key =
    head === "database"
      ? "name"
      : TOP_LEVEL_ARGS.includes(top) || top === "extensions"
        ? head
        : `aws.${head}`;
  return `${CONFIG_NAMESPACE}:database${key ? `.${[key, ...rest].join(".")}` : ""}`;
}

/**
 * Rules only the stack can make (production keeps its backups; the database is never published on every
 * interface), and the tier's settings as both components check them, named by config key.
 */
export function checkDatabase(cfg: {
  environment: Environment;
  targets?: Record<string, { kind: string }>;
  database?: DatabaseConfig | undefined;
}): ConfigIssue[] {
  const database = cfg.database;
  if (!database) return [];
  // The bootstrap's names and extensions are checked against the server that runs them: the image on Docker, RDS
  // on AWS (where the image only provides psql).
  const onAws = cfg.targets?.[database.on]?.kind === "aws";
  const bootstrap = bootstrapArgs(database);
  const issues = [
    ...configIssues(
      validateDockerDatabaseArgs({
        image: database.image,
        database: database.name,
        ...(!onAws && bootstrap),
      }),
      databaseKey,
    ),
    ...configIssues(validateRdsDatabaseArgs({ ...database.aws, ...(onAws && bootstrap) }), databaseKey),
  ];
  if (production(cfg.environment) && database.aws?.backupRetentionDays === 0) {
    issues.push({
      key: configKey(["database", "aws", "backupRetentionDays"]),
      message: "0 turns automated backups off, which production never does; use 1–35 (default 7)",
    });
  }
  if (database.publish && database.publish.address === "0.0.0.0") {
    issues.push({
      key: configKey(["database", "publish", "address"]),
      message: "the database is never published on all interfaces; use 127.0.0.1 or a specific LAN address",
    });
  }
  return issues;
}
