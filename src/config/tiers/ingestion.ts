/**
 * `stackport:ingestion` — the services that bring data in (an API, Celery workers and beat, APScheduler runners…)
 * and their Redis broker. Pure: the schema, the cross-tier checks `resolveConfig` runs, and what the tier tells the
 * proxy (routes, upstreams) and observability (scrape targets). Nothing here registers resources.
 *
 * Each service receives only the connections it declares (`connections`), so least privilege is visible in the
 * stack file: a worker that never touches storage gets no storage credentials.
 */
import { z } from "zod";
import type { DockerIngestionArgs } from "../../../components/ingestion/dockerIngestion";
import type { EcsIngestionArgs } from "../../../components/ingestion/ecsIngestion";
import {
  BROKER_HOST,
  CONNECTION_ENV,
  DOCKER_BROKER_DEFAULTS,
  type IngestionServiceArgs,
  SERVICE_DATABASE_ROLES,
  type ServiceDatabaseRole,
  ingestionScrapeTargets as serviceScrapeTargets,
  ingestionUpstreams as serviceUpstreams,
  validateDockerIngestionArgs,
  validateEcsIngestionArgs,
} from "../../../components/ingestion/settings";
import { BASEMAP_HOST, TILE_CACHE_HOST } from "../../../components/basemap/settings";
import { DATABASE_HOST } from "../../../components/database/settings";
import type { ScrapeTarget } from "../../../components/observability/contract";
import { OBSERVABILITY_SERVICES } from "../../../components/observability/settings";
import type { Upstream } from "../../../components/proxy/contract";
import { PROXY_HOST } from "../../../components/proxy/settings";
import { STORAGE_HOST, dockerStorageUpstreams } from "../../../components/storage/settings";
import type { StatefulSafety } from "../../../components/shared/component";
import { type ConfigIssue, configIssues } from "../errors";
import { CONFIG_NAMESPACE, configKey } from "../keys";
import { type Environment, keyName, pinnedImage } from "../schema";
import { type RouteConfig, routeSchema } from "./proxy";
import type { TargetConfig } from "./targets";
import { awsBrokerSchema, awsServiceSchema, awsServiceSizing } from "./awsServices";

const port = z.number().int().min(1).max(65535);

/** The proxy's route options, minus `to`: a service's route always goes to the service itself. */
export const serviceRouteSchema = routeSchema.omit({ to: true });

// A custom issue (not z.enum) so the message can say why db_admin is refused; resolve.ts rewrites enum messages.
const serviceDatabaseRole = z.string().transform((role, ctx) => {
  if ((SERVICE_DATABASE_ROLES as readonly string[]).includes(role)) return role as ServiceDatabaseRole;
  ctx.addIssue({
    code: "custom",
    message:
      role === "db_admin"
        ? "db_admin is the migrations role and is never given to a service; use app_writer or app_reader (migrations run as stackport:database.migrations)"
        : `must be one of ${SERVICE_DATABASE_ROLES.join(", ")}`,
  });
  return z.NEVER;
});

/** Names that look like credentials: those come from connections (Pulumi secrets), never from plain config. */
const SECRET_LOOKING = /PASSWORD|SECRET|TOKEN|KEY/i;

const environmentSchema = z
  .record(
    z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an upper-case environment variable name"),
    z.string(),
  )
  .superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      // Names the connections set are refused by the component (validateServices).
      if (!CONNECTION_ENV.test(name) && SECRET_LOOKING.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message:
            "looks like a secret; plain config is stored in clear text. Secrets come from connections (database, storage, broker), which pass generated credentials as Pulumi secrets",
        });
      }
    }
  });

/** Checked with the rest of the service by the component (`validateServices`): a path or a command, well formed. */
const healthSchema = z.strictObject({
  /** HTTP path that answers 2xx when the service is healthy, e.g. `/health`. */
  path: z.string().optional(),
  /** Port of the health endpoint. @default the service's `port` */
  port: port.optional(),
  /**
   * The Docker healthcheck test, replacing the default
   * `["CMD-SHELL", "wget -qO /dev/null http://127.0.0.1:<port><path> || exit 1"]` — which assumes the image has a
   * `wget` (busybox/Alpine and Debian images with wget do; slim Python images do not: use e.g.
   * `["CMD", "python", "-c", "…"]` there).
   */
  command: z.array(z.string().min(1)).optional(),
});

