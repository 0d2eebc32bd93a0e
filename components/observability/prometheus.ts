/**
 * Pure renderers for Prometheus: `prometheus.yml` (one scrape job per ScrapeTarget) and the alert rules file. Both
 * stay inside what Prometheus 2.42 (Debian's promtool, used by the tests) and 3.x accept alike.
 *
 * The metrics the rules watch, and why these:
 * - bucket freshness: MinIO's `minio_bucket_usage_object_total{bucket}` (from `/minio/v2/metrics/bucket`);
 * - ingest staleness / failures: the ingest metrics contract in docs/observability.md
 *   (`stackport_ingest_last_success_timestamp_seconds`, `stackport_ingest_failures_total`);
 * - disk filling: MinIO's usable capacity (from `/minio/v2/metrics/cluster`) — no node_exporter is deployed, and the
 *   object store's drive is where the platform's data grows.
 */
import { stringify } from "yaml";
import type { ScrapeTarget } from "./contract";
import { OBSERVABILITY_SERVICES, type ObservabilityAlerts } from "./settings";

export const OBSERVABILITY_TIER = "observability";

/** The observability tier's own scrape targets: Prometheus, Grafana, and Loki + Alloy when logs are collected. */
export function ownScrapeTargets(logs: boolean): ScrapeTarget[] {
  const { prometheus, grafana, loki, alloy } = OBSERVABILITY_SERVICES;
  const target = (job: string, address: string): ScrapeTarget => ({
    job,
    tier: OBSERVABILITY_TIER,
    addresses: [address],
  });
  return [
    // Prometheus scrapes itself on loopback: its alias is only needed by others.
    target("prometheus", `localhost:${prometheus.port}`),
    target("grafana", `${grafana.host}:${grafana.port}`),
    ...(logs
      ? [target("loki", `${loki.host}:${loki.port}`), target("alloy", `${alloy.host}:${alloy.port}`)]
      : []),
  ];
}

export interface PrometheusConfigInput {
  scrapeIntervalSeconds: number;
  /** Every tier's targets plus the tier's own (see `ownScrapeTargets`). Job names must be unique. */
  targets: ScrapeTarget[];
  /** Rule file paths; relative paths resolve against the config file's directory. */
  ruleFiles: string[];
}

const JOB_NAME = /^[a-zA-Z_][a-zA-Z0-9_-]*$/;
const ADDRESS = /^[A-Za-z0-9.-]+:\d{1,5}$/;
const METRICS_PATH = /^\/[A-Za-z0-9._~/-]*$/;

/**
 * Checks the targets a config would scrape. Prometheus refuses duplicate job names, and a bad address only shows up
 * as a target that is never up — so both fail here, naming the job.
 */
export function validateScrapeTargets(targets: ScrapeTarget[]): void {
  const seen = new Map<string, string>();
  for (const t of targets) {
    if (!JOB_NAME.test(t.job))
      throw new Error(`scrape job '${t.job}' (tier ${t.tier}): not a valid job name`);
    const other = seen.get(t.job);
    if (other !== undefined) {
      throw new Error(
        `scrape job '${t.job}' is declared twice (tiers ${other} and ${t.tier}); job names must be unique`,
      );
    }
    seen.set(t.job, t.tier);
    if (t.addresses.length === 0) throw new Error(`scrape job '${t.job}' (tier ${t.tier}) has no address`);
    for (const a of t.addresses) {
      if (!ADDRESS.test(a))
        throw new Error(`scrape job '${t.job}' (tier ${t.tier}): address '${a}' is not host:port`);
    }
    if (t.metricsPath !== undefined && !METRICS_PATH.test(t.metricsPath)) {
      throw new Error(
        `scrape job '${t.job}' (tier ${t.tier}): metrics path '${t.metricsPath}' must start with /`,
      );
    }
  }
}

