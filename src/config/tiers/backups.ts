/**
 * `stackport:backups` — scheduled `pg_dump` backups of the database tier (seeds 000 and 002), kept on a protected
 * volume or mirrored to a bucket of the storage tier. There is no `on`: the backup runner lives next to the database
 * (same Docker target) because it reaches it over that target's backend network. Restore: `docs/runbooks/restore.md`.
 */
import { z } from "zod";
import type { ConfigIssue } from "../errors";
import { configKey } from "../keys";
import type { DockerBackupsArgs } from "../../../components/backups/dockerBackups";
import { BACKUP_DEFAULTS, OFFHOST_REPOSITORY } from "../../../components/backups/settings";
import { WAL_ARCHIVE_DEFAULTS } from "../../../components/database/walServer";
import { postgresMajor } from "../../../components/database/settings";
import { keyName, pinnedImage } from "../schema";

/** The bucket a `kind: bucket` destination uses when none is named. */
export const DEFAULT_BACKUP_BUCKET = "backups";

const destinationSchema = z.discriminatedUnion("kind", [
  /** A named volume on the database's host, protected like the database's own volume. */
  z.strictObject({ kind: z.literal("volume") }),
  /**
   * The volume as a staging area, copied to a bucket of `stackport:storage` after every backup. The sync never
   * deletes from the bucket: the bucket must be versioned, and its lifecycle (`expireAfterDays`,
   * `noncurrentExpireAfterDays`) is the retention there.
   */
  z.strictObject({
    kind: z.literal("bucket"),
    /** The bucket of `stackport:storage` the dumps are mirrored to. */
    bucket: z
      .string()
      .regex(
        /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
        "must be a bucket name (3-63 lower-case letters, digits or '-')",
      )
      .default(DEFAULT_BACKUP_BUCKET),
  }),
]);

/**
 * Continuous WAL archiving and point-in-time recovery (seed 002): the database archives every WAL segment to a
 * protected volume, a runner takes base backups, and `/stackport/pitr-restore.sh` restores to any moment of the
 * last `retentionDays`. See docs/runbooks/point-in-time-recovery.md.
 */
const walSchema = z.strictObject({
  /** Hours between base backups (a restore replays the WAL since the base backup before the target time). */
  baseBackupIntervalHours: z
    .number()
    .int()
    .min(1)
    .max(168)
    .default(BACKUP_DEFAULTS.wal.baseBackupIntervalHours),
  /** Days back a restore can reach; base backups and archived WAL older than that go. */
  retentionDays: z.number().int().min(1).max(365).default(BACKUP_DEFAULTS.wal.retentionDays),
  /**
   * Seconds after which a partly filled WAL segment is archived anyway: the most committed work not yet in the
   * archive. Changing it replaces the database container (its volumes stay).
   */
  archiveTimeoutSeconds: z
    .number()
    .int()
    .min(30)
    .max(3600)
    .default(WAL_ARCHIVE_DEFAULTS.archiveTimeoutSeconds),
});

/**
 * An encrypted copy off the host (seeds 000 and 002), made with restic: the backup volume (dumps, base backups),
 * the WAL archive with `wal`, and with `objects` a mirror of every bucket of `stackport:storage`.
 */
