/**
 * `stackport:observability` — Prometheus (scrapes + alert rules), Grafana (provisioned) and, unless `logs: false`,
 * Loki + Grafana Alloy collecting the stack's container logs. The prose version is `docs/observability.md`.
 */
import { z } from "zod";
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
import type { Upstream } from "../upstreams";
import type { TierContext } from "./ingestion";

const minutes = (max: number) => z.number().int().min(1).max(max);

const freshnessSchema = z.strictObject({
  /** The bucket whose object count must keep changing (a bucket of `stackport:storage`). */
  bucket: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/,
      "must be a bucket name (3-63 lower-case letters, digits or '-')",
    )
    .default("raw"),
  /** Alert when the bucket's object count has not changed for this long. */
  maxAgeMinutes: minutes(7 * 24 * 60).default(60),
});

const ingestFailuresSchema = z.strictObject({
  /** Alert when a job records more than this many failures within `windowMinutes`. */
  maxPerWindow: z.number().int().min(0).default(3),
  windowMinutes: minutes(24 * 60).default(15),
});

const DEFAULT_FRESHNESS = { bucket: "raw", maxAgeMinutes: 60 };
const DEFAULT_INGEST_FAILURES = { maxPerWindow: 3, windowMinutes: 15 };

const alertsSchema = z.strictObject({
  /** No new object in a bucket (MinIO's per-bucket object count). `false` turns the alert off. */
  freshness: z.union([freshnessSchema, z.literal(false)]).default(DEFAULT_FRESHNESS),
  /** No successful ingest run for this many minutes (`stackport_ingest_last_success_timestamp_seconds`). */
  ingestStaleMinutes: minutes(7 * 24 * 60).default(60),
  /** Too many failed ingest runs (`stackport_ingest_failures_total`). */
  ingestFailures: ingestFailuresSchema.default(DEFAULT_INGEST_FAILURES),
  /** Alert when free object-storage capacity drops below this percentage. */
  diskFreePercent: z.number().min(1).max(99).default(10),
});

const DEFAULT_MEMORY = { prometheus: 1024, grafana: 512, loki: 1024, alloy: 256 };

const memorySchema = z.strictObject({
  prometheus: z.number().int().min(128).default(DEFAULT_MEMORY.prometheus),
  grafana: z.number().int().min(128).default(DEFAULT_MEMORY.grafana),
  loki: z.number().int().min(128).default(DEFAULT_MEMORY.loki),
  alloy: z.number().int().min(64).default(DEFAULT_MEMORY.alloy),
});

/**
 * Default images. Pinned tags that were current when this was written: verify them (and prefer digests) before a
 * production roll-out. Loki must stay ≥ 3.7: its image is distroless and the container health check is `loki -health`.
 */
export const OBSERVABILITY_IMAGES = {
  prometheus: "prom/prometheus:v3.5.0",
  grafana: "grafana/grafana:12.1.0",
  loki: "grafana/loki:3.7.2",
  alloy: "grafana/alloy:v1.10.0",
} as const;

export const observabilitySchema = z.strictObject({
  on: keyName,
  prometheusImage: pinnedImage.default(OBSERVABILITY_IMAGES.prometheus),
  grafanaImage: pinnedImage.default(OBSERVABILITY_IMAGES.grafana),
  lokiImage: pinnedImage.default(OBSERVABILITY_IMAGES.loki),
  alloyImage: pinnedImage.default(OBSERVABILITY_IMAGES.alloy),
  /** How long Prometheus keeps samples (`--storage.tsdb.retention.time`). */
  retentionDays: z.number().int().min(1).max(3650).default(15),
  /** Scrape and rule-evaluation interval. */
  scrapeIntervalSeconds: z.number().int().min(5).max(300).default(30),
  alerts: alertsSchema.default({
    freshness: DEFAULT_FRESHNESS,
    ingestStaleMinutes: 60,
    ingestFailures: DEFAULT_INGEST_FAILURES,
    diskFreePercent: 10,
  }),
  /** Grafana's port on the host. @default 127.0.0.1:3000 in local, not published elsewhere */
  publishGrafana: publishOrOff,
  /** Prometheus's port on the host. @default 127.0.0.1:9090 in local, not published elsewhere */
  publishPrometheus: publishOrOff,
  /** Collect container logs: Loki + Grafana Alloy. */
  logs: z.boolean().default(true),
  /** Memory limits in MB, per container. */
  memoryMb: memorySchema.default(DEFAULT_MEMORY),
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

/** The tier's services: DNS alias on the backend network (Grafana also on edge when routed) and port. */
export const OBSERVABILITY_SERVICES = {
  prometheus: { host: "prometheus", port: 9090 },
  grafana: { host: "grafana", port: 3000 },
  loki: { host: "loki", port: 3100 },
  alloy: { host: "alloy", port: 12345 },
} as const;

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
  cfg: TierContext & { observability?: ObservabilityConfig | undefined },
): ConfigIssue[] {
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

/** Services the tier exposes to the proxy (`to: grafana` in a route). */
export function observabilityUpstreams(): Record<string, Upstream> {
  const { host, port } = OBSERVABILITY_SERVICES.grafana;
  return { grafana: { tier: "observability", host, port, healthPath: "/api/health" } };
}
