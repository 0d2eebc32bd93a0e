/**
 * The pure half of the ingestion tier: the service definition both backends share, defaults, what the services
 * expose to the proxy and to Prometheus, and the args checks. No provider import, so a program can read it without
 * loading a provider SDK.
 */
import type * as pulumi from "@pulumi/pulumi";
import {
  type DatabaseConnection,
  type DatabaseRoleRef,
  type RoleConnection,
  extraDatabaseConnection,
} from "../database/contract";
import type { OfferedConnections } from "../shared/offered";
import type { ScrapeTarget } from "../observability/contract";
import type { Upstream } from "../proxy/contract";
import { type ArgsIssue, argPath } from "../shared/errors";
import type { AttachedTargetGroup, FargateServiceArgs } from "../shared/fargateService";
import { type FargateSizingArgs, validateFargateServiceArgs, withSchedule } from "../shared/fargateSizing";
import { validateEcsServiceExtras } from "./ecsChecks";
import { IPV4, IPV4_CIDR, URL_PATH } from "../shared/formats";
import { type ScheduleBackend, scheduledServiceIssues } from "./schedule";
/** The schedule runner's log format, which the observability tier turns into metrics. */
export { SCHEDULE_LOG } from "./schedule";

/** The database roles a service may be given. `db_admin` is the migrations role and never a service's. */
export const SERVICE_DATABASE_ROLES = ["app_writer", "app_reader"] as const;
export type ServiceDatabaseRole = (typeof SERVICE_DATABASE_ROLES)[number];

/** A service's database: a role of the application database, or the writer or reader of an extra database. */
export type ServiceDatabase = ServiceDatabaseRole | DatabaseRoleRef;

/** Whether a service's database connection writes (what a cutover's freeze stops, what a copy must not get). */
export const writesDatabase = (db: ServiceDatabase | undefined): boolean =>
  db === "app_writer" || (typeof db === "object" && db.role === "writer");

/**
 * The connection a service's `connections.database` names. Throws for `db_admin` (the types exclude it; this guards
 * callers that bypass them), without a database connection, and for an unknown extra database, naming the known ones.
 */
export function serviceDatabaseConnection(
  database: DatabaseConnection | undefined,
  db: ServiceDatabase,
): RoleConnection {
  if (typeof db === "string" && !(SERVICE_DATABASE_ROLES as readonly string[]).includes(db))
    throw new Error(`'${db}' is not a service role (allowed: ${SERVICE_DATABASE_ROLES.join(", ")})`);
  if (!database) throw new Error("no database connection was given");
  return typeof db === "string" ? database.roles[db] : extraDatabaseConnection(database, db);
}

/** What a service may reach: it receives the credentials for these and nothing else. */
export interface ServiceConnections {
  /**
   * Whose `DATABASE_URL` the service gets: `app_writer`/`app_reader` of the application database, or the writer or
   * reader of an extra database (`DockerDatabaseArgs.databases`). @default none
   * @example { database: "events", role: "writer" }
   */
  database?: ServiceDatabase;
  /** Buckets (keys of the storage connection's buckets) it gets `STORAGE_BUCKET_<NAME>` and credentials for. @default none */
  storage?: string[];
  /** `BROKER_URL` (Redis, with its password). @default false */
  broker?: boolean;
}

/**
 * Where one of the tier's application secrets comes from: a value the program already holds as a Pulumi secret (a
 * stack secret, `pulumi config set --secret`), or a random value generated once and kept in state (`@pulumi/random`),
 * e.g. a JWT signing key several services share.
 */
export type AppSecretSource =
  | { value: pulumi.Input<string>; generate?: never }
  | { generate: { /** @default 48 */ length?: number }; value?: never };

/** A port published outside the backend network: a host port on Docker, a Network Load Balancer listener on AWS. */
export interface PublishedPortArgs {
  /** The port the container listens on. */
  port: number;
  /** @default "tcp" */
  protocol?: "tcp" | "udp";
  /** The port clients connect to (the host port on Docker, the listener port on AWS). @default `port` */
  publishedPort?: number;
}