const offHostSchema = z.strictObject({
  /**
   * The restic repository: `s3:https://host/bucket[/path]` (an S3-compatible endpoint, with `credentials`), or an
   * absolute path on the Docker host, e.g. an external drive's mount point.
   */
  repository: z
    .string()
    .regex(
      OFFHOST_REPOSITORY,
      "must be 's3:https://host/bucket[/path]' or an absolute path on the Docker host",
    ),
  /** Names of two `stackport:secrets` with the repository's own access key and secret (`s3:` repositories). */
  credentials: z
    .strictObject({
      /** Name of the `stackport:secrets` entry with the access key id. */
      accessKeyId: keyName,
      /** Name of the `stackport:secrets` entry with the secret access key. */
      secretAccessKey: keyName,
    })
    .optional(),
  /**
   * Name of a `stackport:secrets` entry holding the repository password. Without it a password is generated and
   * exported (secret) as the stack output `offHostPassword`: keep a copy outside the host either way.
   */
  password: keyName.optional(),
  /** Hours between copies. */
  intervalHours: z.number().int().min(1).max(168).default(BACKUP_DEFAULTS.offHost.intervalHours),
  /** Days of snapshots kept in the repository. */
  retentionDays: z.number().int().min(1).max(3650).default(BACKUP_DEFAULTS.offHost.retentionDays),
  /** Also copy every bucket of `stackport:storage` (mirrored to a volume first, with a read-only credential). */
  objects: z.boolean().default(BACKUP_DEFAULTS.offHost.objects),
  /** Image with restic. */
  image: pinnedImage.default(BACKUP_DEFAULTS.offHost.image),
});

export const backupsSchema = z.strictObject({
  /**
   * Hours between backups. Docker has no cron (and the PostgreSQL image ships none), so the runner is a loop that
   * sleeps this long after each success; `restart: unless-stopped` keeps it running across crashes and reboots.
   */
  intervalHours: z.number().int().min(1).max(168).default(BACKUP_DEFAULTS.intervalHours),
  /** Delete dumps this many days old. Exclusive with `retentionCount`. @default 14 */
  retentionDays: z.number().int().min(1).max(3650).optional(),
  /** Keep only the newest N dumps. Exclusive with `retentionDays`. */
  retentionCount: z.number().int().min(1).max(1000).optional(),
  /**
   * Hours between restore drills: the newest dump is restored into a scratch database on the database server,
   * checked table by table against the dump, and dropped; Prometheus alerts when a drill fails or is overdue.
   */
  drillIntervalHours: z.number().int().min(1).max(720).default(BACKUP_DEFAULTS.drillIntervalHours),
  /** Where dumps go. @default { kind: "volume" } */
  destination: destinationSchema.default({ kind: "volume" }),
  /**
   * Image that runs pg_dump; its PostgreSQL major must be no older than the server's.
   * @default the database tier's image (its pg_dump matches the server's version)
   */
  image: pinnedImage.optional(),
  /** Image with `mc` for the bucket sync. @default the storage tier's `clientImage` */
  clientImage: pinnedImage.optional(),
  /** Memory limit of the backup runner, in MB. */
  memoryMb: z.number().int().min(128).default(BACKUP_DEFAULTS.memoryMb),
  /** Point-in-time recovery. @default off */
  wal: walSchema.optional(),
  /** The encrypted off-host copy. @default off */
  offHost: offHostSchema.optional(),
});
export type BackupsConfig = z.infer<typeof backupsSchema>;

/** The tier as `DockerBackups` args (everything but the placement and the connections). */
export type ResolvedBackups = Required<
  Pick<
    DockerBackupsArgs,
    "intervalHours" | "retention" | "drillIntervalHours" | "destination" | "image" | "memoryMb"
  >
> &
  Pick<DockerBackupsArgs, "clientImage"> & {
    wal?: z.infer<typeof walSchema>;
    offHost?: Omit<z.infer<typeof offHostSchema>, "credentials" | "password">;
    /** The named stack secrets' values (wrapped as Pulumi secrets by the program). */
    offHostSecrets?: { password?: string; accessKeyId?: string; secretAccessKey?: string };
  };

/** What the backup checks need from the rest of the stack (the parsed `stackport:` config fits). */
export interface BackupsContext {
  backups?: BackupsConfig;
  secrets?: Record<string, string> | undefined;
  database?: { on: string; image: string; databases?: Record<string, unknown> | undefined };
  storage?: { on: string; buckets: Record<string, { versioning?: boolean }>; clientImage: string };
}

/**
 * Rules that span tiers: backups need the database tier; a bucket destination needs the storage tier on the same
 * target and a configured, versioned bucket; only one retention rule; pg_dump no older than the server; extra
 * databases need the WAL archive (pg_dump covers the application database only).
 */
