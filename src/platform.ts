/**
 * Places each tier on its target and wires tiers together through their connection contracts. This is the only
 * file that knows which backend class serves which tier on which kind of target. AWS classes are required lazily:
 * a stack without an AWS target never loads `@pulumi/aws`.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- AWS backends are required lazily so Docker-only stacks never load @pulumi/aws */
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedConfig } from "./config";
import { type AwsTargetConfig, awsTargetArgs, dockerTargetArgs } from "./config/tiers/targets";
import { upstreamCatalog } from "./config/upstreams";
import { dockerStorageArgs, s3StorageArgs } from "./config/tiers/storage";
import { dockerDatabaseArgs, rdsDatabaseArgs } from "./config/tiers/database";
import { albProxyArgs, dockerProxyArgs } from "./config/tiers/proxy";
import { dockerIngestionArgs, ecsIngestionArgs } from "./config/tiers/ingestion";
import { dockerBasemapArgs, ecsBasemapArgs } from "./config/tiers/basemap";
import { dockerObservabilityArgs } from "./config/tiers/observability";
import { frozenServices, maintenanceRoutes, tierComponentName, tierPlacements } from "./config/cutover";
import { databaseCopyJob, objectMirrorJob, type StorageSide } from "./cutoverJobs";
import { basemapScrapeTargets } from "./config/tiers/basemap";
import { ingestionScrapeTargets } from "./config/tiers/ingestion";
import { DockerTarget } from "../components/targets/docker";
import type { AwsPlacement, DockerPlacement } from "../components/shared/placement";
import type { ScrapeTarget } from "../components/observability/contract";
import type { DatabaseConnection } from "../components/database/contract";
import type { StorageConnection } from "../components/storage/contract";
import type { ProxyEndpoint } from "../components/proxy/contract";
import { DockerObjectStorage } from "../components/storage/dockerObjectStorage";
import { dockerStorageScrapeTargets } from "../components/storage/settings";
import { DockerDatabase } from "../components/database/dockerDatabase";
import { DATABASE_HOST, DATABASE_PORT, SUPERUSER } from "../components/database/settings";
import { DockerProxy } from "../components/proxy/dockerProxy";
import { PROXY_METRICS_PORT } from "../components/proxy/settings";
import { DockerIngestion } from "../components/ingestion/dockerIngestion";
import { DockerBasemap } from "../components/basemap/dockerBasemap";
import { DockerObservability } from "../components/observability/dockerObservability";
import { DockerBackups } from "../components/backups/dockerBackups";

type Placement = { kind: "docker"; placement: DockerPlacement } | { kind: "aws"; placement: AwsPlacement };

/** The tiers as built, each exposing its contract; `resources` are the component instances (for dependsOn). */
export interface Platform {
  targets: Record<string, pulumi.ComponentResource>;
  storage?: { connection: StorageConnection; resource: pulumi.ComponentResource };
  database?: { connection: DatabaseConnection; resource: pulumi.ComponentResource };
  proxy?: {
    endpoint: ProxyEndpoint;
    apiKeys: Record<string, pulumi.Output<string>>;
    resource: pulumi.ComponentResource;
  };
  extraOutputs: Record<string, unknown>;
}

const present = <T>(xs: (T | undefined | false)[]): T[] => xs.filter((x): x is T => Boolean(x));