/** `prometheus.yml`: global intervals, the rule files, and one job per target labelled with its tier. */
export function renderPrometheusConfig(input: PrometheusConfigInput): string {
  validateScrapeTargets(input.targets);
  const interval = `${input.scrapeIntervalSeconds}s`;
  // Prometheus refuses a scrape timeout longer than the interval; its default is 10s.
  const timeout = `${Math.min(10, input.scrapeIntervalSeconds)}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: timeout, evaluation_interval: interval },
    rule_files: input.ruleFiles,
    scrape_configs: [...input.targets]
      .sort((a, b) => a.job.localeCompare(b.job))
      .map((t) => ({
        job_name: t.job,
        ...(t.metricsPath !== undefined && { metrics_path: t.metricsPath }),
        static_configs: [{ targets: t.addresses, labels: { tier: t.tier } }],
      })),
  };
  return stringify(config, { lineWidth: 0 });
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; description: string };
}

/** Alert names, exported for tests and docs. */
export const ALERTS = {
  bucketStale: "StackportBucketStale",
  ingestStale: "StackportIngestStale",
  ingestFailures: "StackportIngestFailures",
  targetDown: "StackportTargetDown",
  storageFilling: "StackportStorageFilling",
} as const;

/** A PromQL string literal (bucket names are plain, but quoting is never left to chance). */
const promString = (s: string) => JSON.stringify(s);

/** The rules file: groups for data freshness, ingest failures, availability and capacity. */
export function renderAlertRules(alerts: ObservabilityAlerts): string {
  const freshness: AlertRule[] = [];
  if (alerts.freshness) {
    const { bucket, maxAgeMinutes } = alerts.freshness;
    const series = `minio_bucket_usage_object_total{bucket=${promString(bucket)}}`;
    freshness.push({
      alert: ALERTS.bucketStale,
      // The count has not changed over the window — and the series already existed at its start, so a freshly
      // deployed stack does not alert before it has watched the bucket for a whole window.
      expr: `max by (bucket) (changes(${series}[${maxAgeMinutes}m])) == 0 and max by (bucket) (${series} offset ${maxAgeMinutes}m)`,
      labels: { severity: "warning" },
      annotations: {
        summary: `No new object in bucket ${bucket} for ${maxAgeMinutes} minutes`,
        description: `The object count of bucket {{ $labels.bucket }} has not changed for ${maxAgeMinutes} minutes: data stopped arriving.`,
      },
    });
  }
  freshness.push({
    alert: ALERTS.ingestStale,
    expr: `time() - max by (job, tier) (stackport_ingest_last_success_timestamp_seconds) > ${alerts.ingestStaleMinutes * 60}`,
    labels: { severity: "critical" },
    annotations: {
      summary: `No successful ingest for ${alerts.ingestStaleMinutes} minutes`,
      description: `Job {{ $labels.job }} last reported a successful ingest {{ $value | humanizeDuration }} ago.`,
    },
  });

  const { maxPerWindow, windowMinutes } = alerts.ingestFailures;
  const failures: AlertRule[] = [
    {
      alert: ALERTS.ingestFailures,
      expr: `sum by (job, tier) (increase(stackport_ingest_failures_total[${windowMinutes}m])) > ${maxPerWindow}`,
      labels: { severity: "warning" },
      annotations: {
        summary: `More than ${maxPerWindow} failed ingests in ${windowMinutes} minutes`,
        description: `Job {{ $labels.job }} recorded {{ $value | humanize }} failed ingests in the last ${windowMinutes} minutes.`,
      },
    },
  ];

  const availability: AlertRule[] = [
    {
      alert: ALERTS.targetDown,
      expr: "up == 0",
      for: "5m",
      labels: { severity: "critical" },
      annotations: {
        summary: "Scrape target down",
        description:
          "{{ $labels.job }} ({{ $labels.instance }}, tier {{ $labels.tier }}) has not answered scrapes for 5 minutes.",
      },
    },
  ];

  const capacity: AlertRule[] = [
    {
      alert: ALERTS.storageFilling,
      expr: `100 * max by (job) (minio_cluster_capacity_usable_free_bytes) / max by (job) (minio_cluster_capacity_usable_total_bytes) < ${alerts.diskFreePercent}`,
      for: "15m",
      labels: { severity: "warning" },
      annotations: {
        summary: `Object storage has less than ${alerts.diskFreePercent}% free capacity`,
        description: "{{ $labels.job }} reports {{ $value | humanize }}% usable capacity free.",
      },
    },
  ];

  const groups = [
    { name: "stackport-data-freshness", rules: freshness },
    { name: "stackport-ingest-failures", rules: failures },
    { name: "stackport-availability", rules: availability },
    { name: "stackport-capacity", rules: capacity },
  ];
  return stringify({ groups }, { lineWidth: 0 });
}
