/** The observability tier: Prometheus, Grafana and Loki on Docker; CloudWatch alarms and a dashboard on AWS. */
import type { AlarmSpec, DatabaseAlarmInputs, ScrapeTarget } from "../../components/observability/contract";
import { DockerObservability } from "../../components/observability/dockerObservability";
import { backupsScrapeTargets } from "../../components/backups/settings";
import { PROXY_HOST, PROXY_METRICS_PORT } from "../../components/proxy/settings";
import { STORAGE_METRICS_TOKEN, dockerStorageScrapeTargets } from "../../components/storage/settings";
import type * as pulumi from "@pulumi/pulumi";
import type { ResolvedConfig } from "../config";
import { basemapScrapeTargets } from "../config/tiers/basemap";
import { ingestionScrapeTargets } from "../config/tiers/ingestion";
import { dockerObservabilityArgs, postgresExporterPlaced } from "../config/tiers/observability";
import type { RoleConnection } from "../../components/database/contract";
import { type BuildContext, type ByKind, awsComponents, onKind } from "./context";

/** What observability watches besides the scrape targets: the RDS instance and the alarms other tiers ask for. */
export interface Watched {
  database?: DatabaseAlarmInputs | undefined;
  alarms: AlarmSpec[];
  /** By Docker target: the token for the metrics of the MinIO there (`DockerObjectStorage.metricsToken`). */
  storageMetricsTokens: Record<string, pulumi.Output<string>>;
  /** The database's `monitoring` login (Docker): the PostgreSQL exporter's, when it runs. */
  postgresMonitoring?: RoleConnection | undefined;
}

const OBSERVABILITY: ByKind<[BuildContext, Watched], void> = {
  docker: (where, { cfg, extraOutputs }, watched) => {
    const observability = cfg.observability!;
    const targets = dockerScrapeTargets(cfg, observability.on);
    const token = watched.storageMetricsTokens[observability.on];
    const scraped = targets.some((t) => t.bearerToken === STORAGE_METRICS_TOKEN);
    if (scraped && !token)
      throw new Error(`internal: no MinIO metrics token on target '${observability.on}'`);
    const obs = new DockerObservability("observability", {
      ...dockerObservabilityArgs(observability, {
        safety: cfg.safety,
        targets,
        routed: Object.values(cfg.proxy?.routes ?? {}).some((r) => r.to === "grafana"),
        ...(postgresExporterPlaced(cfg) && { postgresMonitoring: watched.postgresMonitoring }),
      }),
      ...(scraped && { scrapeSecrets: { [STORAGE_METRICS_TOKEN]: token! } }),
      placement: where.placement,
    });
    extraOutputs["grafanaAdminPassword"] = obs.grafanaAdminPassword;
    extraOutputs["prometheusUrl"] = obs.prometheusUrl;
  },
  aws: (where, { cfg, extraOutputs }, watched) => {
    const cw = new (awsComponents().CloudWatchObservability)("observability", {
      ...cfg.observability!.aws,
      placement: where.placement,
      ...(watched.database && { database: watched.database }),
      extraAlarms: watched.alarms,
    });
    extraOutputs["alarmTopicArn"] = cw.topicArn;
  },
};

export function buildObservability(ctx: BuildContext, watched: Watched): void {
  const observability = ctx.cfg.observability;
  if (observability) onKind(OBSERVABILITY, ctx.placeOn(observability.on), ctx, watched);
}

/** What Prometheus on a Docker target scrapes: the tiers placed on that same target (its backend network). */
export function dockerScrapeTargets(cfg: ResolvedConfig, target: string): ScrapeTarget[] {
  const onTarget = (t?: { on: string }) => t?.on === target;
  return [
    ...(onTarget(cfg.storage) ? dockerStorageScrapeTargets() : []),
    ...(onTarget(cfg.proxy)
      ? [
          {
            job: "proxy",
            tier: "proxy",
            addresses: [`${PROXY_HOST}:${PROXY_METRICS_PORT}`],
            metricsPath: "/metrics",
          },
        ]
      : []),
    ...(onTarget(cfg.ingestion) ? ingestionScrapeTargets(cfg) : []),
    ...(onTarget(cfg.basemap) ? basemapScrapeTargets(cfg) : []),
    // The backups run next to the database (same target, same backend network).
    ...(cfg.backups && onTarget(cfg.database) ? backupsScrapeTargets() : []),
  ];
}