export const serviceSchema = z.strictObject({
  /** The service's image. */
  image: pinnedImage,
  /** Overrides the image's CMD. */
  command: z.array(z.string()).min(1).optional(),
  /**
   * Plain, non-secret settings. Credentials come from `connections`: names that look secret (containing `PASSWORD`,
   * `SECRET`, `TOKEN` or `KEY`) are refused.
   */
  environment: environmentSchema.default({}),
  /** Port the service listens on (HTTP for routed services). Needed by `route` and, by default, `health`. */
  port: port.optional(),
  /** Health check: an HTTP `path` (checked with `wget`), or a Docker healthcheck `command`. */
  health: healthSchema.optional(),
  /** Prometheus metrics endpoint, scraped on every replica. May be the service port. */
  metrics: z
    .strictObject({
      /** Port of the metrics endpoint. */
      port,
      /** Path of the metrics endpoint. */
      path: z
        .string()
        .regex(/^\/[A-Za-z0-9._~/-]*$/, "must start with / and contain only URL path characters")
        .default("/metrics"),
    })
    .optional(),
  /** Containers `<name>-1 … <name>-N` (Docker; on AWS the task counts are in `aws`). */
  replicas: z.number().int().min(1).max(20).default(1),
  /** Container memory limit, in MB. */
  memoryMb: z.number().int().min(32).default(512),
  /** CPU limit, in cores. */
  cpus: z.number().positive().max(64).default(0.5),
  /** Docker restart policy. */
  restart: z.enum(["no", "on-failure", "always", "unless-stopped"]).default("unless-stopped"),
  /**
   * The service needs the internet (APIs it polls, webhooks it calls). Refused on targets with `isolateBackend`,
   * whose backend network has no route out. Services never join the edge network for egress: only routed ones do.
   */
  egress: z.boolean().default(false),
  /** What the service may reach; it receives the credentials for these and nothing else. */
  connections: z
    .strictObject({
      /**
       * Database role whose `DATABASE_URL` (a secret) the service gets: `app_writer` or `app_reader`; `db_admin` is
       * refused.
       */
      database: serviceDatabaseRole.optional(),
      /**
       * Buckets (keys of `stackport:storage.buckets`) the service gets `STORAGE_BUCKET_<NAME>` and `STORAGE_*`
       * credentials for, scoped to those buckets.
       */
      storage: z.array(keyName).min(1).optional(),
      /** `BROKER_URL` (Redis, with password; a secret). */
      broker: z.boolean().default(false),
    })
    .default({ broker: false }),
  /** Publish the service through the proxy; the route name is the service name. */
  route: serviceRouteSchema.optional(),
  /**
   * A directory of the service's own that outlives its container (a status page's SQLite file, a job's state), on
   * Docker: a named volume `<stack>-ingestion-<name>` mounted at `path`, protected outside `local` like every data
   * volume. Needs `replicas: 1` (two containers writing one directory corrupt it). Not on AWS: keep such state in the
   * database or a bucket.
   */
  data: z
    .strictObject({
      /** Absolute path in the container, e.g. `/app/data`. */
      path: z
        .string()
        .regex(
          /^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
          "must be an absolute path in the container, e.g. /app/data",
        ),
    })
    .optional(),
  /** Fargate sizing, autoscaling and schedule when the tier is on an AWS target (docs/aws-services.md). */
  aws: awsServiceSchema.optional(),
});
export type ServiceConfig = z.infer<typeof serviceSchema>;

export const brokerSchema = z.strictObject({
  /**
   * Redis 8 is tri-licensed (RSALv2 / SSPLv1 / AGPLv3); running it unmodified as a private broker puts no
   * obligation on the platform. For a BSD-licensed broker set `valkey/valkey:8.1-alpine`: the broker's start and
   * health commands use `valkey-server`/`valkey-cli` when the image has them, `redis-server`/`redis-cli` otherwise.
   */
  image: pinnedImage.default(DOCKER_BROKER_DEFAULTS.image),
  /** Append-only file on a protected volume: queued tasks survive a restart. Off: an in-memory broker. */
  persistence: z.boolean().default(DOCKER_BROKER_DEFAULTS.persistence),
  /** Container memory limit, in MB. */
  memoryMb: z.number().int().min(32).default(DOCKER_BROKER_DEFAULTS.memoryMb),
  /** ElastiCache settings when the tier is on an AWS target. */
  aws: awsBrokerSchema.optional(),
});
export type BrokerConfig = z.infer<typeof brokerSchema>;

export const ingestionSchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /** The Redis broker; `false` for none (then no service may declare `connections.broker`). */
  broker: z.union([brokerSchema, z.literal(false)]).default({ ...DOCKER_BROKER_DEFAULTS }),
  /** The services, by name: the name is the service's DNS alias, route name and scrape job (`ingestion-<name>`). */
  services: z.record(keyName, serviceSchema).default({}),
});
export type IngestionConfig = z.infer<typeof ingestionSchema>;

