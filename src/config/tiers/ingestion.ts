/**
 * `stackport:ingestion` — the services that bring data in (an API, Celery workers and beat, APScheduler runners…)
 * and their Redis broker. Pure: the schema, the cross-tier checks `resolveConfig` runs, and what the tier tells the
 * proxy (routes, upstreams) and observability (scrape targets). Nothing here registers resources.
 *
 * Each service receives only the connections it declares (`connections`), so least privilege is visible in the
 * stack file: a worker that never touches storage gets no storage credentials.
 */
import { z } from "zod";
import type { ScrapeTarget } from "../../../components/observability/contract";
import type { ConfigIssue } from "../errors";
import { configKey } from "../keys";
import { keyName, pinnedImage } from "../schema";
import { type RouteConfig, routeSchema } from "./proxy";
import type { TargetConfig } from "./targets";
import type { Upstream } from "../upstreams";
import { awsBrokerSchema, awsServiceSchema } from "./awsServices";

const port = z.number().int().min(1).max(65535);

/** The proxy's route options, minus `to`: a service's route always goes to the service itself. */
export const serviceRouteSchema = routeSchema.omit({ to: true });

/** The database roles a service may be given. `db_admin` is the migrations role and never a service's. */
export const SERVICE_DATABASE_ROLES = ["app_writer", "app_reader"] as const;
export type ServiceDatabaseRole = (typeof SERVICE_DATABASE_ROLES)[number];

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

/** Variables the connections set; a service may not set them itself (they would shadow the real credentials). */
export const CONNECTION_ENV = /^(DATABASE_URL|BROKER_URL|STORAGE_.*)$/;
/** Names that look like credentials: those come from connections (Pulumi secrets), never from plain config. */
const SECRET_LOOKING = /PASSWORD|SECRET|TOKEN|KEY/i;

const environmentSchema = z
  .record(
    z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an upper-case environment variable name"),
    z.string(),
  )
  .superRefine((env, ctx) => {
    for (const name of Object.keys(env)) {
      if (CONNECTION_ENV.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: `${name} is set by the service's connections (stackport:ingestion.services.<name>.connections); remove it here`,
        });
      } else if (SECRET_LOOKING.test(name)) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message:
            "looks like a secret; plain config is stored in clear text. Secrets come from connections (database, storage, broker), which pass generated credentials as Pulumi secrets",
        });
      }
    }
  });

const healthSchema = z
  .strictObject({
    /** HTTP path that answers 2xx when the service is healthy, e.g. `/health`. */
    path: z
      .string()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, "must start with / and contain only URL path characters")
      .optional(),
    /** Port of the health endpoint. @default the service's `port` */
    port: port.optional(),
    /**
     * The Docker healthcheck test, replacing the default
     * `["CMD-SHELL", "wget -qO /dev/null http://127.0.0.1:<port><path> || exit 1"]` — which assumes the image has a
     * `wget` (busybox/Alpine and Debian images with wget do; slim Python images do not: use e.g.
     * `["CMD", "python", "-c", "…"]` there).
     */
    command: z
      .array(z.string().min(1))
      .min(2)
      .refine((c) => c[0] === "CMD" || c[0] === "CMD-SHELL", 'must start with "CMD" or "CMD-SHELL"')
      .optional(),
  })
  .refine((h) => h.path !== undefined || h.command !== undefined, "needs a 'path' or a 'command'");

