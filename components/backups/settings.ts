/**
 * The pure half of the backups tier: defaults and the args checks. No provider import, so a program can read it
 * without loading a provider SDK.
 */
import type * as pulumi from "@pulumi/pulumi";
import { DEFAULT_POSTGIS_IMAGE, postgresMajor } from "../database/settings";
import { type ArgsIssue, argPath } from "../shared/errors";
import type { ScrapeTarget } from "../observability/contract";
import { DOCKER_STORAGE_DEFAULTS } from "../storage/settings";

/** The official restic image the off-host copy runs in (restic/restic docker/Dockerfile at v0.18.1). */
export const RESTIC_IMAGE = "restic/restic:0.18.1";

/** Continuous archiving's side in the backups tier: base backups and the archive's retention. */
export interface WalBackupArgs {
  /** Physical name of the archive volume the database writes to (`DockerDatabase.walArchiveVolume`). */
  archiveVolume: pulumi.Input<string>;
  /** Hours between base backups, 1–168. @default 24 */
  baseBackupIntervalHours?: number;
  /** Days back a restore can reach, 1–365 (base backups and archived WAL kept accordingly). @default 7 */
  retentionDays?: number;
  /** Age of the oldest segment not yet archived beyond which archiving counts as stuck (alert), 60–86400 s. @default 900 */
  archiveMaxLagSeconds?: number;
}

/** Where the off-host copy goes: a restic repository. */
export interface OffHostArgs {
  /**
   * The restic repository: `s3:https://host/bucket/path` (any S3-compatible endpoint; needs `credentials`), or an
   * absolute path on the Docker host (an external drive mounted there; bind-mounted into the container).
   * @example "s3:https://s3.eu-central-1.amazonaws.com/example-offsite/stackport"
   * @example "/mnt/backup-drive/stackport"
   */
  repository: string;
  /** Hours between copies, 1–168. @default 24 */
  intervalHours?: number;
  /** Days of snapshots kept in the repository, 1–3650. @default 30 */
  retentionDays?: number;
  /** Also mirror every bucket of `storage` into the copy. Needs `storage` and `objectsStorage`. @default false */
  objects?: boolean;
  /** Image with restic. @default "restic/restic:0.18.1" */
  image?: string;
}

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
  wal: { baseBackupIntervalHours: 24, retentionDays: 7, archiveMaxLagSeconds: 900 },
  offHost: { intervalHours: 24, retentionDays: 30, objects: false, image: RESTIC_IMAGE },
} as const satisfies {
  image: string;
  clientImage: string;
  intervalHours: number;
  retention: BackupRetention;
  drillIntervalHours: number;
  destination: BackupDestination;
  memoryMb: number;
  wal: Required<Omit<WalBackupArgs, "archiveVolume">>;
  offHost: Required<Omit<OffHostArgs, "repository">>;
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
  // WAL archiving and base backups (`wal`): the base-backup runner reads the archiver's state from the server.
  walLastArchived: "stackport_wal_last_archived_timestamp_seconds",
  walLastArchiveFailure: "stackport_wal_last_archive_failure_timestamp_seconds",
  walPendingAge: "stackport_wal_oldest_pending_age_seconds",
  walMaxPendingAge: "stackport_wal_max_pending_age_seconds",
  baseLastSuccess: "stackport_base_backup_last_success_timestamp_seconds",
  baseLastFailure: "stackport_base_backup_last_failure_timestamp_seconds",
  baseStarted: "stackport_base_backup_start_timestamp_seconds",
  baseMaxAge: "stackport_base_backup_max_age_seconds",
  // The encrypted off-host copy (`offHost`).
  offHostLastSuccess: "stackport_offhost_backup_last_success_timestamp_seconds",
  offHostLastFailure: "stackport_offhost_backup_last_failure_timestamp_seconds",
  offHostStarted: "stackport_offhost_backup_start_timestamp_seconds",
  offHostMaxAge: "stackport_offhost_backup_max_age_seconds",
} as const;

/** Where the metrics endpoint listens on the backend network (never published). */
export const METRICS_PORT = 9188;
export const METRICS_HOST = "backups-metrics";

/** What Prometheus on the database's target scrapes of the backups: the metrics endpoint (`DockerBackups`). */
export function backupsScrapeTargets(): ScrapeTarget[] {
  return [{ job: "backups", tier: "backups", addresses: [`${METRICS_HOST}:${METRICS_PORT}`] }];
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** An S3 repository URL, or an absolute host path of plain characters (it becomes a bind mount). */
export const OFFHOST_REPOSITORY =
  /^(s3:https?:\/\/[^\s/]+\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?|\/[A-Za-z0-9._/-]+)$/;
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
    wal?: Omit<WalBackupArgs, "archiveVolume"> | undefined;
    offHost?: OffHostArgs | undefined;
    offHostCredentials?: unknown;
    objectsStorage?: unknown;
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
  const wal = args.wal;
  if (wal && !wholeIn(wal.baseBackupIntervalHours, 1, 168))
    issue("wal.baseBackupIntervalHours", "must be a whole number of hours from 1 to 168");
  if (wal && !wholeIn(wal.retentionDays, 1, 365))
    issue("wal.retentionDays", "must be a whole number of days from 1 to 365");
  if (wal && !wholeIn(wal.archiveMaxLagSeconds, 60, 86400))
    issue("wal.archiveMaxLagSeconds", "must be a whole number of seconds from 60 to 86400");
  const off = args.offHost;
  if (off) {
    if (!OFFHOST_REPOSITORY.test(off.repository))
      issue(
        "offHost.repository",
        `must be 's3:https://host/bucket[/path]' or an absolute path on the Docker host (got '${off.repository}')`,
      );
    if (!wholeIn(off.intervalHours, 1, 168))
      issue("offHost.intervalHours", "must be a whole number of hours from 1 to 168");
    if (!wholeIn(off.retentionDays, 1, 3650))
      issue("offHost.retentionDays", "must be a whole number of days from 1 to 3650");
    if (off.objects && !args.objectsStorage)
      issue("objectsStorage", "offHost.objects needs the storage connection the object mirror reads with");
    if (off.repository.startsWith("s3:") && !args.offHostCredentials)
      issue("offHostCredentials", "an s3: repository needs its own access key and secret");
  }
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

/**
 * The `fail` function of the backup tier's loops (runner, drill, base backups, off-host copy): runs `cleanup`,
 * records the failure time the alerts compare with the last success, rewrites the metrics, logs and returns 1.
 */
export function failFunction(opts: { cleanup?: string; untouched?: string } = {}): string[] {
  return [
    "fail() {",
    ...(opts.cleanup ? [`  ${opts.cleanup}`] : []),
    '  date +%s >"$LAST_FAILURE"',
    "  write_metrics || true",
    `  log "FAILED: $*${opts.untouched ? `; ${opts.untouched} untouched` : ""}"`,
    "  return 1",
    "}",
  ];
}

/** Records a success atomically (the alerts and the health check read it), or fails. */
export const RECORD_SUCCESS =
  '  { date +%s >"$LAST_SUCCESS.tmp" && mv "$LAST_SUCCESS.tmp" "$LAST_SUCCESS"; } || { fail "cannot record success"; return 1; }';
