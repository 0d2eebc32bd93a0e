/**
 * The pure half of the backups tier: defaults and the args checks. No provider import, so a program can read it
 * without loading a provider SDK.
 */
import { DEFAULT_POSTGIS_IMAGE, postgresMajor } from "../database/settings";
import { type ArgsIssue, argPath } from "../shared/errors";
import type { ScrapeTarget } from "../observability/contract";
import { DOCKER_STORAGE_DEFAULTS } from "../storage/settings";

/** How many dumps stay: those younger than `days`, or the newest `count`. */
export type BackupRetention = { days: number } | { count: number };

/** Where dumps go: the protected volume only, or also mirrored to a bucket of the storage connection. */
export type BackupDestination = { kind: "volume" } | { kind: "bucket"; bucket: string };

export const BACKUP_DEFAULTS = {
  /** The database tier's default image: its pg_dump matches the default server. */
  image: DEFAULT_POSTGIS_IMAGE,
  clientImage: DOCKER_STORAGE_DEFAULTS.clientImage,
  intervalHours: 24,
  retention: { days: 14 },
  drillIntervalHours: 24,
  destination: { kind: "volume" },
  memoryMb: 512,
} as const satisfies {
  image: string;
  clientImage: string;
  intervalHours: number;
  retention: BackupRetention;
  drillIntervalHours: number;
  destination: BackupDestination;
  memoryMb: number;
};

/**
 * The metrics the backup runner and the restore drill export (served by the metrics endpoint, see
 * `renderMetricsServer`). Each `*_max_age_seconds` is the age its alert allows, published by the script that knows its
 * schedule, so the alert rules need no copy of it.
 */
export const BACKUP_METRICS = {
  lastSuccess: "stackport_backup_last_success_timestamp_seconds",
  lastFailure: "stackport_backup_last_failure_timestamp_seconds",
  started: "stackport_backup_runner_start_timestamp_seconds",
  maxAge: "stackport_backup_max_age_seconds",
  drillLastSuccess: "stackport_backup_drill_last_success_timestamp_seconds",
  drillLastFailure: "stackport_backup_drill_last_failure_timestamp_seconds",
  drillStarted: "stackport_backup_drill_start_timestamp_seconds",
  drillMaxAge: "stackport_backup_drill_max_age_seconds",
} as const;

/** Where the metrics endpoint listens on the backend network (never published). */
export const METRICS_PORT = 9188;
export const METRICS_HOST = "backups-metrics";

/** What Prometheus on the database's target scrapes of the backups: the metrics endpoint (`DockerBackups`). */
export function backupsScrapeTargets(): ScrapeTarget[] {
  return [{ job: "backups", tier: "backups", addresses: [`${METRICS_HOST}:${METRICS_PORT}`] }];
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const wholeIn = (n: number | undefined, min: number, max: number) =>
  n === undefined || (Number.isInteger(n) && n >= min && n <= max);

/**
 * What is wrong with `DockerBackupsArgs` (empty when valid). `buckets` are the storage connection's bucket keys
 * (undefined without a connection).
 */
export function validateDockerBackupsArgs(
  args: {
    image?: string | undefined;
    intervalHours?: number | undefined;
    retention?: BackupRetention | undefined;
    drillIntervalHours?: number | undefined;
    destination?: BackupDestination | undefined;
    memoryMb?: number | undefined;
  },
  buckets: string[] | undefined,
): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  if (args.image !== undefined && postgresMajor(args.image) === undefined)
    issue("image", "must carry the PostgreSQL major version in its tag (e.g. postgis/postgis:17-3.5)");
  if (!wholeIn(args.intervalHours, 1, 168))
    issue("intervalHours", "must be a whole number of hours from 1 to 168");
  if (!wholeIn(args.drillIntervalHours, 1, 720))
    issue("drillIntervalHours", "must be a whole number of hours from 1 to 720");
  const retention = args.retention;
  if (retention && "days" in retention && !wholeIn(retention.days, 1, 3650))
    issue("retention.days", "must be a whole number of days from 1 to 3650");
  if (retention && "count" in retention && !wholeIn(retention.count, 1, 1000))
    issue("retention.count", "must be a whole number of dumps from 1 to 1000");
  if (!wholeIn(args.memoryMb, 128, Number.MAX_SAFE_INTEGER))
    issue("memoryMb", "must be a whole number of MB, at least 128");
  const destination = args.destination;
  if (destination?.kind === "bucket") {
    if (!BUCKET_NAME.test(destination.bucket))
      issue("destination.bucket", "must be a bucket name (3-63 lower-case letters, digits or '-')");
    else if (!buckets) issue("storage", "a bucket destination needs a storage connection");
    else if (!buckets.includes(destination.bucket))
      issue(
        argPath("destination", "bucket"),
        `the storage connection has no bucket '${destination.bucket}' (it has: ${buckets.join(", ") || "none"})`,
      );
  }
  return issues;
}
