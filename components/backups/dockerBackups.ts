import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerPlacement } from "../shared/placement";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
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
import {
  BACKUP_DEFAULTS,
  type BackupDestination,
  type BackupRetention,
  validateDockerBackupsArgs,
} from "./settings";

/**
 * The database a backup runner dumps. A superuser on purpose: pg_dump must read every object whatever its owner,
 * and the restore tool creates databases and the PostGIS extension (not a trusted extension); `db_admin` can do
 * neither. The password stays a Pulumi secret (it only reaches the container's environment).
 */
export interface BackupSource {
  /** Database name; part of dump file names. Changing it replaces the runner. */
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
  /** Where the containers run: the database's target (the runner reaches it over the backend network). */
  placement: DockerPlacement;
  /** The database to dump: name, address on the backend network, and a superuser's credentials. */
  database: BackupSource;
  /**
   * Image that runs pg_dump; its tag must start with a PostgreSQL major version no older than the server's (pg_dump
   * cannot dump a newer server). Use the database's image.
   * @default "postgis/postgis:17-3.5"
   */
  image?: string;
  /**
   * Hours between backups, 1–168. Docker has no cron, so the runner is a loop that waits this long after each
   * success. Changing it (or the retention) replaces the runner. @default 24
   */
  intervalHours?: number;
  /** Dumps kept: younger than `days`, or the newest `count`. @default { days: 14 } */
  retention?: BackupRetention;
  /**
   * Where dumps go: the protected volume, or the volume as a staging area mirrored to a bucket of `storage` after
   * every backup. @default { kind: "volume" }
   * @example { kind: "bucket", bucket: "backups" }
   */
  destination?: BackupDestination;
  /** Image with `mc` for the bucket sync. @default the MinIO client image the storage tier uses */
  clientImage?: string;
  /** Memory limit of the runner, in MB. @default 512 */
  memoryMb?: number;
  /** `protect` / `retainOnDelete` of the backup volume. @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** The storage connection; required for a bucket destination. @default none (volume destination only) */
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
 * @example
 * new DockerBackups("backups", {
 *   placement: target.placement,
 *   database: {
 *     name: "platform",
 *     host: DATABASE_HOST,
 *     port: DATABASE_PORT,
 *     user: "postgres",
 *     password: database.nodes.superuserPassword.result,
 *     dependsOn: [database.nodes.bootstrap],
 *   },
 *   intervalHours: 6,
 *   retention: { count: 28 },
 *   destination: { kind: "bucket", bucket: "backups" },
 *   storage: storage.connection,
 * });
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
    assertValidArgs(
      `stackport:docker:Backups '${name}'`,
      validateDockerBackupsArgs(args, args.storage && Object.keys(args.storage.buckets)),
    );
    const config = normalize(args);
    const bucket = config.destination.kind === "bucket" && {
      storage: args.storage!,
      physicalName: args.storage!.buckets[config.destination.bucket]!,
      clientImage: config.clientImage!,
    };
    const backupScript = renderBackupScript({
      database: args.database.name,
      retention: config.retention,
      intervalSeconds: config.intervalHours * 3600,
    });
    const restoreScript = renderRestoreScript({ database: args.database.name });
    super("stackport:docker:Backups", name, { config }, opts);
    const { placement, database, transform } = args;
    const safety = args.safety ?? { protect: true, retainOnDelete: true };
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

/** The args with every default applied (the component's recorded inputs); `clientImage` only for a bucket. */
function normalize(args: DockerBackupsArgs) {
  const d = BACKUP_DEFAULTS;
  const destination = args.destination ?? d.destination;
  return {
    intervalHours: args.intervalHours ?? d.intervalHours,
    retention: args.retention ?? d.retention,
    destination,
    image: args.image ?? d.image,
    ...(destination.kind === "bucket" && { clientImage: args.clientImage ?? d.clientImage }),
    memoryMb: args.memoryMb ?? d.memoryMb,
  };
}