/** One service of the ingestion tier: the same definition on Docker and on ECS. */
export interface IngestionServiceArgs {
  /** A pinned image. @example "ghcr.io/example/ingest-api:1.4.2" */
  image: string;
  /** Overrides the image's CMD. @default the image's */
  command?: string[];
  /** Plain, non-secret settings; credentials come from `connections`. @default {} */
  environment?: Record<string, string>;
  /** The port it listens on (HTTP for routed services). @default none */
  port?: number;
  /** Health check: an HTTP `path` (on `port` unless `port` is given here) or a `command` in Docker's `CMD` form. @default none */
  health?: { path?: string; port?: number; command?: string[] };
  /** Prometheus metrics, scraped on every replica (Docker). @default none */
  metrics?: { port: number; path?: string };
  /** What it may reach. @default nothing */
  connections?: ServiceConnections;
  /** The proxy routes to it: it joins the edge network (Docker), registers in its target group (ECS). @default false */
  routed?: boolean;
  /**
   * Environment variables from the tier's application secrets (`secrets` of the component): variable name → secret
   * name. The value never appears in the plan, a command line, a label or an output.
   * @default {}
   * @example { JWT_SECRET: "jwt-signing-key", OAUTH_CLIENT_SECRET: "oauth-client-secret" }
   */
  secrets?: Record<string, string>;
  /** Ports published outside the backend network (MQTT, Kafka…); HTTP goes through the proxy instead. @default [] */
  ports?: PublishedPortArgs[];
  /**
   * Run as a job on a schedule instead of always on, in EventBridge syntax on both backends: `rate(15 minutes)` or
   * `cron(0 3 * * ? *)` (UTC).
   * @default always on
   */
  schedule?: string;
}

/** A service on Docker: the shared definition plus replicas, limits and Docker-only options. */
export interface DockerServiceArgs extends IngestionServiceArgs {
  /** Containers; each answers to the service's alias and to its own (`api-2`). @default 1 */
  replicas?: number;
  /** Memory limit per replica, in MB. @default 512 */
  memoryMb?: number;
  /** CPUs per replica. @default 0.5 */
  cpus?: number;
  /** Docker restart policy. @default "unless-stopped" */
  restart?: "no" | "on-failure" | "always" | "unless-stopped";
  /** It needs the internet: refused by a target whose backend network is isolated. Labelled for policy. @default false */
  egress?: boolean;
  /**
   * A directory of its own that outlives the container, on a protected named volume mounted at `path`. Needs one
   * replica (two containers writing one directory corrupt it).
   * @default none
   * @example { path: "/app/data" }
   */
  data?: { path: string };
  /** Published ports, each bound to one host address. @default [] */
  ports?: DockerPublishedPortArgs[];
  /** Host paths mounted read-only, and named volumes of the tier (`volumes`) shared with other services. @default [] */
  mounts?: DockerMountArgs[];
  /**
   * Mount the Docker socket (root on the host). Refused by policy unless given with the reason it was reviewed for;
   * the reason shows in the plan and the sign-off report.
   * @default none
   * @example { reason: "Portainer manages this host's containers (reviewed 2026-11, ops#42)" }
   */
  dockerSocket?: { reason: string };
}

/**
 * A published port on Docker, bound to one host address. `0.0.0.0` (every interface) is refused by the policy pack's
 * `docker-internal-not-public` rule unless the stack's policy config lists `<publishedPort>/<protocol>` in its
 * `allInterfaces`.
 */
export interface DockerPublishedPortArgs extends PublishedPortArgs {
  /** The host address the port binds to. @default "127.0.0.1" @example "192.168.1.20" */
  hostIp?: string;
}

