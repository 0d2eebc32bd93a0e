import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerPlacement } from "../shared/placement";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import {
  attachNetworks,
  containerName,
  passLoopContainer,
  pullImage,
  statefulVolume,
} from "../shared/docker";
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
  DRILL_SCRIPT_PATH,
  METRICS_SERVER_PATH,
  renderDrillScript,
  metricsProbe,
  renderMetricsServer,
} from "./drill";
import {
  BACKUP_DEFAULTS,
  METRICS_HOST,
  METRICS_PORT,
  type BackupDestination,
  type BackupRetention,
  validateDockerBackupsArgs,
} from "./settings";

/** A role's login. The password stays a Pulumi secret: it only reaches a container's environment. */
export interface BackupLogin {
  user: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

/** The database the backups dump, and the two logins they use. */
export interface BackupSource {
  /** Database name; part of dump file names. Changing it replaces the runner. */
  name: string;
  /** Host name on the target's backend network, e.g. `database`. */
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  /**
   * What pg_dump connects as: a read-only role that reads everything (`pg_read_all_data`, bypassing row security),
   * e.g. `DockerDatabase.backup` (`backupUser: true`). Never a superuser: the runner runs unattended all day.
   */
  backup: BackupLogin;
  /**
   * A superuser, for the restore drill and the restore tool only (they create databases and PostGIS, which is not
   * a trusted extension), e.g. `postgres`.
   */
  restore: BackupLogin;
  /** Resources the runner waits for, e.g. the database bootstrap job. @default none */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface DockerBackupsArgs {
  /** Where the containers run: the database's target (the runner reaches it over the backend network). */
  placement: DockerPlacement;
  /** The database to dump: name, address on the backend network, the backup role's and a superuser's logins. */
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
   * Hours between restore drills, 1–720: the newest dump is restored into a scratch database on the same server,
   * checked table by table against the dump and dropped (it needs room for one more copy of the database while it
   * runs). Changing it replaces the drill container. @default 24
   */
  drillIntervalHours?: number;
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
  /**
   * The storage connection; required for a bucket destination. Its credential needs to list the backup bucket and
   * put objects in it, nothing more: the sync never deletes or replaces an object.
   * @default none (volume destination only)
   */
  storage?: StorageConnection;
  /** Resources the bucket sync waits for, e.g. the bucket bootstrap job. @default none */
  storageDependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Per-child escape hatches. @default none */
  transform?: {
    volume?: Transform<docker.VolumeArgs>;
    runner?: Transform<docker.ContainerArgs>;
    drill?: Transform<docker.ContainerArgs>;
    metrics?: Transform<docker.ContainerArgs>;
    sync?: Transform<docker.ContainerArgs>;
  };
}

/** Memory for the `mc` sync container, in MB: it streams files, it holds none. */
const SYNC_MEMORY_MB = 128;
/** Memory for the metrics endpoint, in MB: one perl process serving two small files. */
const METRICS_MEMORY_MB = 64;

/**
 * Scheduled, watched and proven database backups on Docker, all in the database image (pg_dump matches the server):
 * - a runner that dumps as the read-only backup role, verifies, checksums and prunes in a loop, onto a protected
 *   named volume — also the staging area when the destination is a bucket, in which case a sync container copies
 *   new dumps to the bucket after each backup (never deleting: the bucket's versioning and lifecycle keep and
 *   expire them);
 * - a restore drill that restores the newest dump into a scratch database on a schedule, checks it and drops it;
 *   it holds the restore tool (`/stackport/restore.sh`) and the superuser login both need;
 * - a metrics endpoint (`backups-metrics:9188/metrics`, backend network only) for Prometheus: backup and drill
 *   success, failure and allowed age (see `backupsScrapeTargets` and the backup alerts).
 * See `docs/runbooks/restore.md`.
 * @example
 * new DockerBackups("backups", {
 *   placement: target.placement,
 *   database: {
 *     name: "platform",
 *     host: DATABASE_HOST,
 *     port: DATABASE_PORT,
 *     backup: database.backup!, // new DockerDatabase(…, { backupUser: true })
 *     restore: { user: "postgres", password: database.nodes.superuserPassword.result },
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
    drill: docker.Container;
    metrics: docker.Container;
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
    const drillScript = renderDrillScript({
      database: args.database.name,
      intervalSeconds: config.drillIntervalHours * 3600,
    });
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
        uploads: [{ file: BACKUP_SCRIPT_PATH, content: backupScript, executable: true }],
        envs: libpqEnvs(database, database.backup),
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

    // The restore tool lives here, with the only superuser login of the tier; see docs/runbooks/restore.md.
    const [drillArgs, drillOpts] = transformed<docker.ContainerArgs>(
      transform?.drill,
      {
        name: containerName("backups", "drill"),
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [DRILL_SCRIPT_PATH],
        uploads: [
          { file: DRILL_SCRIPT_PATH, content: drillScript, executable: true },
          { file: RESTORE_SCRIPT_PATH, content: restoreScript, executable: true },
        ],
        envs: libpqEnvs(database, database.restore),
        // Read-write: it records its result (drill-* and its .prom file) next to the dumps.
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIR }],
        networksAdvanced: [{ name: placement.backendNetwork }],
        restart: "unless-stopped",
        stopTimeout: 60,
        destroyGraceSeconds: 60,
        memory: config.memoryMb,
        labels: dockerLabels("backups", { "stackport.role": "drill" }),
      },
      { parent: this, provider, dependsOn: database.dependsOn ?? [] },
    );
    const drill = new docker.Container(`${name}-drill`, drillArgs, drillOpts);

    const [metricsArgs, metricsOpts] = transformed<docker.ContainerArgs>(
      transform?.metrics,
      {
        name: containerName("backups", "metrics"),
        image: image.imageId,
        entrypoints: ["perl"],
        command: [METRICS_SERVER_PATH],
        uploads: [{ file: METRICS_SERVER_PATH, content: renderMetricsServer(), executable: true }],
        envs: [`BACKUP_DIR=${BACKUP_DIR}`, `METRICS_PORT=${METRICS_PORT}`],
        // No database login, read-only volume: it can only show what the scripts wrote.
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIR, readOnly: true }],
        networksAdvanced: attachNetworks(placement, METRICS_HOST),
        restart: "unless-stopped",
        healthcheck: {
          tests: ["CMD", ...metricsProbe(METRICS_PORT)],
          interval: "1m",
          timeout: "5s",
          retries: 3,
          startPeriod: "10s",
        },
        memory: METRICS_MEMORY_MB,
        labels: dockerLabels("backups", { "stackport.role": "metrics" }),
      },
      { parent: this, provider },
    );
    const metrics = new docker.Container(`${name}-metrics`, metricsArgs, metricsOpts);

    this.nodes = { image, volume, runner, drill, metrics };
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
        // Read-only: the sync never changes the dumps; local retention happens in the runner, the bucket's in its
        // lifecycle.
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIR, readOnly: true }],
        memoryMb: SYNC_MEMORY_MB,
        dependsOn: args.storageDependsOn ?? [],
        ...(transform?.sync && { transform: transform.sync }),
      });
    }

    this.volumeName = volume.name;
    this.registerOutputs({
      volumeName: volume.name,
      destination: config.destination.kind,
      metricsAddress: `${METRICS_HOST}:${METRICS_PORT}`,
    });
  }
}

/** The libpq environment of a container that logs in as `login`. */
function libpqEnvs(database: BackupSource, login: BackupLogin): pulumi.Input<string>[] {
  return [
    pulumi.interpolate`PGHOST=${database.host}`,
    pulumi.interpolate`PGPORT=${database.port}`,
    pulumi.interpolate`PGUSER=${login.user}`,
    pulumi.secret(pulumi.interpolate`PGPASSWORD=${login.password}`),
    // Default database for psql inside the container.
    `PGDATABASE=${database.name}`,
    `BACKUP_DIR=${BACKUP_DIR}`,
  ];
}

/** The args with every default applied (the component's recorded inputs); `clientImage` only for a bucket. */
function normalize(args: DockerBackupsArgs) {
  const d = BACKUP_DEFAULTS;
  const destination = args.destination ?? d.destination;
  return {
    intervalHours: args.intervalHours ?? d.intervalHours,
    retention: args.retention ?? d.retention,
    drillIntervalHours: args.drillIntervalHours ?? d.drillIntervalHours,
    destination,
    image: args.image ?? d.image,
    ...(destination.kind === "bucket" && { clientImage: args.clientImage ?? d.clientImage }),
    memoryMb: args.memoryMb ?? d.memoryMb,
  };
}
