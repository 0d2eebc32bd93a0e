import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ConfigError, type ResolvedDatabase, type Safety } from "../../src/config";
import type { DockerPlacement } from "../targets/docker";
import { type Transform, transformed } from "../shared/component";
import {
  attachNetworks,
  containerName,
  oneShotJob,
  publishedPorts,
  pullImage,
  statefulVolume,
  healthProbe,
} from "../shared/docker";
import { dockerLabels } from "../shared/labels";
import { libpqEnv, renderAdminJobScript } from "./adminJob";
import { MONITORING_ROLE, bootstrapRoles, passwordEnv, renderBootstrapScript } from "./bootstrapSql";
import { DATABASE_ROLES, type DatabaseConnection, type DatabaseRole, type RoleConnection } from "./contract";

export interface DockerDatabaseArgs {
  /** The resolved `stackport:database` settings. Changing `image` or `name` replaces the server container. */
  config: ResolvedDatabase;
  /** Where the containers run. */
  placement: DockerPlacement;
  /** Protect/retain settings for the data volume. */
  safety: Safety;
  /**
   * Run `config.migrations` here. Only the side that serves runs them: during a cutover the other side receives a
   * copy of the serving one. @default true
   */
  runMigrations?: boolean;
  /** Per-child escape hatches. @default none */
  transform?: {
    volume?: Transform<docker.VolumeArgs>;
    server?: Transform<docker.ContainerArgs>;
    bootstrap?: Transform<docker.ContainerArgs>;
    migrations?: Transform<docker.ContainerArgs>;
  };
}

/** The DNS name of the database server on the backend network. */
export const DATABASE_HOST = "database";
export const DATABASE_PORT = 5432;
export const SUPERUSER = "postgres";

/**
 * The image's PostgreSQL major version, from its tag (`postgis/postgis:17-3.5` → 17).
 * @throws ConfigError naming `stackport:database.image` when the tag does not start with a major version
 */
export function postgresMajor(image: string): number {
  const ref = image.split("@")[0]!;
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const tag = colon > lastSlash ? ref.slice(colon + 1) : "";
  const match = /^(\d+)(?:[.-]|$)/.exec(tag);
  const major = match ? Number(match[1]) : NaN;
  if (!(major >= 9 && major < 100)) {
    throw new ConfigError([
      {
        key: "stackport:database.image",
        message: `cannot tell the PostgreSQL major version from '${image}'; use a tag that starts with it (e.g. postgis/postgis:17-3.5)`,
      },
    ]);
  }
  return major;
}

/** Where the data volume mounts: images for PostgreSQL 18+ keep versioned data dirs under /var/lib/postgresql. */
export function dataMountPath(major: number): string {
  return major >= 18 ? "/var/lib/postgresql" : "/var/lib/postgresql/data";
}

/**
 * PostgreSQL + PostGIS on Docker: the server on a protected named volume, generated passwords for the superuser and
 * each seed-002 role, a one-shot bootstrap job (extensions, schemas, least-privilege roles, readiness check) that
 * re-runs whenever its script or a password changes, and the optional migrations job after it. Every role's
 * connection resolves only once both succeeded, so its consumers start on the migrated schema. Not published on
 * the host unless configured.
 */
export class DockerDatabase extends pulumi.ComponentResource {
  readonly connection: DatabaseConnection;
  /** How the `monitoring` role connects; only when `monitoringUser` is enabled. */
  readonly monitoring?: RoleConnection;
  readonly nodes: {
    image: docker.RemoteImage;
    superuserPassword: random.RandomPassword;
    /** One per bootstrap role (`db_admin`, `app_writer`, `app_reader`, and `monitoring` when enabled). */
    passwords: Record<string, random.RandomPassword>;
    volume: docker.Volume;
    server: docker.Container;
    bootstrap: docker.Container;
    migrations?: { image: docker.RemoteImage; job: docker.Container };
  };

  constructor(name: string, args: DockerDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): bad input must fail before anything is registered.
    const mountPath = dataMountPath(postgresMajor(args.config.image));
    super("stackport:docker:Database", name, { config: args.config }, opts);
    const { config, placement, safety, transform } = args;
    const provider = placement.provider;