export const serviceSchema = z.strictObject({
  image: pinnedImage,
  /** Overrides the image's CMD. */
  command: z.array(z.string()).min(1).optional(),
  /** Plain, non-secret settings. Credentials come from `connections`. */
  environment: environmentSchema.default({}),
  /** Port the service listens on (HTTP for routed services). Needed by `route` and, by default, `health`. */
  port: port.optional(),
  health: healthSchema.optional(),
  /** Prometheus metrics endpoint, scraped on every replica. May be the service port. */
  metrics: z
    .strictObject({
      port,
      path: z
        .string()
        .regex(/^\/[A-Za-z0-9._~/-]*$/, "must start with / and contain only URL path characters")
        .default("/metrics"),
    })
    .optional(),
  replicas: z.number().int().min(1).max(20).default(1),
  memoryMb: z.number().int().min(32).default(512),
  cpus: z.number().positive().max(64).default(0.5),
  restart: z.enum(["no", "on-failure", "always", "unless-stopped"]).default("unless-stopped"),
  /**
   * The service needs the internet (APIs it polls, webhooks it calls). Refused on targets with `isolateBackend`,
   * whose backend network has no route out. Services never join the edge network for egress: only routed ones do.
   */
  egress: z.boolean().default(false),
  /** What the service may reach; it receives the credentials for these and nothing else. */
  connections: z
    .strictObject({
      /** Database role whose `DATABASE_URL` the service gets. */
      database: serviceDatabaseRole.optional(),
      /** Buckets (keys of `stackport:storage.buckets`) the service gets `STORAGE_BUCKET_<NAME>` and credentials for. */
      storage: z.array(keyName).min(1).optional(),
      /** `BROKER_URL` (Redis, with password). */
      broker: z.boolean().default(false),
    })
    .default({ broker: false }),
  /** Publish the service through the proxy; the route name is the service name. */
  route: serviceRouteSchema.optional(),
  /**
   * A directory of the service's own that outlives its container (a status page's SQLite file, a job's state), on
   * Docker: a named volume mounted at `path`, protected outside `local` like every data volume. Needs `replicas: 1`
   * (two containers writing one directory corrupt it). Not on AWS: keep such state in the database or a bucket.
   */
  data: z
    .strictObject({
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
  image: pinnedImage.default("redis:8.2-alpine"),
  /** Append-only file on a protected volume: queued tasks survive a restart. Off: an in-memory broker. */
  persistence: z.boolean().default(true),
  memoryMb: z.number().int().min(32).default(256),
  /** ElastiCache settings when the tier is on an AWS target. */
  aws: awsBrokerSchema.optional(),
});
export type BrokerConfig = z.infer<typeof brokerSchema>;

export const ingestionSchema = z.strictObject({
  on: keyName,
  /** The Redis broker; `false` for none (then no service may declare `connections.broker`). */
  broker: z.union([brokerSchema, z.literal(false)]).default({
    image: "redis:8.2-alpine",
    persistence: true,
    memoryMb: 256,
  }),
  services: z.record(keyName, serviceSchema).default({}),
});
export type IngestionConfig = z.infer<typeof ingestionSchema>;

/** The broker's DNS name and port on the backend network. */
export const BROKER_HOST = "broker";
export const BROKER_PORT = 6379;

/**
 * DNS names other tiers use on the backend network (and upstream names the proxy knows). A service with one of
 * these names would make its alias ambiguous.
 */
export const RESERVED_SERVICE_NAMES = [
  "storage",
  "storage-console",
  "database",
  "proxy",
  BROKER_HOST,
  "basemap",
  // The basemap's disk tile cache (TILE_CACHE_HOST; basemap.ts imports this module, so not imported here).
  "basemap-cache",
  // The observability tier's hosts.
  "prometheus",
  "grafana",
  "loki",
  "alloy",
];

/** What the ingestion checks read from the rest of the stack config (structural: any parsed config fits). */
export interface TierContext {
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
  for (const [svc, service] of Object.entries(services)) {
    issues.push(...serviceIssues(cfg, svc, service, target));
    // `api-2` as a service name would shadow replica 2 of `api` (its alias `api-2`).
    const replicaOf = /^(.+)-(\d+)$/.exec(svc);
    const owner = replicaOf && services[replicaOf[1]!];
    if (owner && Number(replicaOf[2]) <= owner.replicas) {
      issues.push({
        key: serviceKey(svc),
        message: `'${svc}' is the DNS alias of replica ${replicaOf[2]} of service '${replicaOf[1]}'; choose another name`,
      });
    }
  }
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
  if (service.health && !service.health.command && (service.health.port ?? service.port) === undefined) {
    add(["health", "port"], "is required when the service has no 'port' (or give health.command)");
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
            `unknown bucket '${bucket}'; stackport:storage.buckets has: ${buckets.join(", ")}`,
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
  if (service.data && service.replicas > 1) {
    add(
      ["data"],
      `needs replicas: 1 (it has ${service.replicas}): replicas would write one directory at once; keep shared state in the database or a bucket`,
    );
  }
  if (service.data && target?.kind === "aws") {
    add(
      ["data"],
      "a service's own data volume is available on Docker targets only; on AWS keep its state in the database or a bucket",
    );
  }
  if (service.route) issues.push(...routeIssues(cfg, svc, service));
  return issues;
}

function routeIssues(cfg: TierContext, svc: string, service: ServiceConfig): ConfigIssue[] {
  const route = service.route!;
  const issues: ConfigIssue[] = [];
  const add = (path: PropertyKey[], message: string) =>
    issues.push({ key: serviceKey(svc, "route", ...path), message });
  if (service.port === undefined)
    add([], "a routed service needs 'port' (stackport:ingestion.services." + svc + ".port)");
  if (!cfg.proxy) add([], "needs the proxy tier: stackport:proxy is not set");
  else if (svc in cfg.proxy.routes) {
    add(
      [],
      `the route is named after the service, and stackport:proxy.routes.${svc} already exists; rename one`,
    );
  }
  if (route.stripPrefix && !route.path) add(["stripPrefix"], "needs a 'path' to strip");
  if (route.path && route.path.replace(/\/+$/, "") === "/healthz") {
    add(["path"], "/healthz is the proxy's own health endpoint; choose another path");
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

/** The address of a service's health endpoint, when it is an HTTP path on the service port (the proxy checks it). */
function proxyHealthPath(service: ServiceConfig): string | undefined {
  const h = service.health;
  return h?.path !== undefined && (h.port ?? service.port) === service.port ? h.path : undefined;
}

/** Every service with a port, by name: host is the alias all its replicas share (Docker DNS round-robins). */
export function ingestionUpstreams(cfg: {
  ingestion?: IngestionConfig | undefined;
}): Record<string, Upstream> {
  const out: Record<string, Upstream> = {};
  for (const [svc, s] of Object.entries(cfg.ingestion?.services ?? {})) {
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

/** The per-replica alias (`api-2`), so Prometheus scrapes every replica rather than a round-robin of them. */
export const replicaAlias = (svc: string, replica: number) => `${svc}-${replica}`;

/** One scrape job per service with metrics (`ingestion-<svc>`), one address per replica. */
export function ingestionScrapeTargets(cfg: { ingestion?: IngestionConfig | undefined }): ScrapeTarget[] {
  return Object.entries(cfg.ingestion?.services ?? {})
    .filter(([, s]) => s.metrics)
    .map(([svc, s]) => ({
      job: `ingestion-${svc}`,
      tier: "ingestion",
      addresses: Array.from(
        { length: s.replicas },
        (_, i) => `${replicaAlias(svc, i + 1)}:${s.metrics!.port}`,
      ),
      metricsPath: s.metrics!.path,
    }));
}