export function checkBackups(cfg: BackupsContext): ConfigIssue[] {
  const backups = cfg.backups;
  if (!backups) return [];
  const issues: ConfigIssue[] = [];
  if (!cfg.database) {
    issues.push({
      key: configKey(["backups"]),
      message:
        "backs up the database tier, but this stack places none; add stackport:database or remove stackport:backups",
    });
  }
  if (backups.retentionDays !== undefined && backups.retentionCount !== undefined) {
    issues.push({
      key: configKey(["backups", "retentionCount"]),
      message: "set either retentionDays or retentionCount, not both",
    });
  }
  const extra = Object.keys(cfg.database?.databases ?? {});
  if (extra.length > 0 && !backups.wal) {
    // pg_dump and the restore drill cover the application database; a base backup copies the whole server.
    issues.push({
      key: configKey(["backups", "wal"]),
      message: `stackport:database.databases has ${extra.join(", ")}, which the pg_dump backups (the application database only) do not cover; set backups.wal (base backups and the WAL archive cover every database of the server)`,
    });
  }
  if (backups.destination.kind === "bucket") issues.push(...bucketIssues(backups.destination.bucket, cfg));
  issues.push(...offHostIssues(cfg));
  const dumpMajor = backups.image === undefined ? undefined : postgresMajor(backups.image);
  const serverMajor = cfg.database && postgresMajor(cfg.database.image);
  if (backups.image && (dumpMajor === undefined || (serverMajor !== undefined && dumpMajor < serverMajor))) {
    issues.push({
      key: configKey(["backups", "image"]),
      message: `must carry a PostgreSQL major version tag no older than the server's (${serverMajor ?? "unknown"}): pg_dump cannot dump a newer server; leave it unset to use stackport:database.image`,
    });
  }
  return issues;
}

/** The off-host copy's named secrets exist, an s3: repository has credentials, and objects need the storage tier. */
function offHostIssues(cfg: BackupsContext): ConfigIssue[] {
  const off = cfg.backups?.offHost;
  if (!off) return [];
  const issues: ConfigIssue[] = [];
  const known = Object.keys(cfg.secrets ?? {});
  const named: [string[], string | undefined][] = [
    [["offHost", "password"], off.password],
    [["offHost", "credentials", "accessKeyId"], off.credentials?.accessKeyId],
    [["offHost", "credentials", "secretAccessKey"], off.credentials?.secretAccessKey],
  ];
  for (const [path, name] of named) {
    if (name !== undefined && !known.includes(name))
      issues.push({
        key: configKey(["backups", ...path]),
        message: `unknown secret '${name}'; set it with pulumi config set --secret --path 'stackport:secrets.${name}' <value> (known: ${known.sort().join(", ") || "(none)"})`,
      });
  }
  if (off.repository.startsWith("s3:") && !off.credentials)
    issues.push({
      key: configKey(["backups", "offHost", "credentials"]),
      message:
        "an s3: repository needs its own credentials: { accessKeyId: <secret name>, secretAccessKey: <secret name> } naming stackport:secrets",
    });
  if (off.objects && !cfg.storage)
    issues.push({
      key: configKey(["backups", "offHost", "objects"]),
      message:
        "copies the buckets of stackport:storage, but this stack places none; add it or set objects: false",
    });
  else if (off.objects && cfg.database && cfg.storage!.on !== cfg.database.on)
    issues.push({
      key: configKey(["backups", "offHost", "objects"]),
      message: `the object mirror runs next to the database on target '${cfg.database.on}' and reaches storage over that target's backend network, but stackport:storage is on '${cfg.storage!.on}'; place both tiers on one target or set objects: false`,
    });
  return issues;
}

