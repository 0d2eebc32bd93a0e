import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type Safety } from "../../src/config";
import type { ResolvedBackups } from "../../src/config/tiers/backups";
import type { DockerPlacement } from "../shared/placement";
import { type Transform, transformed } from "../shared/component";
import { containerName, passLoopContainer, pullImage, statefulVolume } from "../shared/docker";
import { dockerLabels } from "../shared/labels";
import { type StorageConnection, mcHost } from "../storage/contract";
import {
  BACKUP_DIR,
  BACKUP_SCRIPT_PATH,
  RESTORE_SCRIPT_PATH,
  SYNC_MC_ALIAS,
  SYNC_SCRIPT_PATH,
  renderBackupScript,
  renderBucketSyncScript,
  renderRestoreScript,
} from "./scripts";

/**
 * The database a backup runner dumps. A superuser on purpose: pg_dump must read every object whatever its owner,
 * and the restore tool creates databases and the PostGIS extension (not a trusted extension); `db_admin` can do
 * neither. The password stays a Pulumi secret (it only reaches the container's environment).
 */
export interface BackupSource {
  /** Database name (`stackport:database.name`); part of dump file names. Changing it replaces the runner. */
  name: string;
  /** Host name on the target's backend network, e.g. `database`. */
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  /** A superuser, e.g. `postgres`. */
  user: string;
  password: pulumi.Input<string>;
  /** Resources the runner waits for, e.g. the database bootstrap job. @default none */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface DockerBackupsArgs {
  /** The resolved `stackport:backups` settings. A change of interval or retention replaces the runner (new script). */
  config: ResolvedBackups;
  /** Where the containers run: the database's target. */
  placement: DockerPlacement;
  /** Protect/retain settings for the backup volume. */
  safety: Safety;
  database: BackupSource;
  /** The storage tier, required when `config.destination.kind` is `bucket`. */
  storage?: StorageConnection;
  /** Resources the bucket sync waits for, e.g. the bucket bootstrap job. @default none */
  storageDependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Per-child escape hatches. @default none */
  transform?: {
    volume?: Transform<docker.VolumeArgs>;
    runner?: Transform<docker.ContainerArgs>;
    sync?: Transform<docker.ContainerArgs>;
  };
}

/** Memory for the `mc` sync container, in MB: it streams files, it holds none. */
const SYNC_MEMORY_MB = 128;

/**
 * Scheduled database backups on Docker: a runner container (the database image, so pg_dump matches the server) that
 * dumps, verifies, checksums and prunes in a loop, onto a protected named volume — also the staging area when the
 * destination is a bucket, in which case a second container mirrors the volume to the bucket after each backup.
 * The restore tool ships in the runner (`/stackport/restore.sh`); see `docs/runbooks/restore.md`.
 */
export class DockerBackups extends pulumi.ComponentResource {
  /** Physical name of the backup volume (what `docker volume inspect` shows). */
  readonly volumeName: pulumi.Output<string>;
  readonly nodes: {
    image: docker.RemoteImage;
    volume: docker.Volume;
    runner: docker.Container;
    /** Only for the bucket destination. */
    clientImage?: docker.RemoteImage;
    sync?: docker.Container;
  };

