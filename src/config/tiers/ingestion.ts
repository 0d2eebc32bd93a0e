/**
 * `stackport:ingestion` — the services that bring data in (an API, Celery workers and beat, APScheduler runners…)
 * and their Redis broker. Pure: the schema, the cross-tier checks `resolveConfig` runs, and what the tier tells the
 * proxy (routes, upstreams) and observability (scrape targets). Nothing here registers resources.
 *
 * Each service receives only the connections it declares (`connections`), so least privilege is visible in the
 * stack file: a worker that never touches storage gets no storage credentials.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { DockerIngestionArgs } from "../../../components/ingestion/dockerIngestion";
import type { EcsIngestionArgs } from "../../../components/ingestion/ecsIngestion";
import {
  type AppSecretSource,
  BROKER_HOST,
  CONNECTION_ENV,
  type DockerServiceArgs,
  type EcsServiceArgs,
  GENERATED_SECRET_LENGTH,
  type IngestionServiceArgs,
  SERVICE_DATABASE_ROLES,
  type ServiceDatabase,
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
import { type Environment, cidr, keyName, pinnedImage } from "../schema";
import { type RouteConfig, routeSchema } from "./proxy";
import type { TargetConfig } from "./targets";
import { awsBrokerSchema, awsServiceSchema, awsServiceSizing } from "./awsServices";

const port = z.number().int().min(1).max(65535);

/** The proxy's route options, minus `to`: a service's route always goes to the service itself. */
export const serviceRouteSchema = routeSchema.omit({ to: true });

/**
 * `app_writer`/`app_reader`, or `{ name, role }`: the writer or reader of an extra database (its owner only runs its
 * migrations). The role name is checked in a transform (not z.enum) so the message can say why db_admin is refused.
 */
const serviceDatabase = z
  .union([
    z.string(),
    z.strictObject({
      /** A key of `stackport:database.databases`. */
      name: keyName,
      /** `writer` (read and write) or `reader` (read only). */
      role: z.enum(["writer", "reader"]),
    }),
  ])
  .transform((db, ctx): ServiceDatabase => {
    if (typeof db === "object") return { database: db.name, role: db.role };
    if ((SERVICE_DATABASE_ROLES as readonly string[]).includes(db)) return db as ServiceDatabaseRole;
    ctx.addIssue({
      code: "custom",
      message:
        db === "db_admin"
          ? "db_admin is the migrations role and is never given to a service; use app_writer or app_reader (migrations run as stackport:database.migrations)"
          : `must be one of ${SERVICE_DATABASE_ROLES.join(", ")}, or { name: <a key of stackport:database.databases>, role: writer | reader }`,
    });
    return z.NEVER;
  });

/** Names that look like credentials: those come from `secrets` or connections (Pulumi secrets), never plain config. */
const SECRET_LOOKING = /PASSWORD|SECRET|TOKEN|KEY/i;

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an upper-case environment variable name");