/** A mount into a Docker service: a host path (always read-only), or one of the tier's named `volumes`. */
export type DockerMountArgs =
  | {
      /** Absolute path on the Docker host. */ hostPath: string;
      /** Absolute path in the container. */ path: string;
    }
  | {
      /** A key of the component's `volumes`. */ volume: string;
      /** Absolute path in the container. */ path: string;
      /** @default false */ readOnly?: boolean;
    };

/** The Redis (or Valkey) broker on Docker. */
export interface DockerBrokerArgs {
  /** Redis 8 by default; `valkey/valkey:8.1-alpine` (BSD-licensed) works the same. @default "redis:8.2-alpine" */
  image?: string;
  /** An append-only file on a protected volume: queued tasks survive a restart. Off: in memory only. @default true */
  persistence?: boolean;
  /** Memory limit, in MB; the broker refuses writes at 80 % of it rather than be killed. @default 256 */
  memoryMb?: number;
}

/** A service on ECS: the shared definition plus its Fargate size, count or schedule. */
export interface EcsServiceArgs extends IngestionServiceArgs {
  /** @default 256 CPU units, 512 MiB, 1–2 tasks (CPU target tracking) */
  sizing?: FargateSizingArgs;
  /** Published ports: NLB listeners, open only to `allowFrom`. @default [] */
  ports?: EcsPublishedPortArgs[];
  /**
   * A directory of its own that outlives its tasks: an encrypted EFS file system with an access point for this
   * service, mounted at `path` and backed up.
   * @default none
   * @example { path: "/app/data" }
   */
  data?: { path: string };
}

/** A published port on AWS: a Network Load Balancer listener, reachable from `allowFrom` only. */
export interface EcsPublishedPortArgs extends PublishedPortArgs {
  /** IPv4 CIDRs allowed to connect; `0.0.0.0/0` needs a reviewed policy exception. */
  allowFrom: string[];
}

/** The broker on AWS: an ElastiCache Valkey replication group. */
export interface EcsBrokerArgs {
  /** @default "cache.t4g.micro" */
  nodeType?: string;
  /** Valkey `major.minor`. @default "8.0" */
  engineVersion?: string;
  /** A replica in another AZ with automatic failover. @default false */
  failover?: boolean;
}

/** The broker's DNS name and port on the backend network (and ElastiCache's port). */
export const BROKER_HOST = "broker";
export const BROKER_PORT = 6379;

/** Defaults of the Docker broker: Redis 8, persistent, 256 MB. Valkey (`valkey/valkey:8.1-alpine`) works too. */
export const DOCKER_BROKER_DEFAULTS = {
  image: "redis:8.2-alpine",
  persistence: true,
  memoryMb: 256,
} as const;
/** Defaults of a Docker service. */
export const DOCKER_SERVICE_DEFAULTS = {
  replicas: 1,
  memoryMb: 512,
  cpus: 0.5,
  restart: "unless-stopped",
  egress: false,
} as const;
/** Defaults of the ElastiCache broker: one small Valkey node, no failover. */
export const ECS_BROKER_DEFAULTS = {
  nodeType: "cache.t4g.micro",
  engineVersion: "8.0",
  failover: false,
} as const;

/** Variables the connections set; a service may not set them itself (they would shadow the real credentials). */
export const CONNECTION_ENV = /^(DATABASE_URL|BROKER_URL|STORAGE_.*)$/;

/** `STORAGE_BUCKET_RAW`, `STORAGE_BUCKET_TILE_CACHE` (`-` is not allowed in variable names). */
export const bucketEnvName = (bucket: string) => `STORAGE_BUCKET_${bucket.toUpperCase().replace(/-/g, "_")}`;

/** The per-replica alias (`api-2`), so Prometheus scrapes every replica rather than a round-robin of them. */
export const replicaAlias = (svc: string, replica: number) => `${svc}-${replica}`;

/** The service's health path when it is an HTTP path on the service port: what the proxy checks. */
export function proxyHealthPath(service: Pick<IngestionServiceArgs, "health" | "port">): string | undefined {
  const h = service.health;
  return h?.path !== undefined && (h.port ?? service.port) === service.port ? h.path : undefined;
}

