import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import {
  type HostBinding,
  attachNetworks,
  containerName,
  healthProbe,
  oneShotJob,
  publishedPorts,
  pullImage,
  statefulVolume,
} from "../shared/docker";
import { assertValidArgs } from "../shared/errors";
import { dockerLabels } from "../shared/labels";
import type { DockerPlacement } from "../shared/placement";
import { type AdminJobArgs, libpqEnv, renderAdminJobScript } from "../shared/adminJob";
import { validateWalArchiveArgs } from "./walArchive";
import { type WalArchiveArgs, walArchiveServer } from "./walServer";
import {
  BACKUP_ROLE,
  MONITORING_ROLE,
  bootstrapRoles,
  passwordEnv,
  renderBootstrapScript,
} from "./bootstrapSql";
import {
  DATABASE_ACCESS_ROLES,
  DATABASE_ROLES,
  type DatabaseConnection,
  type DatabaseRole,
  type RoleConnection,
  databaseRoleName,
} from "./contract";
import {
  type DatabaseBootstrapArgs,
  DATABASE_HOST,
  DATABASE_PORT,
  DOCKER_DATABASE_DEFAULTS,
  SUPERUSER,
  dataMountPath,
  postgresMajor,
  validateDockerDatabaseArgs,
} from "./settings";

export interface DockerDatabaseArgs extends DatabaseBootstrapArgs {
  /** The Docker target the containers run on (`DockerTarget.placement`). */
  placement: DockerPlacement;
  /**
   * PostgreSQL + PostGIS image. Its tag must start with the PostgreSQL major version: the volume mounts at
   * `/var/lib/postgresql/data` up to 17 and at `/var/lib/postgresql` from 18. Changing it replaces the server
   * container (the data volume stays; a major upgrade needs a dump and restore).
   * @default "postgis/postgis:17-3.5"
   */
  image?: string;
  /** The application database, created and bootstrapped. Changing it replaces the server container. @default "platform" */
  database?: string;
  /** Publish PostgreSQL on the Docker host. @default not published (backend network only) */
  publish?: HostBinding;
  /**
   * Create a `monitoring` role with `pg_monitor` (server statistics, no data), exposed as `monitoring` for a
   * PostgreSQL exporter (`DockerObservability`'s `postgresExporter`). @default false
   */
  monitoringUser?: boolean;
  /**
   * Create the read-only `db_backup` role (`pg_read_all_data`, row security bypassed, sessions read-only) for
   * `DockerBackups` to dump as, instead of the superuser. Exposed as `backup`. @default false
   */
  backupUser?: boolean;
  /**
   * Continuous WAL archiving for point-in-time recovery (`DockerBackups`' `wal` takes the base backups and prunes
   * the archive): every finished segment is copied, atomically, to a protected archive volume (`walArchiveVolume`),
   * and the superuser may connect for replication (`pg_basebackup`). Turning it on or off replaces the server
   * container; the data volume stays. @default off
   * @example { archiveTimeoutSeconds: 300 }
   */
  walArchive?: WalArchiveArgs;
  /** Memory limit of the server, in MB. @default 2048 */
  memoryMb?: number;
  /** `shm_size` of the container, in MB (parallel queries need more than Docker's 64). @default 256 */
  shmSizeMb?: number;
  /**
   * Schema migrations (Alembic, drizzle-kit, Flyway…): a one-shot job as `db_admin` after the bootstrap, re-run when
   * its image or command change. Every role's connection waits for it, so consumers start on the migrated schema.
   * The job gets `DATABASE_URL` and the libpq variables; its image needs `/bin/sh`.
   * @default none
   * @example { image: "ghcr.io/example/api:1.4.2", command: ["alembic", "upgrade", "head"] }
   */
  migrations?: AdminJobArgs;
  /** `protect` / `retainOnDelete` of the data volume. @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** Per-child escape hatches. @default none */
  transform?: {
    volume?: Transform<docker.VolumeArgs>;
    walArchive?: Transform<docker.VolumeArgs>;
    server?: Transform<docker.ContainerArgs>;
    bootstrap?: Transform<docker.ContainerArgs>;
    migrations?: Transform<docker.ContainerArgs>;
  };
}

/**
 * PostgreSQL + PostGIS on Docker: the server on a protected named volume, generated passwords for the superuser and
 * each seed-002 role, a one-shot bootstrap job (extensions, schemas, least-privilege roles, readiness check) that
 * re-runs whenever its script or a password changes, and the optional migrations job after it. Every role's
 * connection resolves only once both succeeded, so its consumers start on the migrated schema. Not published on
 * the host unless asked for.
 * @example
 * const db = new DockerDatabase("database", { placement: target.placement, database: "geo" });
 * // db.connection.roles.app_writer.url: postgresql://app_writer:…@database:5432/geo (secret)
 */
