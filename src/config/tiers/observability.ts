/**
 * `stackport:observability` — Prometheus (scrapes + alert rules), Grafana (provisioned) and, unless `logs: false`,
 * Loki + Grafana Alloy collecting the stack's container logs. The prose version is `docs/observability.md`.
 */
import { z } from "zod";
import type { DockerObservabilityArgs } from "../../../components/observability/dockerObservability";
import {
  ALERT_DEFAULTS,
  DOCKER_OBSERVABILITY_DEFAULTS,
  OBSERVABILITY_IMAGES,
  OBSERVABILITY_MEMORY_MB,
  OBSERVABILITY_MIN_MEMORY_MB,
  OBSERVABILITY_SERVICES,
} from "../../../components/observability/settings";
import {
  POSTGRES_EXPORTER,
  POSTGRES_EXPORTER_IMAGE,
  type PostgresMonitoringConnection,
} from "../../../components/observability/postgresExporter";
import { POSTGRES_ALERT_DEFAULTS } from "../../../components/observability/postgresAlerts";
import type { ConfigIssue } from "../errors";
import { configKey } from "../keys";
import {
  type Environment,
  type PublishConfig,
  type Published,
  keyName,
  pinnedImage,
  publishOrOff,
  publishedOn,
} from "../schema";
import type { TierContext } from "./ingestion";

export { OBSERVABILITY_IMAGES, OBSERVABILITY_SERVICES };

const minutes = (max: number) => z.number().int().min(1).max(max);

const freshnessSchema = z.strictObject({
  /** The bucket whose object count must keep changing (a bucket of `stackport:storage`). */
  bucket: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
      "must be a bucket name (3-63 lower-case letters, digits or '-')",
    )
    .default(ALERT_DEFAULTS.freshness.bucket),
  /** Alert when the bucket's object count has not changed for this long. */
  maxAgeMinutes: minutes(7 * 24 * 60).default(ALERT_DEFAULTS.freshness.maxAgeMinutes),
});

const ingestFailuresSchema = z.strictObject({
  /** Alert when a job records more than this many failures within `windowMinutes`. */
  maxPerWindow: z.number().int().min(0).default(ALERT_DEFAULTS.ingestFailures.maxPerWindow),
  /** The window failures are counted in, in minutes. */
  windowMinutes: minutes(24 * 60).default(ALERT_DEFAULTS.ingestFailures.windowMinutes),
});

const alertsSchema = z.strictObject({
  /** No new object in a bucket (MinIO's per-bucket object count). `false` turns the alert off. */
  freshness: z.union([freshnessSchema, z.literal(false)]).default(ALERT_DEFAULTS.freshness),
  /** No successful ingest run for this many minutes (`stackport_ingest_last_success_timestamp_seconds`). */
  ingestStaleMinutes: minutes(7 * 24 * 60).default(ALERT_DEFAULTS.ingestStaleMinutes),
  /** Too many failed ingest runs (`stackport_ingest_failures_total`). */
  ingestFailures: ingestFailuresSchema.default(ALERT_DEFAULTS.ingestFailures),
  /** Alert when free object-storage capacity stays below this percentage for 15 minutes. */
  diskFreePercent: z.number().min(1).max(99).default(ALERT_DEFAULTS.diskFreePercent),
  /** PostgreSQL, from the exporter's metrics (`postgresExporter`). */
  postgres: z
    .strictObject({
      /** Alert when connections in use stay above this percentage of `max_connections`… */
      connectionsPercent: z
        .number()
        .int()
        .min(1)
        .max(100)
        .default(POSTGRES_ALERT_DEFAULTS.connectionsPercent),
      /** …for this many minutes. */
      connectionsForMinutes: minutes(24 * 60).default(POSTGRES_ALERT_DEFAULTS.connectionsForMinutes),
      /** Alert when a client's transaction (a slow query, or a session idle in transaction) is open this long. */
      longTransactionMinutes: minutes(24 * 60).default(POSTGRES_ALERT_DEFAULTS.longTransactionMinutes),
    })
    .default(POSTGRES_ALERT_DEFAULTS),
});

const memoryMb = (service: keyof typeof OBSERVABILITY_MEMORY_MB) =>
  z.number().int().min(OBSERVABILITY_MIN_MEMORY_MB[service]).default(OBSERVABILITY_MEMORY_MB[service]);
