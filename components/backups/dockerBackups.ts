import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DockerPlacement } from "../shared/placement";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import {
  attachNetworks,
  cacheVolume,
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
  type OffHostArgs,
  type WalBackupArgs,
  validateDockerBackupsArgs,
} from "./settings";
import { WAL_ARCHIVE_DIR } from "../database/settings";
import {
  BASE_BACKUP_SCRIPT_PATH,
  PITR_RESTORE_SCRIPT_PATH,
  renderBaseBackupScript,
  renderPitrRestoreScript,
  staleHealthcheck,
} from "./walScripts";
import {
  OBJECTS_DIR,
  OBJECTS_MIRROR_SCRIPT_PATH,
  OBJECTS_MC_ALIAS,
  OFFHOST_SCRIPT_PATH,
  renderObjectsMirrorScript,
  renderOffHostScript,
} from "./offHost";

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
  /**
   * Point-in-time recovery: base backups (`pg_basebackup`, into `/backups/base`) on a schedule, retention of them
   * and of the WAL archive, and the restore tool `/stackport/pitr-restore.sh`, in a runner that connects as
   * `database.restore` (replication needs a superuser here). The database must archive (`DockerDatabase`'s
   * `walArchive`). See docs/runbooks/point-in-time-recovery.md. @default off
   * @example { archiveVolume: database.walArchiveVolume!, retentionDays: 14 }
   */
  wal?: WalBackupArgs;
  /**
   * An encrypted copy off the host (restic): the backup volume, the WAL archive (with `wal`) and, with
   * `offHost.objects`, a mirror of every bucket of `objectsStorage`. @default off
   * @example { repository: "/mnt/backup-drive/stackport", objects: true }
   */
  offHost?: OffHostArgs;
  /**
   * The restic repository password. Whoever restores needs it, from outside the host: keep a copy (password
   * manager). @default generated, exposed as `offHostPassword`
   */
  offHostPassword?: pulumi.Input<string>;
  /** Credentials of an `s3:` repository (its own, never the object store's). @default none */
  offHostCredentials?: { accessKeyId: pulumi.Input<string>; secretAccessKey: pulumi.Input<string> };
  /**
   * What the object mirror reads with: read (list, get) on every bucket, nothing else. Needed for `offHost.objects`.
   * @default none
   */
  objectsStorage?: StorageConnection;
  /** Per-child escape hatches. @default none */
  transform?: {
    volume?: Transform<docker.VolumeArgs>;
    runner?: Transform<docker.ContainerArgs>;
    drill?: Transform<docker.ContainerArgs>;
    metrics?: Transform<docker.ContainerArgs>;
    sync?: Transform<docker.ContainerArgs>;
    wal?: Transform<docker.ContainerArgs>;
    offHost?: Transform<docker.ContainerArgs>;
    objects?: Transform<docker.ContainerArgs>;
    objectsVolume?: Transform<docker.VolumeArgs>;
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
    /** Only for the bucket destination or the object mirror. */
    clientImage?: docker.RemoteImage;
    sync?: docker.Container;
    /** Only with `wal`. */
    wal?: docker.Container;
    /** Only with `offHost`; the password only when generated, the objects only with `offHost.objects`. */
    offHost?: {
      image: docker.RemoteImage;
      container: docker.Container;
      password?: random.RandomPassword;
      objectsVolume?: docker.Volume;
      objects?: docker.Container;
    };
  };
  /** The off-host repository's password (secret); only with `offHost`. */
  readonly offHostPassword?: pulumi.Output<string>;

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
    const needsClient = bucket || config.offHost?.objects;
    const clientImage =
      needsClient && pullImage(`${name}-client-image`, config.clientImage!, this, placement);
    if (clientImage) this.nodes.clientImage = clientImage;
    if (config.wal) this.nodes.wal = this.walRunner(name, args, config.wal, image, volume);
    if (config.offHost) {
      this.nodes.offHost = this.offHostCopy(name, args, config, volume, clientImage || undefined);
      this.offHostPassword = pulumi.secret(args.offHostPassword ?? this.nodes.offHost.password!.result);
    }
    if (bucket && clientImage) {
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
      pointInTimeRecovery: config.wal !== undefined,
      offHost: config.offHost !== undefined,
    });
  }

  /** The base-backup runner: superuser login (replication), the backup volume and the archive read-write. */
  private walRunner(
    name: string,
    args: DockerBackupsArgs,
    wal: Required<Omit<WalBackupArgs, "archiveVolume">>,
    image: docker.RemoteImage,
    volume: docker.Volume,
  ): docker.Container {
    const [runnerArgs, runnerOpts] = transformed<docker.ContainerArgs>(
      args.transform?.wal,
      {
        name: containerName("backups", "wal"),
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [BASE_BACKUP_SCRIPT_PATH],
        uploads: [
          {
            file: BASE_BACKUP_SCRIPT_PATH,
            content: renderBaseBackupScript({
              intervalSeconds: wal.baseBackupIntervalHours * 3600,
              retentionDays: wal.retentionDays,
              archiveMaxLagSeconds: wal.archiveMaxLagSeconds,
            }),
            executable: true,
          },
          { file: PITR_RESTORE_SCRIPT_PATH, content: renderPitrRestoreScript(), executable: true },
        ],
        envs: [...libpqEnvs(args.database, args.database.restore), `WAL_ARCHIVE_DIR=${WAL_ARCHIVE_DIR}`],
        // Read-write: it prunes base backups and, after them, the archive.
        volumes: [
          { volumeName: volume.name, containerPath: BACKUP_DIR },
          { volumeName: args.wal!.archiveVolume, containerPath: WAL_ARCHIVE_DIR },
        ],
        networksAdvanced: [{ name: args.placement.backendNetwork }],
        restart: "unless-stopped",
        healthcheck: staleHealthcheck(BASE_BACKUP_SCRIPT_PATH),
        // A base backup in progress is a dot-directory the next run removes; let the current one finish if it can.
        stopTimeout: 60,
        destroyGraceSeconds: 60,
        memory: args.memoryMb ?? BACKUP_DEFAULTS.memoryMb,
        labels: dockerLabels("backups", { "stackport.role": "wal" }),
      },
      { parent: this, provider: args.placement.provider, dependsOn: args.database.dependsOn ?? [] },
    );
    return new docker.Container(`${name}-wal`, runnerArgs, runnerOpts);
  }

  /** The restic loop, and the object mirror that feeds it. */
  private offHostCopy(
    name: string,
    args: DockerBackupsArgs,
    config: ReturnType<typeof normalize>,
    volume: docker.Volume,
    clientImage: docker.RemoteImage | undefined,
  ) {
    const off = config.offHost!;
    const { placement, transform } = args;
    const image = pullImage(`${name}-offhost-image`, off.image, this, placement);
    const password =
      args.offHostPassword === undefined
        ? new random.RandomPassword(
            `${name}-offhost-password`,
            { length: 48, special: false },
            { parent: this },
          )
        : undefined;
    const s3 = off.repository.startsWith("s3:");
    let objectsVolume: docker.Volume | undefined;
    let objects: docker.Container | undefined;
    if (off.objects && clientImage && args.objectsStorage) {
      const storage = args.objectsStorage;
      // A copy MinIO can always give again: never protected, and not a backup on its own.
      objectsVolume = cacheVolume(`${name}-objects-data`, this, {
        placement,
        tier: "backups",
        parts: ["backups", "objects"],
        transform: transform?.objectsVolume,
      });
      objects = passLoopContainer(`${name}-objects`, this, {
        tier: "backups",
        role: "objects",
        placement,
        image: clientImage.imageId,
        scriptPath: OBJECTS_MIRROR_SCRIPT_PATH,
        script: renderObjectsMirrorScript({ pollSeconds: 900 }),
        envs: [
          pulumi.interpolate`MC_HOST_${OBJECTS_MC_ALIAS}=${mcHost(storage, `${name}: the object mirror`)}`,
          pulumi
            .all(Object.entries(storage.buckets).map(([key, bucket]) => pulumi.interpolate`${key}=${bucket}`))
            .apply((pairs) => `BUCKETS=${pairs.sort().join(" ")}`),
          `OBJECTS_DIR=${OBJECTS_DIR}`,
        ],
        volumes: [{ volumeName: objectsVolume.name, containerPath: OBJECTS_DIR }],
        memoryMb: SYNC_MEMORY_MB,
        dependsOn: args.storageDependsOn ?? [],
        ...(transform?.objects && { transform: transform.objects }),
      });
    }
    const paths = [
      BACKUP_DIR,
      ...(args.wal ? [WAL_ARCHIVE_DIR] : []),
      ...(objectsVolume ? [OBJECTS_DIR] : []),
    ];
    const repositoryPath = "/repository";
    const secret = args.offHostPassword ?? password!.result;
    const credentials = args.offHostCredentials;
    const [offArgs, offOpts] = transformed<docker.ContainerArgs>(
      transform?.offHost,
      {
        name: containerName("backups", "offhost"),
        image: image.imageId,
        // The image's entrypoint runs restic itself; the loop calls it.
        entrypoints: ["/bin/sh"],
        command: [OFFHOST_SCRIPT_PATH],
        uploads: [
          {
            file: OFFHOST_SCRIPT_PATH,
            content: renderOffHostScript({
              paths,
              intervalSeconds: off.intervalHours * 3600,
              retentionDays: off.retentionDays,
            }),
            executable: true,
          },
        ],
        envs: [
          `RESTIC_REPOSITORY=${s3 ? off.repository : repositoryPath}`,
          pulumi.secret(pulumi.interpolate`RESTIC_PASSWORD=${secret}`),
          ...(credentials
            ? [
                pulumi.secret(pulumi.interpolate`AWS_ACCESS_KEY_ID=${credentials.accessKeyId}`),
                pulumi.secret(pulumi.interpolate`AWS_SECRET_ACCESS_KEY=${credentials.secretAccessKey}`),
              ]
            : []),
          `BACKUP_DIR=${BACKUP_DIR}`,
        ],
        // The backup volume read-write only for the loop's own state and metrics files, which it never copies.
        volumes: [
          { volumeName: volume.name, containerPath: BACKUP_DIR },
          ...(args.wal
            ? [{ volumeName: args.wal.archiveVolume, containerPath: WAL_ARCHIVE_DIR, readOnly: true }]
            : []),
          ...(objectsVolume
            ? [{ volumeName: objectsVolume.name, containerPath: OBJECTS_DIR, readOnly: true }]
            : []),
          ...(s3 ? [] : [{ hostPath: off.repository, containerPath: repositoryPath }]),
        ],
        networksAdvanced: [{ name: placement.backendNetwork }],
        restart: "unless-stopped",
        healthcheck: staleHealthcheck(OFFHOST_SCRIPT_PATH),
        stopTimeout: 60,
        destroyGraceSeconds: 60,
        memory: config.memoryMb,
        labels: dockerLabels("backups", { "stackport.role": "offhost" }),
      },
      { parent: this, provider: placement.provider },
    );
    const container = new docker.Container(`${name}-offhost`, offArgs, offOpts);
    return {
      image,
      container,
      ...(password && { password }),
      ...(objectsVolume && { objectsVolume }),
      ...(objects && { objects }),
    };
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
    ...((destination.kind === "bucket" || args.offHost?.objects) && {
      clientImage: args.clientImage ?? d.clientImage,
    }),
    memoryMb: args.memoryMb ?? d.memoryMb,
    // Recorded only when on, so a plan without them stays as it was.
    ...(args.wal && {
      wal: {
        baseBackupIntervalHours: args.wal.baseBackupIntervalHours ?? d.wal.baseBackupIntervalHours,
        retentionDays: args.wal.retentionDays ?? d.wal.retentionDays,
        archiveMaxLagSeconds: args.wal.archiveMaxLagSeconds ?? d.wal.archiveMaxLagSeconds,
      },
    }),
    ...(args.offHost && {
      offHost: {
        repository: args.offHost.repository,
        intervalHours: args.offHost.intervalHours ?? d.offHost.intervalHours,
        retentionDays: args.offHost.retentionDays ?? d.offHost.retentionDays,
        objects: args.offHost.objects ?? d.offHost.objects,
        image: args.offHost.image ?? d.offHost.image,
      },
    }),
  };
}