/** Every service with a port, by name: host is the alias all its replicas share (Docker DNS round-robins). */
export function ingestionUpstreams(services: Record<string, IngestionServiceArgs>): Record<string, Upstream> {
  const out: Record<string, Upstream> = {};
  for (const [svc, s] of Object.entries(services)) {
    if (s.port === undefined) continue;
    const healthPath = proxyHealthPath(s);
    out[svc] = {
      tier: "ingestion",
      host: svc,
      port: s.port,
      ...(healthPath !== undefined && { healthPath }),
    };
  }
  return out;
}

/** One scrape job per service with metrics (`ingestion-<svc>`), one address per replica. */
export function ingestionScrapeTargets(
  services: Record<string, IngestionServiceArgs & { replicas?: number | undefined }>,
): ScrapeTarget[] {
  return Object.entries(services)
    .filter(([, s]) => s.metrics)
    .map(([svc, s]) => ({
      job: `ingestion-${svc}`,
      tier: "ingestion",
      addresses: Array.from(
        { length: s.replicas ?? DOCKER_SERVICE_DEFAULTS.replicas },
        (_, i) => `${replicaAlias(svc, i + 1)}:${s.metrics!.port}`,
      ),
      metricsPath: s.metrics!.path ?? "/metrics",
    }));
}

/** What is wrong with a service's `connections.database` (a path below it and a message), if anything. */
function serviceDatabaseIssue(
  db: ServiceDatabase,
  offered: OfferedConnections,
): { path: PropertyKey[]; message: string } | undefined {
  if (typeof db === "string") {
    if (!(SERVICE_DATABASE_ROLES as readonly string[]).includes(db))
      return {
        path: [],
        message: `'${db}' is not a service role (allowed: ${SERVICE_DATABASE_ROLES.join(", ")})`,
      };
  } else if (!(["writer", "reader"] as unknown[]).includes(db.role)) {
    return {
      path: ["role"],
      message: `'${String(db.role)}' is not a service role (allowed: writer, reader)`,
    };
  } else if (offered.databases && !offered.databases.includes(db.database)) {
    const known = offered.databases.join(", ") || "none";
    return { path: ["database"], message: `unknown database '${db.database}' (extra databases: ${known})` };
  }
  return offered.database ? undefined : { path: [], message: "no database connection was given" };
}

/** What is wrong with the services of either backend, each at `services.<name>…` (empty when valid). */
export function validateServices(
  services: Record<string, IngestionServiceArgs>,
  offered: OfferedConnections,
  serviceStorage: Record<string, { buckets: Record<string, unknown> }> | undefined,
  secrets: Record<string, AppSecretSource> = {},
  /** Which backend's schedule rules apply (`scheduleIssue`). */
  backend: ScheduleBackend,
): ArgsIssue[] {
  const issues: ArgsIssue[] = [...appSecretIssues(secrets), ...appServiceIssues(services, secrets)];
  for (const name of Object.keys(serviceStorage ?? {})) {
    if (!(name in services))
      issues.push({ path: argPath("serviceStorage", name), message: `'${name}' is not a service` });
  }
  for (const [svc, s] of Object.entries(services)) {
    const at = (...path: PropertyKey[]) => argPath("services", svc, ...path);
    const issue = (path: string, message: string) => issues.push({ path, message });
    if (s.health) {
      if (s.health.path === undefined && s.health.command === undefined)
        issue(at("health"), "needs a 'path' or a 'command'");
      const command = s.health.command;
      if (command && !(command.length >= 2 && (command[0] === "CMD" || command[0] === "CMD-SHELL")))
        issue(at("health", "command"), 'must start with "CMD" or "CMD-SHELL", then the command');
      if (s.health.path !== undefined && !URL_PATH.test(s.health.path))
        issue(at("health", "path"), "must start with / and contain only URL path characters");
      if (!s.health.command && (s.health.port ?? s.port) === undefined)
        issue(at("health", "port"), "is required when the service has no 'port' (or give health.command)");
    }
    if (s.routed && s.port === undefined) issue(at("port"), "a routed service needs a port");
    // Schedules (components/ingestion/schedule.ts): the expression, and on Docker what a job cannot have.
    for (const i of scheduledServiceIssues(s, backend)) issue(at(i.key), i.message);
    for (const name of Object.keys(s.environment ?? {})) {
      if (CONNECTION_ENV.test(name))
        issue(at("environment", name), `${name} is set by the service's connections; remove it here`);
    }
    const { database, storage, broker } = s.connections ?? {};
    if (database !== undefined) {
      const problem = serviceDatabaseIssue(database, offered);
      if (problem) issue(at("connections", "database", ...problem.path), problem.message);
    }
    // A service's own connection (`serviceStorage`) replaces the shared one.
    const own = serviceStorage?.[svc];
    const buckets = own ? Object.keys(own.buckets) : offered.buckets;
    if (storage && !buckets) issue(at("connections", "storage"), "no storage connection was given");
    storage?.forEach((bucket, i) => {
      if (buckets && !buckets.includes(bucket))
        issue(at("connections", "storage", i), `the storage connection has no bucket '${bucket}'`);
    });
    if (broker && !offered.broker)
      issue(at("connections", "broker"), "the broker is disabled (broker: false)");
  }
  return issues;
}