export function createPlatform(cfg: ResolvedConfig): Platform {
  const targets: Record<string, pulumi.ComponentResource> = {};
  const placements: Record<string, Placement> = {};
  const logRetentionDays =
    cfg.observability?.aws.logRetentionDays ?? (cfg.environment === "production" ? 90 : 30);
  // Only targets that carry a tier are created: a declared but unused target costs nothing.
  const placeOn = (name: string): Placement => {
    const existing = placements[name];
    if (existing) return existing;
    const config = cfg.targets[name]!;
    if (config.kind === "docker") {
      const target = new DockerTarget(name, dockerTargetArgs(config));
      targets[name] = target;
      return (placements[name] = { kind: "docker", placement: target.placement });
    }
    const { AwsTarget } = require("../components/targets/aws") as typeof import("../components/targets/aws");
    const target = new AwsTarget(name, awsTargetArgs(config, cfg.environment, logRetentionDays));
    targets[name] = target;
    return (placements[name] = { kind: "aws", placement: target.placement });
  };
  const extraOutputs: Record<string, unknown> = {};

  const tiersAt = tierPlacements(cfg);

  // --- storage: on its target, and on the destination too while a cutover is in progress
  let storage: Platform["storage"];
  let s3AccessLogsBucket: pulumi.Output<string> | undefined;
  if (cfg.storage) {
    const tierConfig = cfg.storage;
    const placement = tiersAt.storage!;
    const sides: Record<string, StorageSide> = {};
    for (const target of placement.targets) {
      const name = tierComponentName("storage", tierConfig.on, target);
      const opts = primaryOptions("storage", tierConfig.on, target);
      const where = placeOn(target);
      let built: NonNullable<Platform["storage"]>;
      if (where.kind === "docker") {
        const s = new DockerObjectStorage(
          name,
          { ...dockerStorageArgs(tierConfig, cfg.safety), placement: where.placement },
          opts,
        );
        built = { connection: s.connection, resource: s };
        sides[target] = { ...built, kind: "docker", placement: where.placement };
      } else {
        const { S3Storage } =
          require("../components/storage/s3Storage") as typeof import("../components/storage/s3Storage");
        const s = new S3Storage(
          name,
          { ...s3StorageArgs(tierConfig, cfg.safety), placement: where.placement },
          opts,
        );
        built = { connection: s.connection, resource: s };
        sides[target] = { ...built, kind: "aws", placement: where.placement, bucketArns: s.bucketArns };
        if (target === placement.serving) s3AccessLogsBucket = s.accessLogsBucket;
      }
      if (target === placement.serving) storage = built;
    }
    const cutover = cfg.cutover?.storage;
    if (cutover && (placement.mirror || placement.copy === "final")) {
      const mirror = objectMirrorJob(placement.mirror ? "continuous" : "final", tierConfig, cutover, sides);
      if (mirror.verified) extraOutputs["storageCutoverVerified"] = mirror.verified;
    }
  }

  // --- database (+ backups beside it on Docker), likewise on both sides during a cutover
  let database: Platform["database"];
  let dockerDatabase: DockerDatabase | undefined;
  let rdsMetrics: import("../components/observability/contract").DatabaseAlarmInputs | undefined;
  if (cfg.database) {
    const tierConfig = cfg.database;
    const placement = tiersAt.database!;
    const sides: Record<string, DatabaseConnection> = {};
    const built: pulumi.Resource[] = [];
    for (const target of placement.targets) {
      const name = tierComponentName("database", tierConfig.on, target);
      const opts = primaryOptions("database", tierConfig.on, target);
      const where = placeOn(target);
      if (where.kind === "docker") {
        const db = new DockerDatabase(
          name,
          {
            ...dockerDatabaseArgs(tierConfig, cfg.safety, { runMigrations: target === placement.serving }),
            placement: where.placement,
          },
          opts,
        );
        sides[target] = db.connection;
        built.push(db);
        if (target === placement.serving) {
          dockerDatabase = db;
          database = { connection: db.connection, resource: db };
          if (cfg.backups) {
            new DockerBackups("backups", {
              ...cfg.backups,
              placement: where.placement,
              safety: cfg.safety,
              database: {
                name: tierConfig.name,
                host: DATABASE_HOST,
                port: DATABASE_PORT,
                user: SUPERUSER,
                password: db.nodes.superuserPassword.result,
                dependsOn: [db.nodes.bootstrap],
              },
              ...(storage && { storage: storage.connection, storageDependsOn: [storage.resource] }),
            });
          }
        }
      } else {
        const { RdsDatabase } =
          require("../components/database/rdsDatabase") as typeof import("../components/database/rdsDatabase");
        const awsTarget = cfg.targets[target] as AwsTargetConfig;
        const rds = new RdsDatabase(
          name,
          {
            ...rdsDatabaseArgs(tierConfig, {
              environment: cfg.environment,
              safety: cfg.safety,
              logRetentionDays,
              ...(awsTarget.assumeRoleArn && { assumeRoleArn: awsTarget.assumeRoleArn }),
            }),
            placement: where.placement,
          },
          opts,
        );
        sides[target] = rds.connection;
        built.push(rds);
        if (target === placement.serving) {
          database = { connection: rds.connection, resource: rds };
          rdsMetrics = rds.metrics;
        }
      }
    }
    const cutover = cfg.cutover?.database;
    if (cutover && placement.copy !== "none") {
      databaseCopyJob(placement.copy, tierConfig.name, cutover, sides, built);
    }
  }
  const dataTiers = present([storage?.resource, database?.resource]);

  // --- proxy on AWS comes first: ECS services attach to its target groups.
  const catalog = upstreamCatalog(cfg);
  let albTargetGroups: Record<string, import("../components/proxy/albProxy").ProxyTargetGroup> | undefined;
  let proxy: Platform["proxy"];
  const proxyWhere = cfg.proxy && placeOn(cfg.proxy.on);
  if (cfg.proxy && proxyWhere?.kind === "aws") {
    const { AlbProxy } =
      require("../components/proxy/albProxy") as typeof import("../components/proxy/albProxy");
    const alb = new AlbProxy("proxy", {
      ...albProxyArgs(cfg.proxy, {
        environment: cfg.environment,
        upstreams: catalog,
        ...(s3AccessLogsBucket && { accessLogsBucket: s3AccessLogsBucket }),
      }),
      placement: proxyWhere.placement,
    });
    albTargetGroups = alb.targetGroups;
    proxy = { endpoint: alb.endpoint, apiKeys: {}, resource: alb };
  }

  // --- ingestion and basemap
  const alarmSpecs: import("../components/observability/contract").AlarmSpec[] = [];
  const appTiers: pulumi.ComponentResource[] = [];
  // Writers of a tier frozen for a cutover are scaled to zero (not built); their routes answer "maintenance".
  const frozen = new Set(frozenServices(cfg));
  const runningServices = Object.keys(cfg.ingestion?.services ?? {}).filter((svc) => !frozen.has(svc));
  if (cfg.ingestion) {
    const where = placeOn(cfg.ingestion.on);
    if (where.kind === "docker") {
      appTiers.push(
        new DockerIngestion(
          "ingestion",
          {
            ...dockerIngestionArgs(cfg.ingestion, runningServices, cfg.safety),
            placement: where.placement,
            database: database?.connection,
            storage: storage?.connection,
          },
          { dependsOn: dataTiers },
        ),
      );
    } else {
      const { EcsIngestion } =
        require("../components/ingestion/ecsIngestion") as typeof import("../components/ingestion/ecsIngestion");
      const ecs = new EcsIngestion(
        "ingestion",
        {
          ...ecsIngestionArgs(cfg.ingestion, runningServices, {
            environment: cfg.environment,
            logRetentionDays,
          }),
          placement: where.placement,
          ...(database && { database: database.connection }),
          ...(storage && { storage: storage.connection }),
          ...(albTargetGroups && { targetGroups: albTargetGroups }),
        },
        { dependsOn: present([...dataTiers, proxy?.resource]) },
      );
      alarmSpecs.push(...ecs.alarmSpecs);
      appTiers.push(ecs);
    }
  }
  if (cfg.basemap) {
    const where = placeOn(cfg.basemap.on);
    if (where.kind === "docker") {
      appTiers.push(
        new DockerBasemap(
          "basemap",
          {
            ...dockerBasemapArgs(cfg.basemap),
            placement: where.placement,
            database: database?.connection,
            storage: storage?.connection,
            dependsOn: dockerDatabase ? [dockerDatabase.nodes.bootstrap] : [],
          },
          { dependsOn: present([storage?.resource]) },
        ),
      );
    } else {
      const { EcsBasemap } =
        require("../components/basemap/ecsBasemap") as typeof import("../components/basemap/ecsBasemap");
      const tg = albTargetGroups?.["basemap"];
      const ecs = new EcsBasemap(
        "basemap",
        {
          ...ecsBasemapArgs(cfg.basemap, { environment: cfg.environment, logRetentionDays }),
          placement: where.placement,
          ...(database && { database: database.connection }),
          ...(storage && { storage: storage.connection }),
          ...(tg && { targetGroup: tg }),
        },
        { dependsOn: present([...dataTiers, proxy?.resource]) },
      );
      alarmSpecs.push(...ecs.alarmSpecs);
      appTiers.push(ecs);
    }
  }

  // --- proxy on Docker comes last: it routes to the tiers above.
  if (cfg.proxy && proxyWhere?.kind === "docker") {
    const caddy = new DockerProxy(
      "proxy",
      {
        ...dockerProxyArgs(cfg.proxy, {
          upstreams: catalog,
          maintenanceRoutes: maintenanceRoutes(cfg),
          safety: cfg.safety,
        }),
        placement: proxyWhere.placement,
      },
      { dependsOn: [...dataTiers, ...appTiers] },
    );
    proxy = { endpoint: caddy.endpoint, apiKeys: caddy.apiKeys, resource: caddy };
  }

  // --- observability
  if (cfg.observability) {
    const where = placeOn(cfg.observability.on);
    if (where.kind === "docker") {
      const obs = new DockerObservability("observability", {
        ...dockerObservabilityArgs(cfg.observability, {
          safety: cfg.safety,
          targets: dockerScrapeTargets(cfg, cfg.observability.on),
          routed: Object.values(cfg.proxy?.routes ?? {}).some((r) => r.to === "grafana"),
        }),
        placement: where.placement,
      });
      extraOutputs["grafanaAdminPassword"] = obs.grafanaAdminPassword;
      extraOutputs["prometheusUrl"] = obs.prometheusUrl;
    } else {
      const { CloudWatchObservability } =
        require("../components/observability/cloudwatch") as typeof import("../components/observability/cloudwatch");
      const cw = new CloudWatchObservability("observability", {
        ...cfg.observability.aws,
        placement: where.placement,
        ...(rdsMetrics && { database: rdsMetrics }),
        extraAlarms: alarmSpecs,
      });
      extraOutputs["alarmTopicArn"] = cw.topicArn;
    }
  }

  return { targets, storage, database, proxy, extraOutputs };
}

