/**
 * `stackport:backups` — scheduled `pg_dump` backups of the database tier (seeds 000 and 002), kept on a protected
 * volume or mirrored to a bucket of the storage tier. There is no `on`: the backup runner lives next to the database
 * (same Docker target) because it reaches it over that target's backend network. Restore: `docs/runbooks/restore.md`.
 */
import { z } from "zod";
import type { ConfigIssue } from "../errors";
import { configKey } from "../keys";
import type { DockerBackupsArgs } from "../../../components/backups/dockerBackups";
import { BACKUP_DEFAULTS } from "../../../components/backups/settings";
import { postgresMajor } from "../../../components/database/settings";
import { pinnedImage } from "../schema";

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
});
export type BackupsConfig = z.infer<typeof backupsSchema>;

/** The tier as `DockerBackups` args (everything but the placement and the connections). */
export type ResolvedBackups = Required<
  Pick<
    DockerBackupsArgs,
    "intervalHours" | "retention" | "drillIntervalHours" | "destination" | "image" | "memoryMb"
  >
> &
  Pick<DockerBackupsArgs, "clientImage">;

/** What the backup checks need from the rest of the stack (the parsed `stackport:` config fits). */
export interface BackupsContext {
  backups?: BackupsConfig;
  database?: { on: string; image: string };
  storage?: { on: string; buckets: Record<string, { versioning?: boolean }>; clientImage: string };
}

/**
 * Rules that span tiers: backups need the database tier; a bucket destination needs the storage tier on the same
 * target and a configured, versioned bucket; only one retention rule; pg_dump no older than the server.
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
  if (backups.destination.kind === "bucket") issues.push(...bucketIssues(backups.destination.bucket, cfg));
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
): ResolvedBackups {
  const bucket = cfg.destination.kind === "bucket";
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
  };
}