/** An environment variable name: what `secrets` maps from. */
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** A secret's name: a stable key (it becomes part of a logical name). */
const SECRET_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** Length of a generated secret: long enough for a signing key, short enough for any variable. */
export const GENERATED_SECRET_LENGTH = { default: 48, min: 16, max: 512 } as const;

/** What is wrong with the tier's application secrets (`secrets` of either component), each at `secrets.<name>`. */
function appSecretIssues(secrets: Record<string, AppSecretSource>): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  for (const [name, source] of Object.entries(secrets)) {
    const at = (...path: PropertyKey[]) => argPath("secrets", name, ...path);
    if (!SECRET_NAME.test(name))
      issues.push({
        path: at(),
        message: "must be lower-case letters, digits and '-', starting with a letter",
      });
    const hasValue = source?.value !== undefined;
    const hasGenerate = source?.generate !== undefined;
    if (hasValue === hasGenerate) {
      issues.push({ path: at(), message: "needs exactly one of 'value' (a Pulumi secret) or 'generate'" });
      continue;
    }
    const length = source.generate?.length;
    const { min, max } = GENERATED_SECRET_LENGTH;
    if (length !== undefined && !(Number.isInteger(length) && length >= min && length <= max))
      issues.push({
        path: at("generate", "length"),
        message: `must be a whole number from ${min} to ${max}`,
      });
  }
  return issues;
}

/**
 * The application-facing parts every backend shares: secrets mapped to variables, published ports. Host-port clashes
 * are each backend's (a Docker host's addresses, an NLB's listeners).
 */
function appServiceIssues(
  services: Record<string, IngestionServiceArgs>,
  secrets: Record<string, AppSecretSource>,
): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  for (const [svc, s] of Object.entries(services)) {
    const at = (...path: PropertyKey[]) => argPath("services", svc, ...path);
    for (const [env, secret] of Object.entries(s.secrets ?? {})) {
      const issue = (message: string) => issues.push({ path: at("secrets", env), message });
      if (!ENV_NAME.test(env)) issue("must be an upper-case environment variable name");
      else if (CONNECTION_ENV.test(env))
        issue(`${env} is set by the service's connections; choose another name`);
      else if (env in (s.environment ?? {}))
        issue(`${env} is also in environment; a variable comes from one place, remove it there`);
      if (!(secret in secrets)) {
        const known = Object.keys(secrets).sort().join(", ") || "(none)";
        issue(`'${secret}' is not one of the tier's secrets; it has: ${known}`);
      }
    }
    const published = new Map<string, number>();
    (s.ports ?? []).forEach((p, i) => {
      const issue = (field: string, message: string) =>
        issues.push({ path: at("ports", i, ...(field ? [field] : [])), message });
      if (!isPort(p.port)) issue("port", "must be a whole number from 1 to 65535");
      if (p.publishedPort !== undefined && !isPort(p.publishedPort))
        issue("publishedPort", "must be a whole number from 1 to 65535");
      if (p.protocol !== undefined && p.protocol !== "tcp" && p.protocol !== "udp")
        issue("protocol", 'must be "tcp" or "udp"');
      const key = `${p.publishedPort ?? p.port}/${p.protocol ?? "tcp"}`;
      const first = published.get(key);
      if (first !== undefined) issue("", `publishes ${key} again (ports[${first}] does); publish it once`);
      else published.set(key, i);
    });
  }
  return issues;
}

