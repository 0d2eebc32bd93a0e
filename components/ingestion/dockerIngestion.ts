import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseConnection } from "../database/contract";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import { attachNetworks, containerName, healthProbe, pullImage, statefulVolume } from "../shared/docker";
import { assertValidArgs } from "../shared/errors";
import { offeredBy } from "../shared/offered";
import { dockerLabels } from "../shared/labels";
import type { DockerPlacement } from "../shared/placement";
import type { StorageConnection } from "../storage/contract";
import type { ScrapeTarget } from "../observability/contract";
import { scheduledContainer } from "./schedule";
import { serviceEnv } from "./serviceEnv";
import {
  type AppSecretSource,
  BROKER_HOST,
  BROKER_PORT,
  DOCKER_BROKER_DEFAULTS,
  DOCKER_SERVICE_DEFAULTS,
  DOCKER_SOCKET_PATH,
  type DockerBrokerArgs,
  type DockerServiceArgs,
  GENERATED_SECRET_LENGTH,
  type IngestionServiceArgs,
  dockerPortBinding,
  ingestionScrapeTargets,
  ingestionUpstreams,
  replicaAlias,
  validateDockerIngestionArgs,
} from "./settings";
import type { Upstream } from "../proxy/contract";

export interface DockerIngestionArgs {
  /** The Docker target the containers run on (`DockerTarget.placement`). */
  placement: DockerPlacement;
  /** The broker, or `false` for none (then no service may declare `connections.broker`). @default a persistent Redis 8 */
  broker?: DockerBrokerArgs | false;
  /**
   * Services by name (the name is their DNS alias on the backend network). A change of image, command, environment
   * or networks replaces a service's containers.
   * @default {}
   * @example { api: { image: "ghcr.io/example/api:1.4.2", port: 8000, routed: true, connections: { database: "app_writer" } } }
   */
  services?: Record<string, DockerServiceArgs>;
  /** The database, for services that declare `connections.database`. @default none */
  database?: DatabaseConnection | undefined;
  /**
   * Object storage shared by every service that declares `connections.storage` and has no `serviceStorage` entry.
   * Prefer `serviceStorage`: one credential for all services lets each reach every other's buckets.
   * @default none
   */
  storage?: StorageConnection | undefined;
  /**
   * Each service's own storage connection, by service name — e.g. `storage.connectionFor("api")` of a
   * `DockerObjectStorage` whose `consumers` grant that service its buckets. A service listed here gets these
   * credentials instead of `storage`'s, and every bucket in its `connections.storage` must be in the entry.
   * @default {}
   * @example { api: storage.connectionFor("api") }
   */
  serviceStorage?: Record<string, StorageConnection>;
  /**
   * The tier's application secrets by name, for the services' `secrets` (variable → secret name): a stack secret
   * (`{ value }`, kept a Pulumi secret) or a random value generated once and kept in state (`{ generate }`), shared by
   * every service that names it. Every generated secret is created, used or not: a value that came and went with its
   * last user would be a new value when it comes back. A change of value replaces the containers that use it.
   * @default {}
   * @example { "jwt-signing-key": { generate: { length: 64 } }, "oauth-client-secret": { value: config.requireSecret("oauth") } }
   */
  secrets?: Record<string, AppSecretSource>;
  /**
   * Named volumes services share through `mounts: [{ volume, path }]` (`<stack>-ingestion-shared-<name>`). They hold
   * data: protected by `safety` like every data volume.
   * @default {}
   * @example { uploads: {} }
   */
  volumes?: Record<string, Record<string, never>>;
  /** `protect` / `retainOnDelete` of the data volumes (the broker's, each service's `data`, the shared `volumes`). @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** Per-child escape hatches. @default none */
  transform?: {
    brokerVolume?: Transform<docker.VolumeArgs>;
    /** By service name: the `data` volume of that service. */
    serviceData?: Record<string, Transform<docker.VolumeArgs>>;
    /** By volume name: the shared `volumes`. */
    volumes?: Record<string, Transform<docker.VolumeArgs>>;
    broker?: Transform<docker.ContainerArgs>;
    /** By service name; applied to every replica of that service. */
    services?: Record<string, Transform<docker.ContainerArgs>>;
  };
}