export class DockerDatabase extends pulumi.ComponentResource {
  readonly connection: DatabaseConnection;
  /** How the `monitoring` role connects; only when `monitoringUser` is enabled. */
  readonly monitoring?: RoleConnection;
  /** How the read-only `db_backup` role connects; only when `backupUser` is enabled. */
  readonly backup?: RoleConnection;
  /** Physical name of the WAL archive volume; only with `walArchive`. */
  readonly walArchiveVolume?: pulumi.Output<string>;
  readonly nodes: {
    image: docker.RemoteImage;
    superuserPassword: random.RandomPassword;
    /** One per bootstrap role (`db_admin`, `app_writer`, `app_reader`; `monitoring`, `db_backup` when enabled). */
    passwords: Record<string, random.RandomPassword>;
    volume: docker.Volume;
    server: docker.Container;
    bootstrap: docker.Container;
    migrations?: { image: docker.RemoteImage; job: docker.Container };
    /** Only with `walArchive`. */
    walArchive?: docker.Volume;
  };

  constructor(name: string, args: DockerDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): bad input must fail before anything is registered.
    assertValidArgs(`stackport:docker:Database '${name}'`, [
      ...validateDockerDatabaseArgs(args),
      ...validateWalArchiveArgs(args.walArchive),
    ]);
    const d = DOCKER_DATABASE_DEFAULTS;
    const config = {
      image: args.image ?? d.image,
      database: args.database ?? d.database,
      ...(args.publish && { publish: args.publish }),
      monitoringUser: args.monitoringUser ?? false,
      backupUser: args.backupUser ?? false,
      ...(args.walArchive && { walArchive: args.walArchive }),
      // Recorded only when given, so a plan without them stays as it was.
      ...(args.extensions?.length && { extensions: args.extensions }),
      ...(args.schemas && Object.keys(args.schemas).length > 0 && { schemas: args.schemas }),
      ...(args.databases && Object.keys(args.databases).length > 0 && { databases: args.databases }),
      memoryMb: args.memoryMb ?? d.memoryMb,
      shmSizeMb: args.shmSizeMb ?? d.shmSizeMb,
      ...(args.migrations && { migrations: args.migrations }),
      safety: args.safety ?? { protect: true, retainOnDelete: true },
    };
    const mountPath = dataMountPath(postgresMajor(config.image)!, config.image);
    super("stackport:docker:Database", name, config, opts);
    const { placement, transform } = args;
    const { safety } = config;
    const provider = placement.provider;

    const image = pullImage(`${name}-image`, config.image, this, placement);
    // Alphanumeric only: the passwords go into URLs unescaped.
    const password = (role: string) =>
      new random.RandomPassword(
        `${name}-${role.replace(/_/g, "-")}-password`,
        { length: 40, special: false },
        { parent: this },
      );
    const superuserPassword = password("superuser");
    const roles = bootstrapRoles(config);
    const passwords = Object.fromEntries(roles.map((role) => [role, password(role)]));

    const volume = statefulVolume(`${name}-data`, this, {
      placement,
      safety,
      tier: "database",
      parts: ["database", "data"],
      transform: transform?.volume,
    });

    const wal =
      config.walArchive &&
      walArchiveServer(`${name}-wal-archive`, this, {
        ...config.walArchive,
        placement,
        safety,
        replicationRole: SUPERUSER,
        transform: transform?.walArchive,
      });
    const [serverArgs, serverOpts] = transformed<docker.ContainerArgs>(
      transform?.server,
      {
        name: containerName("database"),
        image: image.imageId,
        envs: [
          `POSTGRES_USER=${SUPERUSER}`,
          pulumi.interpolate`POSTGRES_PASSWORD=${superuserPassword.result}`,
          `POSTGRES_DB=${config.database}`,
        ],
        volumes: [{ volumeName: volume.name, containerPath: mountPath }, ...(wal ? [wal.mount] : [])],
        // Archiving: the image's entrypoint behind a wrapper, `postgres -c archive_mode=on …`, and its uploads.
        ...(wal && wal.container),
        networksAdvanced: attachNetworks(placement, DATABASE_HOST),
        ports: publishedPorts(DATABASE_PORT, config.publish),
        // Over TCP: on first start the image runs a socket-only temporary server for its init scripts, which a
        // socket check would report as ready.
        healthcheck: healthProbe(
          ["CMD-SHELL", `pg_isready -h 127.0.0.1 -U ${SUPERUSER} -d ${config.database}`],
          {
            startPeriod: "30s",
          },
        ),
        wait: true,
        // First start runs initdb and the PostGIS init scripts.
        waitTimeout: 180,
        restart: "unless-stopped",
        // Docker's 10 s default ends in SIGKILL and crash recovery on the next start.
        stopTimeout: 60,
        destroyGraceSeconds: 60,
        memory: config.memoryMb,
        shmSize: config.shmSizeMb,
        labels: dockerLabels("database", { "stackport.role": "server" }),
      },
      { parent: this, provider },
    );
    const server = new docker.Container(`${name}-server`, serverArgs, serverOpts);