const isPort = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 65535;

/** A container path or host path: absolute, no `..` or `.` segment, no empty segment. */
export const ABSOLUTE_PATH = /^(\/(?!\.\.?(\/|$))[A-Za-z0-9._@+-]+)+$/;

/** The Docker socket's path on a host: mounting it gives root on the host (only through `dockerSocket`). */
export const DOCKER_SOCKET_PATH = "/var/run/docker.sock";

/** A Docker published port with its defaults: loopback, TCP, the same port on the host. */
export function dockerPortBinding(p: DockerPublishedPortArgs) {
  return {
    internal: p.port,
    external: p.publishedPort ?? p.port,
    ip: p.hostIp ?? "127.0.0.1",
    protocol: p.protocol ?? "tcp",
  };
}

/** Docker's own checks of a service: host addresses, host ports between services, mounts, the socket exemption. */
function dockerServiceIssues(
  services: Record<string, DockerServiceArgs>,
  volumes: Record<string, unknown>,
): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const hostPorts: { svc: string; i: number; ip: string; external: number; protocol: string }[] = [];
  for (const [svc, s] of Object.entries(services)) {
    const at = (...path: PropertyKey[]) => argPath("services", svc, ...path);
    const replicas = s.replicas ?? DOCKER_SERVICE_DEFAULTS.replicas;
    (s.ports ?? []).forEach((p, i) => {
      if (p.hostIp !== undefined && !IPV4.test(p.hostIp))
        issues.push({ path: at("ports", i, "hostIp"), message: "must be an IPv4 address like 127.0.0.1" });
      const b = dockerPortBinding(p);
      const clash = hostPorts.find(
        (o) =>
          o.external === b.external &&
          o.protocol === b.protocol &&
          (o.ip === b.ip || o.ip === "0.0.0.0" || b.ip === "0.0.0.0"),
      );
      if (clash)
        issues.push({
          path: at("ports", i),
          message: `host port ${b.ip}:${b.external}/${b.protocol} is already published by ${argPath("services", clash.svc, "ports", clash.i)}; choose another publishedPort`,
        });
      hostPorts.push({ svc, i, ...b });
    });
    if (s.ports?.length && replicas > 1)
      issues.push({
        path: at("ports"),
        message: `needs replicas: 1 (it has ${replicas}): one host port can be published by one container only`,
      });
    (s.mounts ?? []).forEach((m, i) => {
      const issue = (field: string, message: string) =>
        issues.push({ path: at("mounts", i, field), message });
      if (typeof m.path !== "string" || !ABSOLUTE_PATH.test(m.path))
        issue("path", "must be an absolute path in the container without '..', e.g. /etc/app");
      if ("hostPath" in m && m.hostPath !== undefined) {
        if (!ABSOLUTE_PATH.test(m.hostPath))
          issue(
            "hostPath",
            "must be an absolute path on the Docker host without '..', e.g. /srv/app/config.yaml",
          );
        else if (m.hostPath === DOCKER_SOCKET_PATH)
          issue("hostPath", "is the Docker socket (root on the host); use dockerSocket: { reason } instead");
      } else if (!("volume" in m) || !(m.volume in volumes)) {
        const known = Object.keys(volumes).sort().join(", ") || "(none)";
        issue(
          "volume",
          `'${"volume" in m ? m.volume : ""}' is not one of the tier's volumes; it has: ${known}`,
        );
      }
    });
    if (
      s.dockerSocket !== undefined &&
      !(typeof s.dockerSocket.reason === "string" && s.dockerSocket.reason.trim().length >= 10)
    )
      issues.push({
        path: at("dockerSocket", "reason"),
        message: "must say why the socket was granted and who reviewed it (at least 10 characters)",
      });
  }
  return issues;
}