/** The broker's password variable, read by its start and health commands (never written into the command). */
const BROKER_PASSWORD_ENV = "BROKER_PASSWORD";

/**
 * The broker's start command. Re-enters the image's entrypoint with the server name first, so the entrypoint still
 * drops root privileges (it only does that for `redis-server`/`valkey-server`). The password is neither in the
 * container's command nor in the server's arguments, which the Docker host's `ps` shows to every user: the
 * server reads it as configuration on stdin. Redis and Valkey read stdin only when `-` is their first or last
 * argument (redis `src/server.c`, `main`), and the entrypoints append to what they are given: Redis 8's appends
 * `--loadmodule <file>` for every module it ships (redis/docker-library-redis `alpine/docker-entrypoint.sh`),
 * Valkey's appends `$VALKEY_EXTRA_FLAGS`. So `-` goes first. The password is alphanumeric: no quoting needed.
 */
export function brokerStartScript(broker: { persistence: boolean; memoryMb: number }): string {
  // Redis refuses writes at maxmemory instead of being OOM-killed by Docker; noeviction: never drop queued tasks.
  const maxMemoryMb = Math.floor(broker.memoryMb * 0.8);
  const persistence = broker.persistence ? "--appendonly yes" : "--appendonly no --save ''";
  return [
    "server=redis-server",
    "if command -v valkey-server >/dev/null 2>&1; then server=valkey-server; fi",
    `exec docker-entrypoint.sh "$server" - ${persistence} --maxmemory ${maxMemoryMb}mb --maxmemory-policy noeviction <<EOF`,
    `requirepass $${BROKER_PASSWORD_ENV}`,
    "EOF",
  ].join("\n");
}

/** The broker's health command: an authenticated PING, the password in `REDISCLI_AUTH` (valkey-cli reads it too). */
export const BROKER_HEALTH_SCRIPT = [
  "cli=redis-cli",
  "if command -v valkey-cli >/dev/null 2>&1; then cli=valkey-cli; fi",
  `REDISCLI_AUTH="$${BROKER_PASSWORD_ENV}" "$cli" ping | grep -q PONG`,
].join("\n");

/** Docker healthcheck test for a service: the explicit command, or a wget of its HTTP health path. */
export function serviceHealthTest(
  service: Pick<IngestionServiceArgs, "health" | "port">,
): string[] | undefined {
  const health = service.health;
  if (!health) return undefined;
  if (health.command) return health.command;
  // Assumes wget in the image (busybox/Alpine, most Debian images); images without it set health.command.
  return [
    "CMD-SHELL",
    `wget -qO /dev/null http://127.0.0.1:${health.port ?? service.port}${health.path} || exit 1`,
  ];
}

/** The label that carries a service's reviewed Docker socket exemption (its reason). */
export const DOCKER_SOCKET_REASON_LABEL = "stackport.docker-socket-reason";

/** Every secret's value as a Pulumi secret: the stack secret given, or the generated password's result. */
function secretValues(
  sources: Record<string, AppSecretSource>,
  generated: Record<string, random.RandomPassword>,
): Record<string, pulumi.Output<string>> {
  return Object.fromEntries(
    Object.entries(sources).map(([n, s]) => [
      n,
      pulumi.secret(s.value !== undefined ? pulumi.output(s.value) : generated[n]!.result),
    ]),
  );
}

/**
 * A service's `mounts` and socket as Docker volumes: host paths always read-only, shared volumes read-write unless
 * `readOnly`, the socket (when exempted) read-write, as the tools that need it (Portainer) manage containers.
 */