/**
 * DNS names other tiers use on the backend network (and upstream names the proxy knows). A service with one of
 * these names would make its alias ambiguous.
 */
export const RESERVED_SERVICE_NAMES = [
  STORAGE_HOST,
  // The console's upstream name.
  ...Object.keys(dockerStorageUpstreams()).filter((n) => n !== STORAGE_HOST),
  DATABASE_HOST,
  PROXY_HOST,
  BROKER_HOST,
  BASEMAP_HOST,
  TILE_CACHE_HOST,
  ...Object.values(OBSERVABILITY_SERVICES).map((s) => s.host),
];

/** What a tier's cross-tier checks see of the rest of the stack. */
export interface TierContext {
  environment: Environment;
  targets: Record<string, TargetConfig>;
  storage?: { buckets: Record<string, unknown> } | undefined;
  database?: unknown;
  proxy?: { routes: Record<string, unknown> } | undefined;
}

const serviceKey = (svc: string, ...rest: PropertyKey[]) =>
  configKey(["ingestion", "services", svc, ...rest]);

/** Cross-tier rules for `stackport:ingestion`; `resolveConfig` runs them on the whole parsed config. */
export function checkIngestion(
  cfg: TierContext & { ingestion?: IngestionConfig | undefined },
): ConfigIssue[] {
  const ingestion = cfg.ingestion;
  if (!ingestion) return [];
  const issues: ConfigIssue[] = [];
  const services = ingestion.services;
  const target = cfg.targets[ingestion.on];
  for (const [svc, service] of Object.entries(services))
    issues.push(...serviceIssues(cfg, svc, service, target));
  issues.push(...ingestionArgIssues(cfg));
  return issues;
}

function serviceIssues(
  cfg: TierContext & { ingestion?: IngestionConfig | undefined },
  svc: string,
  service: ServiceConfig,
  target: TargetConfig | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: PropertyKey[], message: string) =>
    issues.push({ key: serviceKey(svc, ...path), message });
  if (RESERVED_SERVICE_NAMES.includes(svc)) {
    add(
      [],
      `'${svc}' is the name of another tier's service on the network; reserved: ${RESERVED_SERVICE_NAMES.join(", ")}`,
    );
  }
  const { database, storage, broker } = service.connections;
  if (database && !cfg.database)
    add(["connections", "database"], "needs the database tier: stackport:database is not set");
  if (storage) {
    if (!cfg.storage) {
      add(["connections", "storage"], "needs the storage tier: stackport:storage is not set");
    } else {
      const buckets = Object.keys(cfg.storage.buckets);
      storage.forEach((bucket, i) => {
        if (!buckets.includes(bucket)) {
          add(
            ["connections", "storage", i],
            `unknown bucket '${bucket}'; stackport:storage.buckets has: ${buckets.join(", ") || "(no buckets)"}`,
          );
        }
      });
    }
  }
  if (broker && cfg.ingestion?.broker === false) {
    add(["connections", "broker"], "needs a broker, but stackport:ingestion.broker is false");
  }
  if (service.egress && target?.kind === "docker" && target.isolateBackend) {
    add(
      ["egress"],
      `target '${cfg.ingestion!.on}' has isolateBackend: true, so its backend network has no way out; set isolateBackend: false or place ingestion elsewhere`,
    );
  }
  if (service.data && target?.kind === "aws") {
    add(
      ["data"],
      "a service's own data volume is available on Docker targets only; on AWS keep its state in the database or a bucket",
    );
  }
  if (service.route) issues.push(...routeIssues(cfg, svc));
  return issues;
}

function routeIssues(cfg: TierContext, svc: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: PropertyKey[], message: string) =>
    issues.push({ key: serviceKey(svc, "route", ...path), message });
  if (!cfg.proxy) add([], "needs the proxy tier: stackport:proxy is not set");
  else if (svc in cfg.proxy.routes) {
    add(
      [],
      `the route is named after the service, and stackport:proxy.routes.${svc} already exists; rename one`,
    );
  }
  return issues;
}

const routed = (cfg: { ingestion?: IngestionConfig | undefined }) =>
  Object.entries(cfg.ingestion?.services ?? {}).filter(([, s]) => s.route && s.port !== undefined);

/**
 * Proxy routes for routed services, named after the service (`api`) and pointing at its upstream of the same name.
 * The lead merges these into the proxy's routes; `checkIngestion` refuses a clash with `stackport:proxy.routes`.
 */
export function ingestionRoutes(cfg: {
  ingestion?: IngestionConfig | undefined;
}): Record<string, RouteConfig> {
  return Object.fromEntries(routed(cfg).map(([svc, s]) => [svc, { ...s.route!, to: svc }]));
}