/**
 * What is wrong with `DockerIngestionArgs` (empty when valid): the shared service rules, then Docker's own.
 * `offered` says which connections the services may use (from the args, or from a program's config).
 */
export function validateDockerIngestionArgs(
  args: {
    services?: Record<string, DockerServiceArgs> | undefined;
    secrets?: Record<string, AppSecretSource> | undefined;
    volumes?: Record<string, unknown> | undefined;
  },
  offered: OfferedConnections,
  serviceStorage?: Record<string, { buckets: Record<string, unknown> }>,
): ArgsIssue[] {
  const services = args.services ?? {};
  const issues = validateServices(services, offered, serviceStorage, args.secrets, "docker");
  for (const name of Object.keys(args.volumes ?? {})) {
    if (!SECRET_NAME.test(name))
      issues.push({
        path: argPath("volumes", name),
        message: "must be lower-case letters, digits and '-', starting with a letter",
      });
  }
  issues.push(...dockerServiceIssues(services, args.volumes ?? {}));
  for (const [svc, s] of Object.entries(services)) {
    const replicas = s.replicas ?? DOCKER_SERVICE_DEFAULTS.replicas;
    if (s.data && replicas > 1) {
      issues.push({
        path: argPath("services", svc, "data"),
        message: `needs replicas: 1 (it has ${replicas}): replicas would write one directory at once; keep shared state in the database or a bucket`,
      });
    }
    // `api-2` as a service name would shadow replica 2 of `api` (its alias `api-2`).
    const replicaOf = /^(.+)-(\d+)$/.exec(svc);
    const owner = replicaOf && services[replicaOf[1]!];
    if (owner && Number(replicaOf[2]) <= (owner.replicas ?? DOCKER_SERVICE_DEFAULTS.replicas)) {
      issues.push({
        path: argPath("services", svc),
        message: `'${svc}' is the DNS alias of replica ${replicaOf[2]} of service '${replicaOf[1]}'; choose another name`,
      });
    }
  }
  return issues;
}

/** The container of a service: image, command, port, health, and its plain environment (bucket names included). */
export function serviceContainer(
  service: IngestionServiceArgs,
  region: string,
  storage:
    | {
        endpoint: pulumi.Input<string>;
        region: pulumi.Input<string>;
        buckets: Record<string, pulumi.Input<string>>;
        forcePathStyle: boolean;
      }
    | undefined,
): FargateServiceArgs["container"] {
  const buckets = service.connections?.storage;
  const healthPath = proxyHealthPath(service);
  return {
    image: service.image,
    ...(service.command && { command: service.command }),
    ...(service.port !== undefined && { port: service.port }),
    ...(healthPath !== undefined && { healthPath }),
    ...(service.health?.command && { healthCommand: service.health.command }),
    environment: {
      ...service.environment,
      AWS_REGION: region,
      ...(buckets &&
        storage && {
          STORAGE_ENDPOINT: storage.endpoint,
          STORAGE_REGION: storage.region,
          STORAGE_FORCE_PATH_STYLE: String(storage.forcePathStyle),
          ...Object.fromEntries(buckets.map((b) => [bucketEnvName(b), storage.buckets[b]!])),
        }),
    },
  };
}