function serviceMounts(
  service: DockerServiceArgs,
  volumes: Record<string, docker.Volume>,
): docker.types.input.ContainerVolume[] {
  const mounts: docker.types.input.ContainerVolume[] = (service.mounts ?? []).map((m) =>
    "hostPath" in m && m.hostPath !== undefined
      ? { hostPath: m.hostPath, containerPath: m.path, readOnly: true }
      : {
          volumeName: volumes[(m as { volume: string }).volume]!.name,
          containerPath: m.path,
          readOnly: (m as { readOnly?: boolean }).readOnly ?? false,
        },
  );
  if (service.dockerSocket)
    mounts.push({ hostPath: DOCKER_SOCKET_PATH, containerPath: DOCKER_SOCKET_PATH, readOnly: false });
  return mounts;
}

/** Where a service is reachable on the backend network. */
export interface ServiceAddress {
  /** The alias every replica answers to (Docker DNS round-robin). */
  host: string;
  port?: number;
  /** One alias per replica (`api-1`, `api-2`), e.g. for scraping each replica. */
  replicas: string[];
}

/**
 * The ingestion tier on Docker: a Redis broker (password from `@pulumi/random`, data on a protected volume when
 * persistent) and every configured service as `replicas` containers. Each service gets only the connections it
 * declares; routed services also join the edge network, everything else stays on the backend network.
 * @example
 * const ingestion = new DockerIngestion("ingestion", {
 *   placement: target.placement,
 *   services: {
 *     api: { image: "ghcr.io/example/api:1.4.2", port: 8000, connections: { database: "app_writer", broker: true } },
 *     worker: { image: "ghcr.io/example/api:1.4.2", command: ["celery", "worker"], connections: { broker: true } },
 *   },
 *   database: database.connection,
 * });
 */
export class DockerIngestion extends pulumi.ComponentResource {
  /** By service name. */
  readonly addresses: Record<string, ServiceAddress>;
  /** Where Prometheus scrapes the services that declare `metrics`: every replica. */
  readonly scrapeTargets: ScrapeTarget[];
  /** What a proxy can route to (`DockerProxyArgs.upstreams`): every service with a port, by name. */
  readonly upstreams: Record<string, Upstream>;
  /** `redis://:<password>@broker:6379/0` (secret); undefined when the broker is disabled. */
  readonly brokerUrl?: pulumi.Output<string>;
  readonly nodes: {
    broker?: {
      image: docker.RemoteImage;
      password: random.RandomPassword;
      volume?: docker.Volume;
      container: docker.Container;
    };
    /** By service name. */
    images: Record<string, docker.RemoteImage>;
    /** By service name, replica 1 first. */
    containers: Record<string, docker.Container[]>;
    /** By service name, for the services with `data`. */
    dataVolumes: Record<string, docker.Volume>;
    /** The shared `volumes`, by name. */
    volumes: Record<string, docker.Volume>;
    /** The generated application secrets, by name. */
    secrets: Record<string, random.RandomPassword>;
  };

  constructor(name: string, args: DockerIngestionArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): a declared connection that was not given fails before anything is registered.
    assertValidArgs(
      `stackport:docker:Ingestion '${name}'`,
      validateDockerIngestionArgs(args, offeredBy(args), args.serviceStorage),
    );
    const appSecrets = args.secrets ?? {};
    const d = DOCKER_SERVICE_DEFAULTS;
    const config = {
      broker: args.broker === false ? (false as const) : { ...DOCKER_BROKER_DEFAULTS, ...args.broker },
      services: Object.fromEntries(
        Object.entries(args.services ?? {}).map(([svc, s]) => [
          svc,
          {
            ...s,
            environment: s.environment ?? {},
            connections: s.connections ?? {},
            routed: s.routed ?? false,
            replicas: s.replicas ?? d.replicas,
            memoryMb: s.memoryMb ?? d.memoryMb,
            cpus: s.cpus ?? d.cpus,
            restart: s.restart ?? d.restart,
            egress: s.egress ?? d.egress,
          },
        ]),
      ),
      safety: args.safety ?? { protect: true, retainOnDelete: true },
      ...(args.volumes && Object.keys(args.volumes).length > 0 && { volumes: args.volumes }),
      // Where each secret comes from, never its value: the component's inputs are in the plan.
      ...(Object.keys(appSecrets).length > 0 && {
        secrets: Object.fromEntries(
          Object.entries(appSecrets).map(([n, s]) => [
            n,
            s.value !== undefined ? "stack secret" : "generated",
          ]),
        ),
      }),
    };
    super("stackport:docker:Ingestion", name, config, opts);
    const { placement, transform } = args;
    const provider = placement.provider;
    this.scrapeTargets = ingestionScrapeTargets(config.services);
    this.upstreams = ingestionUpstreams(config.services);

