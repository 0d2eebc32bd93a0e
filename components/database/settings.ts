/**
 * The pure half of the database tier: defaults, the args checks, and where the Docker server lives on its target's
 * backend network. No provider import, so a program can read it without loading a provider SDK.
 */
import type { ArgsIssue } from "../shared/errors";
import { SQL_IDENTIFIER, imageTagMajor } from "../shared/formats";

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
} as const;

/** The database server's DNS name, port and superuser on a Docker target's backend network. */
export const DATABASE_HOST = "database";
export const DATABASE_PORT = 5432;
export const SUPERUSER = "postgres";

/** The PostgreSQL major version an image's tag starts with (9–99), or undefined when it cannot be told. */
export function postgresMajor(image: string): number | undefined {
  const major = imageTagMajor(image);
  return major !== undefined && major >= 9 && major < 100 ? major : undefined;
}

/** Where the data volume mounts: images for PostgreSQL 18+ keep versioned data dirs under /var/lib/postgresql. */
export function dataMountPath(major: number): string {
  return major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
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

/** What is wrong with `DockerDatabaseArgs` (empty when valid). */
export function validateDockerDatabaseArgs(args: {
  image?: string | undefined;
  database?: string | undefined;
}): ArgsIssue[] {
  const image = args.image ?? DOCKER_DATABASE_DEFAULTS.image;
  return [
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
export function validateRdsDatabaseArgs(args: {
  database?: string | undefined;
  engineVersion?: string | undefined;
  instanceClass?: string | undefined;
  allocatedStorageGb?: number | undefined;
  maxAllocatedStorageGb?: number | undefined;
  backupRetentionDays?: number | undefined;
  clientImage?: string | undefined;
}): ArgsIssue[] {
  const d = RDS_DATABASE_DEFAULTS;
  const issues = [...databaseIssues(args.database), ...clientIssues("clientImage", args.clientImage)];
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
  const days = args.backupRetentionDays;
  if (days !== undefined && !(Number.isInteger(days) && days >= 0 && days <= 35))
    problem("backupRetentionDays", "must be a whole number of days from 0 to 35");
  return issues;
}

/** The major of an RDS engine version (`17.4` → 17): the parameter group family is `postgres<major>`. */
export const engineMajor = (engineVersion: string) => Number(engineVersion.split(".")[0]);