    const { job: bootstrap, succeeded } = oneShotJob(`${name}-bootstrap`, this, {
      tier: "database",
      role: "bootstrap",
      placement,
      // The server image ships psql and pg_isready.
      image: image.imageId,
      script: renderBootstrapScript({
        database: config.database,
        monitoringUser: config.monitoringUser,
        backupUser: config.backupUser,
        extensions: config.extensions,
        schemas: config.schemas,
        databases: config.databases,
      }),
      envs: [
        `PGHOST=${DATABASE_HOST}`,
        `PGPORT=${DATABASE_PORT}`,
        `PGUSER=${SUPERUSER}`,
        pulumi.interpolate`PGPASSWORD=${superuserPassword.result}`,
        `PGDATABASE=${config.database}`,
        // The SQL reads each role's password from here (psql's \getenv), never from psql's arguments.
        ...roles.map((role) => pulumi.interpolate`${passwordEnv(role)}=${passwords[role]!.result}`),
      ],
      purpose: "database bootstrap",
      dependsOn: [server],
      transform: transform?.bootstrap,
    });

    // User and URL wait for `ready`, so a consumer of a role's connection also waits for the role (and schema).
    const roleConnection = (
      role: string,
      ready: pulumi.Output<boolean>,
      database: string = config.database,
    ): RoleConnection => {
      const pw = passwords[role]!.result;
      const user = ready.apply(() => role);
      return {
        host: pulumi.output(DATABASE_HOST),
        port: pulumi.output(DATABASE_PORT),
        database: pulumi.output(database),
        user,
        password: pulumi.secret(pw),
        url: pulumi.secret(
          pulumi.interpolate`postgresql://${user}:${pw}@${DATABASE_HOST}:${DATABASE_PORT}/${database}`,
        ),
      };
    };

    const migrations =
      config.migrations &&
      this.migrations(name, config.migrations, roleConnection("db_admin", succeeded), bootstrap, args);
    // A failed migration rejects every role's connection: its consumers never start, and the update fails on the
    // stack outputs, which export each role's URL.
    const ready = migrations ? migrations.succeeded : succeeded;

    this.nodes = {
      image,
      superuserPassword,
      passwords,
      volume,
      server,
      bootstrap,
      ...(migrations && { migrations: { image: migrations.image, job: migrations.job } }),
      ...(wal && { walArchive: wal.volume }),
    };
    this.connection = {
      roles: Object.fromEntries(DATABASE_ROLES.map((role) => [role, roleConnection(role, ready)])) as Record<
        DatabaseRole,
        RoleConnection
      >,
      // Ready with the bootstrap: the migrations job migrates the application database only.
      databases: Object.fromEntries(
        Object.keys(config.databases ?? {}).map((db) => [
          db,
          Object.fromEntries(
            DATABASE_ACCESS_ROLES.map((r) => [r, roleConnection(databaseRoleName(db, r), succeeded, db)]),
          ) as Record<(typeof DATABASE_ACCESS_ROLES)[number], RoleConnection>,
        ]),
      ),
    };
    if (config.monitoringUser) this.monitoring = roleConnection(MONITORING_ROLE, ready);
    if (config.backupUser) this.backup = roleConnection(BACKUP_ROLE, ready);
    if (wal) this.walArchiveVolume = wal.volume.name;
    this.registerOutputs({
      host: DATABASE_HOST,
      port: DATABASE_PORT,
      database: config.database,
      bootstrapSucceeded: succeeded,
    });
  }

  /** The migrations job: the configured command as `db_admin`, once the bootstrap has made the roles and schemas. */
  private migrations(
    name: string,
    migrations: AdminJobArgs,
    admin: RoleConnection,
    bootstrap: docker.Container,
    args: DockerDatabaseArgs,
  ) {
    const image = pullImage(`${name}-migrations-image`, migrations.image, this, args.placement);
    const { job, succeeded } = oneShotJob(`${name}-migrations`, this, {
      tier: "database",
      role: "migrations",
      placement: args.placement,
      image: image.imageId,
      script: renderAdminJobScript(migrations, "schema migrations"),
      envs: libpqEnv(admin),
      purpose: "schema migrations",
      dependsOn: [bootstrap],
      transform: args.transform?.migrations,
    });
    return { image, job, succeeded };
  }
}