    const broker =
      config.broker === false ? undefined : this.broker(name, config.broker, config.safety, args);
    const brokerUrl =
      broker &&
      pulumi.secret(pulumi.interpolate`redis://:${broker.password.result}@${BROKER_HOST}:${BROKER_PORT}/0`);

    const secrets = this.appSecrets(name, appSecrets);
    const volumes = Object.fromEntries(
      Object.keys(args.volumes ?? {})
        .sort()
        .map((vol) => [
          vol,
          statefulVolume(`${name}-shared-${vol}`, this, {
            placement,
            safety: config.safety,
            tier: "ingestion",
            parts: ["ingestion", "shared", vol],
            role: "shared",
            transform: transform?.volumes?.[vol],
          }),
        ]),
    );

    const images: Record<string, docker.RemoteImage> = {};
    const containers: Record<string, docker.Container[]> = {};
    const addresses: Record<string, ServiceAddress> = {};
    const dataVolumes: Record<string, docker.Volume> = {};
    for (const svc of Object.keys(config.services).sort()) {
      const service = config.services[svc]!;
      const image = pullImage(`${name}-${svc}-image`, service.image, this, placement);
      let dataMount: docker.types.input.ContainerVolume[] = [];
      if (service.data) {
        const data = statefulVolume(`${name}-${svc}-data`, this, {
          placement,
          safety: config.safety,
          tier: "ingestion",
          parts: ["ingestion", svc],
          role: "service",
          transform: transform?.serviceData?.[svc],
        });
        dataVolumes[svc] = data;
        dataMount = [{ volumeName: data.name, containerPath: service.data.path }];
      }
      const mounts = [...dataMount, ...serviceMounts(service, volumes)];
      const storage = args.serviceStorage?.[svc] ?? args.storage;
      const envs = serviceEnv(svc, service, {
        database: args.database,
        storage,
        brokerUrl,
        secrets: secretValues(appSecrets, secrets),
      });
      const ports = (service.ports ?? []).map(dockerPortBinding);
      const health = serviceHealthTest(service);
      const dependsOn = service.connections.broker && broker ? [broker.container] : [];
      const replicas = Array.from({ length: service.replicas }, (_, i) => i + 1);
      containers[svc] = replicas.map((n) => {
        const [containerArgs, containerOpts] = transformed<docker.ContainerArgs>(
          transform?.services?.[svc],
          {
            name: containerName("ingestion", svc, String(n)),
            image: image.imageId,
            // A scheduled service is a job: the schedule runner is its entrypoint, its command the job (schedule.ts).
            ...(service.schedule !== undefined
              ? scheduledContainer(service.schedule, service.command!)
              : service.command && { command: service.command }),
            envs,
            ...(mounts.length > 0 && { volumes: mounts }),
            ...(ports.length > 0 && { ports }),
            // Only routed services are on the edge network; egress works from the backend network (not internal
            // unless the target sets isolateBackend, which the config check refuses for egress services).
            networksAdvanced: attachNetworks(placement, svc, { edge: service.routed }).map((net) => ({
              ...net,
              aliases: [...net.aliases, replicaAlias(svc, n)],
            })),
            ...(health && {
              healthcheck: { tests: health, interval: "15s", timeout: "5s", retries: 4, startPeriod: "20s" },
              wait: true,
              waitTimeout: 120,
            }),
            restart: service.restart,
            memory: service.memoryMb,
            cpus: String(service.cpus),
            labels: dockerLabels("ingestion", {
              "stackport.role": "service",
              "stackport.service": svc,
              "stackport.replica": String(n),
              "stackport.egress": String(service.egress),
              // The reviewed exemption the docker-no-socket-mount policy and the sign-off report read.
              ...(service.dockerSocket && { [DOCKER_SOCKET_REASON_LABEL]: service.dockerSocket.reason }),
              // A job, not a server: `docker ps --filter label=stackport.schedule` lists them; the plan shows it.
              ...(service.schedule !== undefined && { "stackport.schedule": service.schedule }),
            }),
          },
          { parent: this, provider, dependsOn },
        );
        return new docker.Container(`${name}-${svc}-${n}`, containerArgs, containerOpts);
      });
      images[svc] = image;
      addresses[svc] = {
        host: svc,
        ...(service.port !== undefined && { port: service.port }),
        replicas: replicas.map((n) => replicaAlias(svc, n)),
      };
    }