const memorySchema = z.strictObject({
  /** Prometheus's memory limit. */
  prometheus: memoryMb("prometheus"),
  /** Grafana's memory limit. */
  grafana: memoryMb("grafana"),
  /** Loki's memory limit (when `logs`). */
  loki: memoryMb("loki"),
  /** Alloy's memory limit (when `logs`). */
  alloy: memoryMb("alloy"),
});

export const observabilitySchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /** Prometheus image. */
  prometheusImage: pinnedImage.default(OBSERVABILITY_IMAGES.prometheus),
  /** Grafana image. */
  grafanaImage: pinnedImage.default(OBSERVABILITY_IMAGES.grafana),
  /** Loki image; it must stay ≥ 3.7 (its health check is `loki -health`). */
  lokiImage: pinnedImage.default(OBSERVABILITY_IMAGES.loki),
  /** Grafana Alloy image; a replacement must keep bash (its health check uses `/dev/tcp`). */
  alloyImage: pinnedImage.default(OBSERVABILITY_IMAGES.alloy),
  /** How long Prometheus keeps samples (`--storage.tsdb.retention.time`). */
  retentionDays: z.number().int().min(1).max(3650).default(DOCKER_OBSERVABILITY_DEFAULTS.retentionDays),
  /** Scrape and rule-evaluation interval. */
  scrapeIntervalSeconds: z
    .number()
    .int()
    .min(5)
    .max(300)
    .default(DOCKER_OBSERVABILITY_DEFAULTS.scrapeIntervalSeconds),
  /** Thresholds of the alert rules Prometheus evaluates. */
  alerts: alertsSchema.default({ ...ALERT_DEFAULTS, postgres: POSTGRES_ALERT_DEFAULTS }),
  /** Grafana on the host, or `false` for never. @default `127.0.0.1:3000` in `local`, not published elsewhere */
  publishGrafana: publishOrOff,
  /** Prometheus on the host, or `false` for never. @default `127.0.0.1:9090` in `local`, not published elsewhere */
  publishPrometheus: publishOrOff,
  /** Collect container logs: Loki + Grafana Alloy. */
  logs: z.boolean().default(DOCKER_OBSERVABILITY_DEFAULTS.logs),
  /** Container memory limits, in MB. */
  memoryMb: memorySchema.default(OBSERVABILITY_MEMORY_MB),
  /**
   * The PostgreSQL exporter (prometheus-community's postgres_exporter), logged in as the database's `monitoring`
   * role and scraped as job `postgres`, with the `alerts.postgres` rules. Runs whenever
   * `stackport:database.monitoringUser` is on and the database is on this tier's Docker target; `false` turns it
   * off; settings here require both.
   * @default on when possible
   */
  postgresExporter: z
    .union([
      z.literal(false),
      z.strictObject({
        /** The exporter's image; the alert rules use its v0.20 metric names. */
        image: pinnedImage.default(POSTGRES_EXPORTER_IMAGE),
        /** Its memory limit, in MB. */
        memoryMb: z.number().int().min(POSTGRES_EXPORTER.minMemoryMb).default(POSTGRES_EXPORTER.memoryMb),
      }),
    ])
    .optional(),
});
export type ObservabilityConfig = z.infer<typeof observabilitySchema>;
export type ObservabilityAlerts = ObservabilityConfig["alerts"];

export interface ResolvedObservability extends Omit<
  ObservabilityConfig,
  "publishGrafana" | "publishPrometheus"
> {
  publishGrafana: Published;
  publishPrometheus: Published;
}

/** Environment-driven defaults, as for the other tiers: loopback in `local`, nothing published elsewhere. */
export function resolveObservability(
  cfg: ObservabilityConfig,
  environment: Environment,
): ResolvedObservability {
  return {
    ...cfg,
    publishGrafana: publishedOn(cfg.publishGrafana, environment, OBSERVABILITY_SERVICES.grafana.port),
    publishPrometheus: publishedOn(
      cfg.publishPrometheus,
      environment,
      OBSERVABILITY_SERVICES.prometheus.port,
    ),
  };
}

/** The host ports the tier binds, with the config key each comes from (for the stack-wide port-clash check). */
export function observabilityBindings(
  resolved: ResolvedObservability,
): { key: string; binding: PublishConfig }[] {
  const bindings: { key: string; binding: PublishConfig }[] = [];
  if (resolved.publishGrafana)
    bindings.push({
      key: configKey(["observability", "publishGrafana", "port"]),
      binding: resolved.publishGrafana,
    });
  if (resolved.publishPrometheus)
    bindings.push({
      key: configKey(["observability", "publishPrometheus", "port"]),
      binding: resolved.publishPrometheus,
    });
  return bindings;
}