const environmentSchema = z.record(envName, z.string()).superRefine((env, ctx) => {
  for (const name of Object.keys(env)) {
    // Names the connections set are refused by the component (validateServices).
    if (!CONNECTION_ENV.test(name) && SECRET_LOOKING.test(name)) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `looks like a secret; plain config is stored in clear text. Map it in the service's secrets instead (secrets: { ${name}: <name> }), from a stack secret (pulumi config set --secret --path 'stackport:secrets.<name>' <value>) or a generated one (stackport:ingestion.generatedSecrets.<name>); credentials of the database, storage and broker come from connections`,
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

/** Where a published port binds on a Docker host: `loopback`, `all` interfaces, or a name of the target's `addresses`. */
export const BIND_LOOPBACK = "loopback";
export const BIND_ALL = "all";

const publishedPortSchema = z.strictObject({
  /** The port the service listens on in its container. */
  port,
  /** `tcp` or `udp`. @default `tcp` */
  protocol: z.enum(["tcp", "udp"]).optional(),
  /** The port clients connect to: the host port on Docker, the listener port on AWS. @default `port` */
  publishedPort: port.optional(),
  /**
   * Docker: the host address it binds to — `loopback` (127.0.0.1), a name of the target's `addresses` (one LAN
   * address, e.g. `lan`), or `all` (every interface: refused by the policy pack unless the stack's policy config lists
   * the port as a reviewed exception). @default `loopback`
   */
  bind: z.string().optional(),
  /** AWS (required there): the IPv4 CIDRs the Network Load Balancer listener accepts, like the proxy's allowFrom. */
  allowFrom: z.array(cidr).min(1).optional(),
});

/** Checked by the component (`validateDockerIngestionArgs`): absolute paths without `..`, volumes that exist. */
const mountSchema = z.union([
  z.strictObject({
    /** Absolute path on the Docker host; always mounted read-only (a config file, a certificate). */
    hostPath: z.string(),
    /** Absolute path in the container. */
    path: z.string(),
  }),
  z.strictObject({
    /** A name of `stackport:ingestion.volumes`: a named volume shared with other services. */
    volume: keyName,
    /** Absolute path in the container. */
    path: z.string(),
    /** Mount it read-only. @default false */
    readOnly: z.boolean().optional(),
  }),
]);

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
  /**
   * Containers `<name>-1 … <name>-N` (Docker; on AWS the task counts are in `aws`). Docker-only, like `memoryMb`,
   * `cpus`, `restart`, `egress`, `mounts` and `dockerSocket`: refused on an AWS target, where it would do nothing.
   * @default 1
   */
  replicas: z.number().int().min(1).max(20).optional(),
  /** Container memory limit, in MB (Docker). @default 512 */
  memoryMb: z.number().int().min(32).optional(),
  /** CPU limit, in cores (Docker). @default 0.5 */
  cpus: z.number().positive().max(64).optional(),
  /** Docker restart policy. @default `unless-stopped` */
  restart: z.enum(["no", "on-failure", "always", "unless-stopped"]).optional(),
  /**
   * The service needs the internet (APIs it polls, webhooks it calls). Refused on targets with `isolateBackend`,
   * whose backend network has no route out. Services never join the edge network for egress: only routed ones do.
   * Docker only. @default false
   */
  egress: z.boolean().optional(),
  /**
   * Environment variables from application secrets: variable → a name of `stackport:secrets` (stack secrets) or of
   * `stackport:ingestion.generatedSecrets`. The value reaches the container as a Pulumi secret (Secrets Manager on
   * AWS), never in the plan, a command line or a label; changing it replaces the containers that use it.
   * @example { JWT_SECRET: jwt-signing-key }
   */
  secrets: z.record(envName, keyName).optional(),
  /**
   * Ports published outside the backend network (MQTT, Kafka…; HTTP goes through the proxy). Docker: bound to one
   * host address (`bind`), one replica. AWS: a Network Load Balancer listener open to `allowFrom`.
   * @example [{ port: 1883, bind: lan }]
   */
  ports: z.array(publishedPortSchema).optional(),
  /**
   * Docker: host paths mounted read-only, and named volumes of `stackport:ingestion.volumes` shared with other
   * services.
   * @example [{ hostPath: /srv/emqx/acl.conf, path: /opt/emqx/etc/acl.conf }, { volume: uploads, path: /data/uploads }]
   */
  mounts: z.array(mountSchema).optional(),
  /**
   * Docker: mount the Docker socket (root on the host), for a tool that manages containers (Portainer). A reviewed
   * exemption: the reason is labelled on the container, shown in the plan and in the sign-off report, and is what
   * lets the `docker-no-socket-mount` policy accept it.
   */
  dockerSocket: z
    .strictObject({
      /** Why, and who reviewed it. */
      reason: z.string().min(10, "must say why the socket is needed and who reviewed it"),
    })
    .optional(),
  /**
   * Run the service as a job on a schedule instead of always on, on both backends: `rate(15 minutes)` or
   * `cron(0 3 * * ? *)` (EventBridge syntax, UTC).
   */
  schedule: z.string().optional(),
  /** What the service may reach; it receives the credentials for these and nothing else. */
  connections: z
    .strictObject({
      /**
       * Whose `DATABASE_URL` (a secret) the service gets: `app_writer` or `app_reader` of the application database
       * (`db_admin` is refused), or `{ name, role }` for the writer or reader of an extra database
       * (`stackport:database.databases`), e.g. `{ name: events, role: writer }`.
       */
      database: serviceDatabase.optional(),
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
   * volume. Needs `replicas: 1` (two containers writing one directory corrupt it). On AWS: an encrypted EFS file
   * system with an access point for the service, backed up, and one task.
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
  /** Fargate sizing and autoscaling when the tier is on an AWS target (docs/aws-services.md); refused on Docker. */
  aws: awsServiceSchema.optional(),
});
export type ServiceConfig = z.infer<typeof serviceSchema>;

export const brokerSchema = z.strictObject({
  /**
   * Redis 8 is tri-licensed (RSALv2 / SSPLv1 / AGPLv3); running it unmodified as a private broker puts no
   * obligation on the platform. For a BSD-licensed broker set `valkey/valkey:8.1-alpine`: the broker's start and
   * health commands use `valkey-server`/`valkey-cli` when the image has them, `redis-server`/`redis-cli` otherwise.
   */
  image: pinnedImage.optional(),
  /**
   * Append-only file on a protected volume: queued tasks survive a restart. Off: an in-memory broker. Docker only,
   * like `image` and `memoryMb`. @default true
   */
  persistence: z.boolean().optional(),
  /** Container memory limit, in MB. @default 256 */
  memoryMb: z.number().int().min(32).optional(),
  /** ElastiCache settings when the tier is on an AWS target; refused on Docker. */
  aws: awsBrokerSchema.optional(),
});
export type BrokerConfig = z.infer<typeof brokerSchema>;

export const ingestionSchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /** The Redis broker; `false` for none (then no service may declare `connections.broker`). */
  broker: z.union([brokerSchema, z.literal(false)]).default({}),
  /** The services, by name: the name is the service's DNS alias, route name and scrape job (`ingestion-<name>`). */
  services: z.record(keyName, serviceSchema).default({}),
  /**
   * Secrets generated once and kept in the stack's state (`@pulumi/random`, alphanumeric), by name, for the services'
   * `secrets`; several services may share one (a JWT signing key). A name no service uses is refused.
   * @example { jwt-signing-key: { length: 64 } }
   */
  generatedSecrets: z
    .record(
      keyName,
      z.strictObject({
        /** Characters. @default 48 */
        length: z.number().int().min(GENERATED_SECRET_LENGTH.min).max(GENERATED_SECRET_LENGTH.max).optional(),
      }),
    )
    .default({}),
  /**
   * Docker: named volumes services share (`mounts: [{ volume: <name>, path }]`), `<stack>-ingestion-shared-<name>`,
   * protected outside `local` like every data volume. A name no service mounts is refused.
   * @example { uploads: {} }
   */
  volumes: z.record(keyName, z.strictObject({})).default({}),
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
  database?: { databases?: Record<string, unknown> | undefined } | undefined;
  proxy?: { routes: Record<string, unknown> } | undefined;
  /** `stackport:secrets`: the stack secrets, by name. */
  secrets?: Record<string, string> | undefined;
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
  issues.push(
    ...noEffectIssues(ingestion, target),
    ...secretIssues(cfg, ingestion),
    ...volumeIssues(ingestion),
  );
  // A key the stack's rules refused (an unknown bind address or secret) is not reported again by the component's.
  const reported = new Set(issues.map((i) => i.key));
  issues.push(...ingestionArgIssues(cfg).filter((i) => !reported.has(i.key)));
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
  else if (typeof database === "object") {
    const known = Object.keys(cfg.database?.databases ?? {});
    if (!known.includes(database.database))
      add(
        ["connections", "database", "name"],
        `unknown database '${database.database}'; stackport:database.databases has: ${known.join(", ") || "(none)"}`,
      );
  }
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
  if (target?.kind === "docker") {
    if (service.egress && target.isolateBackend) {
      add(
        ["egress"],
        `target '${cfg.ingestion!.on}' has isolateBackend: true, so its backend network has no way out; set isolateBackend: false or place ingestion elsewhere`,
      );
    }
    // Docker publishes no port of a container whose only network is internal.
    if (service.ports?.length && target.isolateBackend && !service.route) {
      add(
        ["ports"],
        `target '${cfg.ingestion!.on}' has isolateBackend: true, and Docker publishes no port of a container on an internal network only; set isolateBackend: false`,
      );
    }
    const addresses = target.addresses ?? {};
    service.ports?.forEach((p, i) => {
      const bind = p.bind;
      if (bind === undefined || bind === BIND_LOOPBACK || bind === BIND_ALL || bind in addresses) return;
      const names = [BIND_LOOPBACK, ...Object.keys(addresses).sort(), BIND_ALL];
      add(
        ["ports", i, "bind"],
        `'${bind}' is not an address of target '${cfg.ingestion!.on}'; allowed: ${names.join(", ")} (name LAN addresses in stackport:targets.${cfg.ingestion!.on}.addresses)`,
      );
    });
  }
  if (service.route) issues.push(...routeIssues(cfg, svc));
  return issues;
}

/** Keys a Docker target ignores, and keys an AWS target ignores: refused with their key rather than dropped. */
const DOCKER_ONLY_SERVICE_KEYS = [
  "replicas",
  "memoryMb",
  "cpus",
  "restart",
  "egress",
  "mounts",
  "dockerSocket",
] as const;
const DOCKER_ONLY_BROKER_KEYS = ["image", "persistence", "memoryMb"] as const;

/**
 * A key that does nothing on the target the tier is placed on is refused with its key: a setting silently dropped
 * is a plan that does not do what its stack file says (an `aws.schedule` on Docker once ran a job always on).
 */
function noEffectIssues(ingestion: IngestionConfig, target: TargetConfig | undefined): ConfigIssue[] {
  if (target?.kind !== "aws" && target?.kind !== "docker") return [];
  const issues: ConfigIssue[] = [];
  const on = `target '${ingestion.on}' is ${target.kind === "aws" ? "AWS" : "Docker"}`;
  const refuse = (path: PropertyKey[], what: string) =>
    issues.push({
      key: configKey(["ingestion", ...path]),
      message: `has no effect here: ${on}, and ${what}; remove it`,
    });
  const broker = ingestion.broker === false ? undefined : ingestion.broker;
  if (target.kind === "aws") {
    for (const [svc, s] of Object.entries(ingestion.services)) {
      for (const key of DOCKER_ONLY_SERVICE_KEYS)
        if (s[key] !== undefined)
          refuse(["services", svc, key], `${key} is a Docker setting (Fargate sizing is in aws)`);
      s.ports?.forEach((p, i) => {
        if (p.bind !== undefined)
          refuse(
            ["services", svc, "ports", i, "bind"],
            "a Network Load Balancer listener is restricted by allowFrom",
          );
      });
    }
    for (const key of DOCKER_ONLY_BROKER_KEYS)
      if (broker?.[key] !== undefined)
        refuse(["broker", key], `the broker is ElastiCache (its settings are in broker.aws)`);
    if (Object.keys(ingestion.volumes).length > 0)
      refuse(["volumes"], "shared named volumes are Docker volumes (a service's own data is on EFS)");
  } else {
    for (const [svc, s] of Object.entries(ingestion.services)) {
      if (s.aws !== undefined) refuse(["services", svc, "aws"], "the aws block sizes Fargate tasks");
      s.ports?.forEach((p, i) => {
        if (p.allowFrom !== undefined)
          refuse(
            ["services", svc, "ports", i, "allowFrom"],
            "a published port binds to one host address (bind); restrict clients with the host's firewall",
          );
      });
    }
    if (broker?.aws !== undefined) refuse(["broker", "aws"], "the aws block configures ElastiCache");
  }
  return issues;
}

/** Every secret a service names exists in exactly one map; every secret is used; stack secrets are secrets. */
function secretIssues(cfg: TierContext, ingestion: IngestionConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const stack = cfg.secrets ?? {};
  const generated = ingestion.generatedSecrets;
  const used = new Set<string>();
  for (const name of Object.keys(generated)) {
    if (name in stack)
      issues.push({
        key: configKey(["ingestion", "generatedSecrets", name]),
        message: `'${name}' is also a stack secret (stackport:secrets.${name}); a secret comes from one place, rename one`,
      });
  }
  for (const [svc, s] of Object.entries(ingestion.services)) {
    for (const [env, name] of Object.entries(s.secrets ?? {})) {
      used.add(name);
      if (name in stack || name in generated) continue;
      const known = [...Object.keys(stack), ...Object.keys(generated)].sort().join(", ") || "(none)";
      issues.push({
        key: serviceKey(svc, "secrets", env),
        message: `unknown secret '${name}'; set it with pulumi config set --secret --path 'stackport:secrets.${name}' <value>, or generate it in stackport:ingestion.generatedSecrets.${name} (known: ${known})`,
      });
    }
  }
  for (const name of Object.keys(generated)) {
    if (!used.has(name))
      issues.push({
        key: configKey(["ingestion", "generatedSecrets", name]),
        message: "no service uses it (services.<name>.secrets); remove it or map it to a variable",
      });
  }
  return issues;
}

function volumeIssues(ingestion: IngestionConfig): ConfigIssue[] {
  const mounted = new Set(
    Object.values(ingestion.services).flatMap((s) =>
      (s.mounts ?? []).flatMap((m) => ("volume" in m ? [m.volume] : [])),
    ),
  );
  return Object.keys(ingestion.volumes)
    .filter((v) => !mounted.has(v))
    .map((v) => ({
      key: configKey(["ingestion", "volumes", v]),
      message: "no service mounts it (services.<name>.mounts: [{ volume, path }]); remove it",
    }));
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

/**
 * The tier as the program places it: its config, plus what it takes from the rest of the stack — the stack secrets
 * its services name (values, which the args turn into Pulumi secrets) and the named addresses of its target.
 */
export interface ResolvedIngestion extends IngestionConfig {
  /** The stack secrets (`stackport:secrets`) the services name, by name. @default {} */
  stackSecrets?: Record<string, string>;
  /** The target's named host addresses (`stackport:targets.<on>.addresses`); empty on AWS. @default {} */
  addresses?: Record<string, string>;
}

export function resolveIngestion(
  ingestion: IngestionConfig,
  cfg: { secrets?: Record<string, string> | undefined; targets: Record<string, TargetConfig> },
): ResolvedIngestion {
  const named = new Set(Object.values(ingestion.services).flatMap((s) => Object.values(s.secrets ?? {})));
  const target = cfg.targets[ingestion.on];
  return {
    ...ingestion,
    stackSecrets: Object.fromEntries(Object.entries(cfg.secrets ?? {}).filter(([n]) => named.has(n))),
    addresses: target?.kind === "docker" ? { ...target.addresses } : {},
  };
}

/** The host address of a Docker published port's `bind`. */
export function bindAddress(bind: string | undefined, addresses: Record<string, string>): string {
  if (bind === undefined || bind === BIND_LOOPBACK) return "127.0.0.1";
  if (bind === BIND_ALL) return "0.0.0.0";
  return addresses[bind] ?? bind;
}

/**
 * The tier's application secrets as component args: each stack secret a service names, as a Pulumi secret (config
 * hands it over as a plain string), and every generated one.
 */
function appSecrets(ingestion: ResolvedIngestion): Record<string, AppSecretSource> {
  return {
    ...Object.fromEntries(
      Object.entries(ingestion.stackSecrets ?? {}).map(([n, v]) => [n, { value: pulumi.secret(v) }]),
    ),
    ...Object.fromEntries(
      Object.entries(ingestion.generatedSecrets).map(([n, g]) => [
        n,
        { generate: { ...(g.length !== undefined && { length: g.length }) } },
      ]),
    ),
  };
}

/** A service's config as the component's args: `route` becomes `routed`, `aws` becomes the Fargate sizing. */
function serviceArgs(service: ServiceConfig): Omit<IngestionServiceArgs, "ports"> {
  return {
    image: service.image,
    ...(service.command && { command: service.command }),
    environment: service.environment,
    ...(service.port !== undefined && { port: service.port }),
    ...(service.health && { health: service.health }),
    ...(service.metrics && { metrics: service.metrics }),
    connections: service.connections,
    routed: service.route !== undefined,
    ...(service.secrets && { secrets: service.secrets }),
    ...(service.schedule !== undefined && { schedule: service.schedule }),
  };
}

/** Keeps the keys that are set: the components apply their own defaults to the rest. */
const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };

function dockerServiceArgs(s: ServiceConfig, addresses: Record<string, string>): DockerServiceArgs {
  return {
    ...serviceArgs(s),
    ...defined({
      replicas: s.replicas,
      memoryMb: s.memoryMb,
      cpus: s.cpus,
      restart: s.restart,
      egress: s.egress,
    }),
    ...(s.data && { data: s.data }),
    ...(s.ports && {
      ports: s.ports.map((p) => ({
        port: p.port,
        ...defined({ protocol: p.protocol, publishedPort: p.publishedPort }),
        hostIp: bindAddress(p.bind, addresses),
      })),
    }),
    ...(s.mounts && { mounts: s.mounts }),
    ...(s.dockerSocket && { dockerSocket: s.dockerSocket }),
  };
}

/** The tier on a Docker target, with the services this phase runs (a cutover's freeze scales writers to zero). */
export function dockerIngestionArgs(
  ingestion: ResolvedIngestion,
  services: string[],
  safety: StatefulSafety,
): Omit<DockerIngestionArgs, "placement"> {
  const secrets = appSecrets(ingestion);
  return {
    broker:
      ingestion.broker &&
      defined({
        image: ingestion.broker.image,
        persistence: ingestion.broker.persistence,
        memoryMb: ingestion.broker.memoryMb,
      }),
    services: Object.fromEntries(
      services.map((svc) => [svc, dockerServiceArgs(ingestion.services[svc]!, ingestion.addresses ?? {})]),
    ),
    ...(Object.keys(secrets).length > 0 && { secrets }),
    ...(Object.keys(ingestion.volumes).length > 0 && {
      volumes: Object.fromEntries(Object.keys(ingestion.volumes).map((v) => [v, {}])),
    }),
    safety,
  };
}

/** The tier on an AWS target: Fargate sizes with the environment's task counts, a failover broker in production. */
export function ecsIngestionArgs(
  ingestion: ResolvedIngestion,
  services: string[],
  stack: { environment: Environment; logRetentionDays: number; safety: StatefulSafety },
): Omit<EcsIngestionArgs, "placement"> {
  const broker = ingestion.broker && (ingestion.broker.aws ?? awsBrokerSchema.parse({}));
  const secrets = appSecrets(ingestion);
  return {
    broker: broker && {
      nodeType: broker.nodeType,
      engineVersion: broker.engineVersion,
      failover: broker.failover ?? stack.environment === "production",
    },
    services: Object.fromEntries(
      services.map((svc) => {
        const s = ingestion.services[svc]!;
        const service: EcsServiceArgs = {
          ...serviceArgs(s),
          sizing: awsServiceSizing(s.aws, stack.environment, {
            scheduled: s.schedule !== undefined,
            single: s.data !== undefined,
          }),
          ...(s.data && { data: s.data }),
          ...(s.ports && {
            ports: s.ports.map((p) => ({
              port: p.port,
              ...defined({ protocol: p.protocol, publishedPort: p.publishedPort }),
              allowFrom: p.allowFrom ?? [],
            })),
          }),
        };
        return [svc, service];
      }),
    ),
    ...(Object.keys(secrets).length > 0 && { secrets }),
    logRetentionDays: stack.logRetentionDays,
    safety: stack.safety,
  };
}

/**
 * An ingestion arg path's config key: `sizing` is a service's `aws` block, `routed` its `route`, a port's `hostIp`
 * its `bind`, the ECS broker `broker.aws`, a secret the map it comes from (`stackport:secrets` or `generatedSecrets`).
 */
export function ingestionKey(path: string, kind: "docker" | "aws", stackSecrets: string[] = []): string {
  const secret = /^secrets\.([^.[]+)(.*)$/.exec(path);
  if (secret) {
    const [, name, rest] = secret;
    return stackSecrets.includes(name!)
      ? `${CONFIG_NAMESPACE}:secrets.${name}`
      : `${CONFIG_NAMESPACE}:ingestion.generatedSecrets.${name}${rest!.replace(/^\.generate/, "")}`;
  }
  const mapped = path
    .replace(/^(services\.[^.]+)\.sizing\b/, "$1.aws")
    .replace(/^(services\.[^.]+)\.routed$/, "$1.route")
    .replace(/^(services\.[^.]+\.ports\[\d+\])\.hostIp$/, "$1.bind")
    .replace(/^broker\.(?!aws\.)/, kind === "aws" ? "broker.aws." : "broker.");
  return `${CONFIG_NAMESPACE}:ingestion.${mapped}`;
}

/**
 * The services as the component of the tier's target kind checks them, named by config key. Connections are
 * offered in full here: whether their tiers exist is the stack's rule (`serviceIssues`), with clearer messages.
 */
function ingestionArgIssues(cfg: TierContext & { ingestion?: IngestionConfig | undefined }): ConfigIssue[] {
  const config = cfg.ingestion;
  if (!config) return [];
  const ingestion = resolveIngestion(config, cfg);
  const kind = cfg.targets[ingestion.on]?.kind === "aws" ? "aws" : "docker";
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
            ...ecsIngestionArgs(ingestion, services, {
              environment: cfg.environment,
              logRetentionDays: 30,
              safety: { protect: true, retainOnDelete: true },
            }),
            // Routed services get a target group from the ALB; a missing proxy is the stack's rule.
            targetGroups: Object.fromEntries(services.map((svc) => [svc, true])),
          },
          offered,
        )
      : validateDockerIngestionArgs(
          dockerIngestionArgs(ingestion, services, { protect: true, retainOnDelete: true }),
          offered,
        );
  return configIssues(issues, (path) => ingestionKey(path, kind, Object.keys(ingestion.stackSecrets ?? {})));
}

/** Host bindings of the published ports on a Docker target, by config key (for the stack's port-clash check). */
export function ingestionBindings(
  ingestion: IngestionConfig,
  target: TargetConfig | undefined,
): { key: string; address: string; port: number; protocol: string }[] {
  if (target?.kind !== "docker") return [];
  const addresses = target.addresses ?? {};
  return Object.entries(ingestion.services).flatMap(([svc, s]) =>
    (s.ports ?? []).map((p, i) => ({
      key: serviceKey(svc, "ports", i),
      address: bindAddress(p.bind, addresses),
      port: p.publishedPort ?? p.port,
      protocol: p.protocol ?? "tcp",
    })),
  );
}