    this.addresses = addresses;
    if (brokerUrl) this.brokerUrl = brokerUrl;
    this.nodes = { ...(broker && { broker }), images, containers, dataVolumes, volumes, secrets };
    this.registerOutputs({
      addresses,
      broker: broker ? { host: BROKER_HOST, port: BROKER_PORT } : undefined,
    });
  }

  /** One random password per generated secret, alphanumeric (it may end up in a URL or a header unescaped). */
  private appSecrets(name: string, secrets: Record<string, AppSecretSource>) {
    return Object.fromEntries(
      Object.entries(secrets)
        .filter(([, s]) => s.generate !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([n, s]) => [
          n,
          new random.RandomPassword(
            `${name}-secret-${n}`,
            { length: s.generate!.length ?? GENERATED_SECRET_LENGTH.default, special: false },
            { parent: this },
          ),
        ]),
    );
  }

  private broker(
    name: string,
    broker: Required<DockerBrokerArgs>,
    safety: StatefulSafety,
    args: DockerIngestionArgs,
  ) {
    const { placement, transform } = args;
    const provider = placement.provider;
    const image = pullImage(`${name}-broker-image`, broker.image, this, placement);
    // Alphanumeric: it goes into a redis:// URL unescaped.
    const password = new random.RandomPassword(
      `${name}-broker-password`,
      { length: 40, special: false },
      { parent: this },
    );

    let volume: docker.Volume | undefined;
    if (broker.persistence) {
      volume = statefulVolume(`${name}-broker-data`, this, {
        placement,
        safety,
        tier: "ingestion",
        parts: ["ingestion", "broker"],
        role: "broker",
        transform: transform?.brokerVolume,
      });
    }

    const [containerArgs, containerOpts] = transformed<docker.ContainerArgs>(
      transform?.broker,
      {
        name: containerName("ingestion", "broker"),
        image: image.imageId,
        command: ["sh", "-c", brokerStartScript(broker)],
        envs: [pulumi.secret(pulumi.interpolate`${BROKER_PASSWORD_ENV}=${password.result}`)],
        ...(volume && { volumes: [{ volumeName: volume.name, containerPath: "/data" }] }),
        networksAdvanced: attachNetworks(placement, BROKER_HOST),
        healthcheck: healthProbe(["CMD-SHELL", BROKER_HEALTH_SCRIPT], { startPeriod: "5s" }),
        wait: true,
        waitTimeout: 60,
        restart: "unless-stopped",
        // Time to write the append-only file on shutdown.
        stopTimeout: 30,
        memory: broker.memoryMb,
        labels: dockerLabels("ingestion", { "stackport.role": "broker" }),
      },
      { parent: this, provider },
    );
    const container = new docker.Container(`${name}-broker`, containerArgs, containerOpts);
    return { image, password, ...(volume && { volume }), container };
  }
}