  constructor(name: string, args: DockerBackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate and render before super(): bad input must fail before anything is registered.
    const bucket = bucketTarget(args);
    const intervalSeconds = args.config.intervalHours * 3600;
    const backupScript = renderBackupScript({
      database: args.database.name,
      retention: args.config.retention,
      intervalSeconds,
    });
    const restoreScript = renderRestoreScript({ database: args.database.name });
    super("stackport:docker:Backups", name, { config: args.config }, opts);
    const { config, placement, safety, database, transform } = args;
    const provider = placement.provider;

    const image = pullImage(`${name}-image`, config.image, this, placement);

    // Protected even with a bucket destination: it holds the newest dumps before (and if) the sync copies them.
    const volume = statefulVolume(`${name}-data`, this, {
      placement,
      safety,
      tier: "backups",
      parts: ["backups", "data"],
      transform: transform?.volume,
    });

    const [runnerArgs, runnerOpts] = transformed<docker.ContainerArgs>(
      transform?.runner,
      {
        name: containerName("backups"),
        image: image.imageId,
        // The image's entrypoint would start a PostgreSQL server.
        entrypoints: ["/bin/sh"],
        command: [BACKUP_SCRIPT_PATH],
        uploads: [
          { file: BACKUP_SCRIPT_PATH, content: backupScript, executable: true },
          { file: RESTORE_SCRIPT_PATH, content: restoreScript, executable: true },
        ],
        envs: [
          pulumi.interpolate`PGHOST=${database.host}`,
          pulumi.interpolate`PGPORT=${database.port}`,
          `PGUSER=${database.user}`,
          pulumi.interpolate`PGPASSWORD=${pulumi.secret(database.password)}`,
          // Default database for psql and the restore tool inside the container.
          `PGDATABASE=${database.name}`,
          `BACKUP_DIR=${BACKUP_DIR}`,
        ],
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIR }],
        networksAdvanced: [{ name: placement.backendNetwork }],
        // The loop is the schedule: Docker restarts it after a crash or a reboot.
        restart: "unless-stopped",
        healthcheck: {
          tests: ["CMD", "/bin/sh", BACKUP_SCRIPT_PATH, "--check"],
          interval: "5m",
          timeout: "10s",
          retries: 1,
          startPeriod: "1m",
        },
        // Lets a dump in progress finish instead of leaving a partial file behind.
        stopTimeout: 60,
        destroyGraceSeconds: 60,
        memory: config.memoryMb,
        labels: dockerLabels("backups", { "stackport.role": "runner" }),
      },
      { parent: this, provider, dependsOn: database.dependsOn ?? [] },
    );
    const runner = new docker.Container(`${name}-runner`, runnerArgs, runnerOpts);

    this.nodes = { image, volume, runner };
    if (bucket) {
      const clientImage = pullImage(`${name}-client-image`, bucket.clientImage, this, placement);
      this.nodes.clientImage = clientImage;
      this.nodes.sync = passLoopContainer(`${name}-sync`, this, {
        tier: "backups",
        role: "sync",
        placement,
        image: clientImage.imageId,
        scriptPath: SYNC_SCRIPT_PATH,
        script: renderBucketSyncScript(),
        envs: [
          pulumi.interpolate`MC_HOST_${SYNC_MC_ALIAS}=${mcHost(bucket.storage, `${name}: the backup bucket`)}`,
          pulumi.interpolate`BACKUP_BUCKET=${bucket.physicalName}`,
          `BACKUP_DIR=${BACKUP_DIR}`,
        ],
        // Read-only: the sync never changes the dumps; retention happens in the runner.
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIR, readOnly: true }],
        memoryMb: SYNC_MEMORY_MB,
        dependsOn: args.storageDependsOn ?? [],
        ...(transform?.sync && { transform: transform.sync }),
      });
    }

    this.volumeName = volume.name;
    this.registerOutputs({ volumeName: volume.name, destination: config.destination.kind });
  }
}

/** The storage connection and bucket for a bucket destination, or undefined for a volume destination. */
function bucketTarget(args: DockerBackupsArgs) {
  const destination = args.config.destination;
  if (destination.kind !== "bucket") return undefined;
  const issue = (message: string) =>
    new ConfigError([{ key: "stackport:backups.destination.bucket", message }]);
  if (!args.storage)
    throw issue("a bucket destination needs the storage tier's connection (stackport:storage)");
  const physicalName = args.storage.buckets[destination.bucket];
  if (!physicalName) {
    throw issue(
      `unknown bucket '${destination.bucket}'; buckets of stackport:storage: ${Object.keys(args.storage.buckets).join(", ")}`,
    );
  }
  if (!args.config.clientImage)
    throw new Error("internal: bucket destination without clientImage (resolveBackups sets it)");
  return { storage: args.storage, physicalName, clientImage: args.config.clientImage };
}