/** Every service with a port, by name (the proxy's upstreams; the component's own rule). */
export function ingestionUpstreams(cfg: {
  ingestion?: IngestionConfig | undefined;
}): Record<string, Upstream> {
  return serviceUpstreams(cfg.ingestion?.services ?? {});
}

/** One scrape job per service with metrics, one address per replica. */
export function ingestionScrapeTargets(cfg: { ingestion?: IngestionConfig | undefined }): ScrapeTarget[] {
  return serviceScrapeTargets(cfg.ingestion?.services ?? {});
}

/** A service's config as the component's args: `route` becomes `routed`, `aws` becomes the Fargate sizing. */
function serviceArgs(service: ServiceConfig): IngestionServiceArgs {
  return {
    image: service.image,
    ...(service.command && { command: service.command }),
    environment: service.environment,
    ...(service.port !== undefined && { port: service.port }),
    ...(service.health && { health: service.health }),
    ...(service.metrics && { metrics: service.metrics }),
    connections: service.connections,
    routed: service.route !== undefined,
  };
}

/** The tier on a Docker target, with the services this phase runs (a cutover's freeze scales writers to zero). */
export function dockerIngestionArgs(
  ingestion: IngestionConfig,
  services: string[],
  safety: StatefulSafety,
): Omit<DockerIngestionArgs, "placement"> {
  return {
    broker: ingestion.broker && {
      image: ingestion.broker.image,
      persistence: ingestion.broker.persistence,
      memoryMb: ingestion.broker.memoryMb,
    },
    services: Object.fromEntries(
      services.map((svc) => {
        const s = ingestion.services[svc]!;
        return [
          svc,
          {
            ...serviceArgs(s),
            replicas: s.replicas,
            memoryMb: s.memoryMb,
            cpus: s.cpus,
            restart: s.restart,
            egress: s.egress,
            ...(s.data && { data: s.data }),
          },
        ];
      }),
    ),
    safety,
  };
}

/** The tier on an AWS target: Fargate sizes with the environment's task counts, a failover broker in production. */
export function ecsIngestionArgs(
  ingestion: IngestionConfig,
  services: string[],
  stack: { environment: Environment; logRetentionDays: number },
): Omit<EcsIngestionArgs, "placement"> {
  const broker = ingestion.broker && (ingestion.broker.aws ?? awsBrokerSchema.parse({}));
  return {
    broker: broker && {
      nodeType: broker.nodeType,
      engineVersion: broker.engineVersion,
      failover: broker.failover ?? stack.environment === "production",
    },
    services: Object.fromEntries(
      services.map((svc) => {
        const s = ingestion.services[svc]!;
        return [svc, { ...serviceArgs(s), sizing: awsServiceSizing(s.aws, stack.environment) }];
      }),
    ),
    logRetentionDays: stack.logRetentionDays,
  };
}

/** An ingestion arg path's config key: `sizing` is a service's `aws` block, `routed` its `route`, the ECS broker `broker.aws`. */
export function ingestionKey(path: string, kind: "docker" | "aws"): string {
  const mapped = path
    .replace(/^(services\.[^.]+)\.sizing\b/, "$1.aws")
    .replace(/^(services\.[^.]+)\.routed$/, "$1.route")
    .replace(/^broker\.(?!aws\.)/, kind === "aws" ? "broker.aws." : "broker.");
  return `${CONFIG_NAMESPACE}:ingestion.${mapped}`;
}

/**
 * The services as the component of the tier's target kind checks them, named by config key. Connections are
 * offered in full here: whether their tiers exist is the stack's rule (`serviceIssues`), with clearer messages.
 */
function ingestionArgIssues(cfg: TierContext & { ingestion?: IngestionConfig | undefined }): ConfigIssue[] {
  const ingestion = cfg.ingestion;
  if (!ingestion) return [];
  const kind = cfg.targets[ingestion.on]?.kind ?? "docker";
  const services = Object.keys(ingestion.services);
  const offered = {
    database: true,
    buckets: [...new Set(Object.values(ingestion.services).flatMap((s) => s.connections.storage ?? []))],
    broker: true,
  };
  const issues =
    kind === "aws"
      ? validateEcsIngestionArgs(
          {
            ...ecsIngestionArgs(ingestion, services, { environment: cfg.environment, logRetentionDays: 30 }),
            // Routed services get a target group from the ALB; a missing proxy is the stack's rule.
            targetGroups: Object.fromEntries(services.map((svc) => [svc, true])),
          },
          offered,
        )
      : validateDockerIngestionArgs(
          dockerIngestionArgs(ingestion, services, { protect: true, retainOnDelete: true }),
          offered,
        );
  return configIssues(issues, (path) => ingestionKey(path, kind));
}