/**
 * The tier's own component keeps its plain name and carries an alias from `<tier>-<target>`: the name a cutover's
 * destination side had. Ending a cutover (`on: <to>`, no `cutover`) is then a rename, not a replacement.
 */
function primaryOptions(tier: string, on: string, target: string): pulumi.ComponentResourceOptions {
  return target === on ? { aliases: [{ name: `${tier}-${on}` }] } : {};
}

/** What Prometheus on a Docker target scrapes: the tiers placed on that same target (its backend network). */
export function dockerScrapeTargets(cfg: ResolvedConfig, target: string): ScrapeTarget[] {
  const onTarget = (t?: { on: string }) => t?.on === target;
  return [
    ...(onTarget(cfg.storage) ? dockerStorageScrapeTargets() : []),
    ...(onTarget(cfg.proxy)
      ? [{ job: "proxy", tier: "proxy", addresses: [`proxy:${PROXY_METRICS_PORT}`], metricsPath: "/metrics" }]
      : []),
    ...(onTarget(cfg.ingestion) ? ingestionScrapeTargets(cfg) : []),
    ...(onTarget(cfg.basemap) ? basemapScrapeTargets(cfg) : []),
  ];
}

/** What `pulumi stack output` shows. Credentials are secrets; `pulumi stack output --show-secrets` reveals them. */
export function platformOutputs(cfg: ResolvedConfig, platform: Platform): Record<string, unknown> {
  const { storage, database, proxy } = platform;
  return {
    environment: cfg.environment,
    ...(storage && {
      storage: {
        endpoint: storage.connection.endpoint,
        buckets: storage.connection.buckets,
        accessKeyId: storage.connection.accessKeyId,
        secretAccessKey: storage.connection.secretAccessKey,
      },
    }),
    ...(database && {
      database: Object.fromEntries(
        Object.entries(database.connection.roles).map(([role, c]) => [role, { url: pulumi.secret(c.url) }]),
      ),
    }),
    ...(proxy && {
      urls: proxy.endpoint.urls,
      basicAuthPasswords: proxy.endpoint.basicAuthPasswords,
      ...(Object.keys(proxy.apiKeys).length > 0 && { apiKeys: proxy.apiKeys }),
    }),
    ...platform.extraOutputs,
  };
}