    const image = pullImage(`${name}-image`, config.image, this, placement);
    // Alphanumeric only: the passwords go into URLs and psql -v arguments unescaped.
    const password = (role: string) =>
      new random.RandomPassword(
        `${name}-${role.replace(/_/g, "-")}-password`,
        { length: 40, special: false },
        { parent: this },
      );
    const superuserPassword = password("superuser");
    const roles = bootstrapRoles(config.monitoringUser);
    const passwords = Object.fromEntries(roles.map((role) => [role, password(role)]));

    const volume = statefulVolume(`${name}-data`, this, {
      placement,
      safety,
      tier: "database",
      parts: ["database", "data"],
      transform: transform?.volume,
    });

    const [serverArgs, serverOpts] = transformed<docker.ContainerArgs>(
      transform?.server,
      {
        name: containerName("database"),
        image: image.imageId,
        envs: [
          `POSTGRES_USER=${SUPERUSER}`,
          pulumi.interpolate`POSTGRES_PASSWORD=${superuserPassword.result}`,
          `POSTGRES_DB=${config.name}`,
        ],
        volumes: [{ volumeName: volume.name, containerPath: mountPath }],
        networksAdvanced: attachNetworks(placement, DATABASE_HOST),
        ports: publishedPorts(DATABASE_PORT, config.publish),
        // Over TCP: on first start the image runs a socket-only temporary server for its init scripts, which a
        // socket check would report as ready.
        healthcheck: healthProbe(["CMD-SHELL", `pg_isready -h 127.0.0.1 -U ${SUPERUSER} -d ${config.name}`], {
          startPeriod: "30s",
        }),
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
      script: renderBootstrapScript({ database: config.name, monitoringUser: config.monitoringUser }),
      envs: [
        `PGHOST=${DATABASE_HOST}`,
        `PGPORT=${DATABASE_PORT}`,
        `PGUSER=${SUPERUSER}`,
        pulumi.interpolate`PGPASSWORD=${superuserPassword.result}`,
        `PGDATABASE=${config.name}`,
        ...roles.map((role) => pulumi.interpolate`${passwordEnv(role)}=${passwords[role]!.result}`),
      ],
      purpose: "database bootstrap",
      dependsOn: [server],
      transform: transform?.bootstrap,
    });

    // User and URL wait for `ready`, so a consumer of a role's connection also waits for the role (and schema).
    const roleConnection = (role: string, ready: pulumi.Output<boolean>): RoleConnection => {
      const pw = passwords[role]!.result;
      const user = ready.apply(() => role);
      return {
        host: pulumi.output(DATABASE_HOST),
        port: pulumi.output(DATABASE_PORT),
        database: pulumi.output(config.name),
        user,
        password: pulumi.secret(pw),
        url: pulumi.secret(
          pulumi.interpolate`postgresql://${user}:${pw}@${DATABASE_HOST}:${DATABASE_PORT}/${config.name}`,
        ),
      };
    };

    const migrations =
      config.migrations && args.runMigrations !== false
        ? this.migrations(name, config.migrations, roleConnection("db_admin", succeeded), bootstrap, args)
        : undefined;
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
    };
    this.connection = {
      roles: Object.fromEntries(DATABASE_ROLES.map((role) => [role, roleConnection(role, ready)])) as Record<
        DatabaseRole,
        RoleConnection
      >,
    };
    if (config.monitoringUser) this.monitoring = roleConnection(MONITORING_ROLE, ready);
    this.registerOutputs({
      host: DATABASE_HOST,
      port: DATABASE_PORT,
      database: config.name,
      bootstrapSucceeded: succeeded,
    });
  }

  /** The migrations job: the configured command as `db_admin`, once the bootstrap has made the roles and schemas. */
  private migrations(
    name: string,
    migrations: NonNullable<ResolvedDatabase["migrations"]>,
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
      script: renderAdminJobScript(
        migrations.command,
        "schema migrations",
        "stackport:database.migrations.command",
      ),
      envs: libpqEnv(admin),
      purpose: "schema migrations",
      dependsOn: [bootstrap],
      transform: args.transform?.migrations,
    });
    return { image, job, succeeded };
  }
}