/**
 * Cross-tier rules for `stackport:observability`; `resolveConfig` runs them on the whole parsed config. The freshness
 * alert must watch a bucket the storage tier creates.
 */
export function checkObservability(
  cfg: TierContext & {
    observability?: ObservabilityConfig | undefined;
    database?: { on: string; monitoringUser: boolean } | undefined;
  },
): ConfigIssue[] {
  return [...freshnessIssues(cfg), ...exporterIssues(cfg)];
}

/**
 * Whether the exporter runs: the database's monitoring role exists and Prometheus can reach it (same Docker target).
 * Undefined settings mean "when possible"; explicit settings must be possible.
 */
export function postgresExporterPlaced(cfg: {
  targets: TierContext["targets"];
  observability?: { on: string; postgresExporter?: ObservabilityConfig["postgresExporter"] } | undefined;
  database?: { on: string; monitoringUser: boolean } | undefined;
}): boolean {
  const o = cfg.observability;
  return (
    o !== undefined &&
    o.postgresExporter !== false &&
    cfg.targets[o.on]?.kind === "docker" &&
    cfg.database?.on === o.on &&
    cfg.database.monitoringUser
  );
}

function exporterIssues(cfg: Parameters<typeof checkObservability>[0]): ConfigIssue[] {
  const o = cfg.observability;
  if (!o?.postgresExporter || postgresExporterPlaced(cfg)) return [];
  const reason =
    cfg.targets[o.on]?.kind !== "docker"
      ? `it runs with Prometheus on a Docker target, and '${o.on}' is not one (on AWS, CloudWatch alarms and Performance Insights watch RDS)`
      : cfg.database?.on !== o.on
        ? `Prometheus on '${o.on}' reaches only a database on the same target; stackport:database.on is ${cfg.database ? `'${cfg.database.on}'` : "not set"}`
        : "it logs in as the monitoring role: set stackport:database.monitoringUser: true";
  return [{ key: configKey(["observability", "postgresExporter"]), message: `set, but ${reason}` }];
}

function freshnessIssues(cfg: Parameters<typeof checkObservability>[0]): ConfigIssue[] {
  const freshness = cfg.observability?.alerts.freshness;
  if (!freshness) return [];
  if (!cfg.storage) {
    return [
      {
        key: configKey(["observability", "alerts", "freshness"]),
        message:
          "watches a bucket, but stackport:storage is not set; set it to false or place the storage tier",
      },
    ];
  }
  const buckets = Object.keys(cfg.storage.buckets);
  if (!buckets.includes(freshness.bucket)) {
    return [
      {
        key: configKey(["observability", "alerts", "freshness", "bucket"]),
        message: `unknown bucket '${freshness.bucket}'; stackport:storage.buckets has: ${buckets.join(", ")}`,
      },
    ];
  }
  return [];
}

/** The tier on a Docker target; the other tiers' scrape targets and whether Grafana is routed come from the stack. */
export function dockerObservabilityArgs(
  resolved: ResolvedObservability,
  stack: Pick<DockerObservabilityArgs, "safety" | "targets" | "routed"> & {
    /** The database's `monitoring` login, when the exporter runs (`postgresExporterPlaced`). */
    postgresMonitoring?: PostgresMonitoringConnection | undefined;
  },
): Omit<DockerObservabilityArgs, "placement"> {
  const o = resolved;
  const { postgresMonitoring, ...rest } = stack;
  const exporter = o.postgresExporter || {};
  const { postgres, ...alerts } = o.alerts;
  return {
    prometheusImage: o.prometheusImage,
    grafanaImage: o.grafanaImage,
    lokiImage: o.lokiImage,
    alloyImage: o.alloyImage,
    retentionDays: o.retentionDays,
    scrapeIntervalSeconds: o.scrapeIntervalSeconds,
    alerts,
    ...(o.publishGrafana && { publishGrafana: o.publishGrafana }),
    ...(o.publishPrometheus && { publishPrometheus: o.publishPrometheus }),
    logs: o.logs,
    memoryMb: o.memoryMb,
    ...(postgresMonitoring && {
      postgresExporter: { connection: postgresMonitoring, ...exporter, alerts: postgres },
    }),
    ...rest,
  };
}
