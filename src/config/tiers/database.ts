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
  /** Performance Insights (7 days, free tier). @default `true` in production, `false` elsewhere */
  performanceInsights: z.boolean().optional(),
});
export type AwsDatabaseConfig = z.infer<typeof awsDatabaseSchema>;

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
  /** Create a `monitoring` role with `pg_monitor`; none is created otherwise (no implicit monitoring users). */
  monitoringUser: z.boolean().default(false),
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
});
export type DatabaseConfig = z.infer<typeof databaseSchema>;

/** The `aws` block with the environment's defaults applied. */
export type AwsDatabaseSettings = Required<AwsDatabaseConfig>;

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
    disposable: stack.environment === "local",
    clientImage: database.image,
    logRetentionDays: stack.logRetentionDays,
    ...(stack.assumeRoleArn && { assumeRoleArn: stack.assumeRoleArn }),
    safety: stack.safety,
  };
}

/** A database arg path's config key: `database` is `name`, RDS settings sit in the `aws` block. */
export function databaseKey(path: string): string {
  const [head, ...rest] = path.split(".");
  const key = head === "database" ? "name" : head === "image" || head === "" ? head : `aws.${head}`;
  return `${CONFIG_NAMESPACE}:database${key ? `.${[key, ...rest].join(".")}` : ""}`;
}

/**
 * Rules only the stack can make (production keeps its backups; the database is never published on every
 * interface), and the tier's settings as both components check them, named by config key.
 */
export function checkDatabase(cfg: {
  environment: Environment;
  database?: DatabaseConfig | undefined;
}): ConfigIssue[] {
  const database = cfg.database;
  if (!database) return [];
  const issues = [
    ...configIssues(
      validateDockerDatabaseArgs({ image: database.image, database: database.name }),
      databaseKey,
    ),
    ...configIssues(validateRdsDatabaseArgs(database.aws ?? {}), databaseKey),
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
