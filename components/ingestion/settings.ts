/**
 * The pure half of the ingestion tier: the service definition both backends share, defaults, what the services
 * expose to the proxy and to Prometheus, and the args checks. No provider import, so a program can read it without
 * loading a provider SDK.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { OfferedConnections } from "../shared/offered";
import type { ScrapeTarget } from "../observability/contract";
import type { Upstream } from "../proxy/contract";
import { type ArgsIssue, argPath } from "../shared/errors";
import type { AttachedTargetGroup, FargateServiceArgs } from "../shared/fargateService";
import { type FargateSizingArgs, validateFargateServiceArgs } from "../shared/fargateSizing";
import { URL_PATH } from "../shared/formats";

/** The database roles a service may be given. `db_admin` is the migrations role and never a service's. */
export const SERVICE_DATABASE_ROLES = ["app_writer", "app_reader"] as const;
export type ServiceDatabaseRole = (typeof SERVICE_DATABASE_ROLES)[number];

/** What a service may reach: it receives the credentials for these and nothing else. */
export interface ServiceConnections {
  /** The database role whose `DATABASE_URL` the service gets. @default none */
  database?: ServiceDatabaseRole;
  /** Buckets (keys of the storage connection's buckets) it gets `STORAGE_BUCKET_<NAME>` and credentials for. @default none */
  storage?: string[];
  /** `BROKER_URL` (Redis, with its password). @default false */
  broker?: boolean;
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
}

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

/** What the tier's other args offer the services; each is used only by the services that declare it. */
/** What is wrong with the services of either backend, each at `services.<name>…` (empty when valid). */
export function validateServices(
  services: Record<string, IngestionServiceArgs>,
  offered: OfferedConnections,
  serviceStorage?: Record<string, { buckets: Record<string, unknown> }>,
): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
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
    for (const name of Object.keys(s.environment ?? {})) {
      if (CONNECTION_ENV.test(name))
        issue(at("environment", name), `${name} is set by the service's connections; remove it here`);
    }
    const { database, storage, broker } = s.connections ?? {};
    if (database !== undefined) {
      if (!(SERVICE_DATABASE_ROLES as readonly string[]).includes(database)) {
        issue(
          at("connections", "database"),
          `'${database}' is not a service role (allowed: ${SERVICE_DATABASE_ROLES.join(", ")})`,
        );
      } else if (!offered.database) issue(at("connections", "database"), "no database connection was given");
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

/**
 * What is wrong with `DockerIngestionArgs` (empty when valid): the shared service rules, then Docker's own.
 * `offered` says which connections the services may use (from the args, or from a program's config).
 */
export function validateDockerIngestionArgs(
  args: { services?: Record<string, DockerServiceArgs> | undefined },
  offered: OfferedConnections,
  serviceStorage?: Record<string, { buckets: Record<string, unknown> }>,
): ArgsIssue[] {
  const services = args.services ?? {};
  const issues = validateServices(services, offered, serviceStorage);
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
  },
  offered: OfferedConnections,
): ArgsIssue[] {
  const services = args.services ?? {};
  const issues = validateServices(services, offered);
  for (const [svc, service] of Object.entries(services)) {
    if (service.routed && service.port !== undefined && !args.targetGroups?.[svc]) {
      issues.push({
        path: argPath("services", svc, "routed"),
        message: "a routed service needs a target group (the ALB proxy's targetGroups)",
      });
    }
    const { database, broker } = service.connections ?? {};
    const secretNames = [...(database ? ["DATABASE_URL"] : []), ...(broker ? ["BROKER_URL"] : [])];
    const buckets = offered.buckets && Object.fromEntries(offered.buckets.map((b) => [b, b]));
    const fargate = validateFargateServiceArgs({
      ...(service.sizing && { sizing: service.sizing }),
      container: serviceContainer(
        service,
        "region",
        buckets && { endpoint: "", region: "", buckets, forcePathStyle: false },
      ),
      secretValues: Object.fromEntries(secretNames.map((n) => [n, ""])),
      ...(service.routed && args.targetGroups?.[svc] ? { targetGroup: {} as AttachedTargetGroup } : {}),
    });
    // container.x is the service's own x; sizing.x stays sizing.x.
    issues.push(
      ...fargate.map((i) => ({
        ...i,
        path: `${argPath("services", svc)}.${i.path.replace(/^container\./, "")}`,
      })),
    );
  }
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