function bucketIssues(bucket: string, cfg: BackupsContext): ConfigIssue[] {
  if (!cfg.storage) {
    return [
      {
        key: configKey(["backups", "destination", "kind"]),
        message: "'bucket' needs the storage tier (stackport:storage); add it, or use kind 'volume'",
      },
    ];
  }
  const issues: ConfigIssue[] = [];
  const buckets = Object.keys(cfg.storage.buckets);
  if (!buckets.includes(bucket)) {
    issues.push({
      key: configKey(["backups", "destination", "bucket"]),
      message: `unknown bucket '${bucket}'; buckets of stackport:storage: ${buckets.join(", ") || "(none)"} (add it under stackport:storage.buckets)`,
    });
  } else if (cfg.storage.buckets[bucket]!.versioning === false) {
    // A versioned bucket keeps every overwritten or deleted dump as a noncurrent version until its lifecycle
    // expires it: the one protection that holds even against a credential that can write.
    issues.push({
      key: configKey(["backups", "destination", "bucket"]),
      message: `the backup bucket '${bucket}' has versioning off (${configKey(["storage", "buckets", bucket, "versioning"])}: false); backups need a versioned bucket: set it to true, and let expireAfterDays / noncurrentExpireAfterDays apply retention there`,
    });
  }
  if (cfg.database && cfg.storage.on !== cfg.database.on) {
    issues.push({
      key: configKey(["backups", "destination"]),
      message: `the bucket sync runs next to the database on target '${cfg.database.on}' and reaches storage over that target's backend network, but stackport:storage is on '${cfg.storage.on}'; use kind 'volume' or place both tiers on one target`,
    });
  }
  return issues;
}

/**
 * Fills the defaults that come from other tiers. Call after `checkBackups` found no issue.
 * @param database the resolved database tier (its image provides pg_dump)
 * @param storage the resolved storage tier, if placed (its `mc` image runs the bucket sync)
 */
export function resolveBackups(
  cfg: BackupsConfig,
  database: { image: string },
  storage?: { clientImage: string },
  secrets: Record<string, string> = {},
): ResolvedBackups {
  const bucket = cfg.destination.kind === "bucket" || cfg.offHost?.objects === true;
  const clientImage = cfg.clientImage ?? storage?.clientImage;
  if (bucket && !clientImage)
    throw new Error("internal: bucket destination without a storage tier (run checkBackups)");
  return {
    intervalHours: cfg.intervalHours,
    drillIntervalHours: cfg.drillIntervalHours,
    retention:
      cfg.retentionCount !== undefined
        ? { count: cfg.retentionCount }
        : { days: cfg.retentionDays ?? BACKUP_DEFAULTS.retention.days },
    destination: cfg.destination,
    image: cfg.image ?? database.image,
    ...(bucket && { clientImage }),
    memoryMb: cfg.memoryMb,
    ...(cfg.wal && { wal: cfg.wal }),
    ...(cfg.offHost && {
      offHost: offHostArgs(cfg.offHost),
      offHostSecrets: offHostSecrets(cfg.offHost, secrets),
    }),
  };
}

function offHostArgs(off: NonNullable<BackupsConfig["offHost"]>): NonNullable<ResolvedBackups["offHost"]> {
  // The secrets' names stay in the config; their values travel separately (offHostSecrets).
  return {
    repository: off.repository,
    intervalHours: off.intervalHours,
    retentionDays: off.retentionDays,
    objects: off.objects,
    image: off.image,
  };
}

function offHostSecrets(
  off: NonNullable<BackupsConfig["offHost"]>,
  secrets: Record<string, string>,
): NonNullable<ResolvedBackups["offHostSecrets"]> {
  const value = (name: string | undefined) => (name === undefined ? undefined : secrets[name]);
  const [password, accessKeyId, secretAccessKey] = [
    value(off.password),
    value(off.credentials?.accessKeyId),
    value(off.credentials?.secretAccessKey),
  ];
  return {
    ...(password !== undefined && { password }),
    ...(accessKeyId !== undefined && { accessKeyId }),
    ...(secretAccessKey !== undefined && { secretAccessKey }),
  };
}