const NODE_TYPE = /^cache\.[a-z0-9]+\.[a-z0-9]+$/;
const ENGINE_VERSION = /^\d+\.\d+$/;

/**
 * What is wrong with `EcsIngestionArgs` (empty when valid): the shared service rules, each service as its
 * `FargateService` would refuse it (renamed to this component's paths), routes without target groups, the broker.
 * `offered` says which connections the services may use (from the args, or from a program's config).
 */
export function validateEcsIngestionArgs(
  args: {
    services?: Record<string, EcsServiceArgs> | undefined;
    broker?: EcsBrokerArgs | false | undefined;
    targetGroups?: Record<string, unknown> | undefined;
    secrets?: Record<string, AppSecretSource> | undefined;
  },
  offered: OfferedConnections,
): ArgsIssue[] {
  const services = args.services ?? {};
  const issues = validateServices(services, offered, undefined, args.secrets, "aws");
  for (const [svc, service] of Object.entries(services)) {
    // An NLB listener takes exactly the clients its allow-list names, like the ALB's routes.
    (service.ports ?? []).forEach((p, i) => {
      const at = argPath("services", svc, "ports", i, "allowFrom");
      if (!Array.isArray(p.allowFrom) || p.allowFrom.length === 0)
        issues.push({
          path: at,
          message: "is required on AWS: the IPv4 CIDRs allowed to connect, e.g. [10.0.0.0/8]",
        });
      else
        p.allowFrom.forEach((c, j) => {
          if (!IPV4_CIDR.test(c))
            issues.push({
              path: argPath("services", svc, "ports", i, "allowFrom", j),
              message: "must be an IPv4 CIDR block like 10.0.0.0/8",
            });
        });
    });
    if (service.routed && service.port !== undefined && !args.targetGroups?.[svc]) {
      issues.push({
        path: argPath("services", svc, "routed"),
        message: "a routed service needs a target group (the ALB proxy's targetGroups)",
      });
    }
    const { database, broker } = service.connections ?? {};
    const secretNames = [...(database ? ["DATABASE_URL"] : []), ...(broker ? ["BROKER_URL"] : [])];
    const buckets = offered.buckets && Object.fromEntries(offered.buckets.map((b) => [b, b]));
    const sizing = withSchedule(service.sizing, service.schedule);
    const fargate = validateFargateServiceArgs({
      ...(sizing && { sizing }),
      container: serviceContainer(
        service,
        "region",
        buckets && { endpoint: "", region: "", buckets, forcePathStyle: false },
      ),
      secretValues: Object.fromEntries(secretNames.map((n) => [n, ""])),
      ...(service.routed && args.targetGroups?.[svc] ? { targetGroup: {} as AttachedTargetGroup } : {}),
      ...(service.ports?.length && { publishedPorts: service.ports }),
      ...(service.data && { data: service.data }),
    });
    // container.x is the service's own x; sizing.x stays sizing.x, but for the schedule: the service's own key,
    // whose syntax the shared check above has already reported.
    const schedulePath = argPath("services", svc, "schedule");
    const scheduleReported = issues.some((i) => i.path === schedulePath);
    issues.push(
      ...fargate
        .map((i) => ({
          ...i,
          path: `${argPath("services", svc)}.${i.path.replace(/^container\./, "").replace(/^sizing\.schedule$/, "schedule")}`,
        }))
        .filter((i) => !(scheduleReported && i.path === schedulePath)),
    );
  }
  issues.push(...validateEcsServiceExtras(args));
  if (args.broker) {
    if (args.broker.nodeType !== undefined && !NODE_TYPE.test(args.broker.nodeType))
      issues.push({
        path: "broker.nodeType",
        message: "must be an ElastiCache node type like cache.t4g.micro",
      });
    if (args.broker.engineVersion !== undefined && !ENGINE_VERSION.test(args.broker.engineVersion))
      issues.push({ path: "broker.engineVersion", message: "must be a major.minor version like 8.0" });
  }
  return issues;
}
