/**
 * Pure renderers for Prometheus: `prometheus.yml` (one scrape job per ScrapeTarget) and the alert rules file. Both
 * stay inside what Prometheus 2.42 (Debian's promtool, used by the tests) and 3.x accept alike.
 *
 * The metrics the rules watch, and why these:
 * - bucket freshness: MinIO's `minio_bucket_usage_object_total{bucket}` (from `/minio/v2/metrics/bucket`);
 * - ingest staleness / failures: the ingest metrics contract in docs/observability.md
 *   (`stackport_ingest_last_success_timestamp_seconds`, `stackport_ingest_failures_total`);
 * - failed runs of scheduled services on Docker: gauges Alloy makes of the schedule runner's log lines
 *   (`SCHEDULE_RUN_METRICS`, components/observability/alloy.ts);
 * - disk filling: MinIO's usable capacity (from `/minio/v2/metrics/cluster`) — no node_exporter is deployed, and the
 *   object store's drive is where the platform's data grows;
 * - backups and restore drills: the backup tier's metrics endpoint (`stackport_backup_*`, see
 *   components/backups/scripts.ts `BACKUP_METRICS`), which also publishes the age each alert allows.
 */
import { stringify } from "yaml";
import { BACKUP_METRICS } from "../backups/settings";
import { PITR_ALERTS, pitrRuleGroup } from "./pitrAlerts";
import { SCHEDULE_RUN_METRICS } from "./alloy";
import { POSTGRES_ALERTS, postgresRuleGroup } from "./postgresAlerts";
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
  /** Directory of the secret files a target's `bearerToken` names. @default PROMETHEUS_SECRETS_DIR */
  secretsDir?: string;
}

/** Where the secret files scrape targets name (`ScrapeTarget.bearerToken`) are, in the Prometheus container. */
export const PROMETHEUS_SECRETS_DIR = "/etc/prometheus/secrets";
/** A secret file's name: a plain file name, so it can only land in the secrets directory. */
export const SECRET_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

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
    if (t.bearerToken !== undefined && !SECRET_FILE_NAME.test(t.bearerToken)) {
      throw new Error(
        `scrape job '${t.job}' (tier ${t.tier}): bearer token file '${t.bearerToken}' must be a plain file name`,
      );
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
        // Read from a file at every scrape: the token is in neither this file nor Prometheus' arguments.
        ...(t.bearerToken !== undefined && {
          authorization: {
            type: "Bearer",
            credentials_file: `${input.secretsDir ?? PROMETHEUS_SECRETS_DIR}/${t.bearerToken}`,
          },
        }),
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
  ...POSTGRES_ALERTS,
  ...PITR_ALERTS,
  bucketStale: "StackportBucketStale",
  ingestStale: "StackportIngestStale",
  ingestFailures: "StackportIngestFailures",
  scheduledRunFailed: "StackportScheduledRunFailed",
  targetDown: "StackportTargetDown",
  storageFilling: "StackportStorageFilling",
  backupStale: "StackportBackupStale",
  backupFailing: "StackportBackupFailing",
  drillStale: "StackportRestoreDrillStale",
  drillFailing: "StackportRestoreDrillFailing",
} as const;

/**
 * "Overdue" and "last attempt failed" for a job that records its last success and failure as timestamps, its
 * start, and the age its schedule allows (the backup runner, the restore drill). Before a first success the age
 * counts from the start, so a fresh stack does not alert while its first run is under way. Equal timestamps (both 0:
 * nothing attempted yet) are not a failure.
 */
function scheduledJobRules(m: {
  lastSuccess: string;
  lastFailure: string;
  started: string;
  maxAge: string;
}): { stale: string; failing: string } {
  return {
    stale: `time() - (${m.lastSuccess} > 0 or ${m.started} > 0) > ${m.maxAge}`,
    failing: `${m.lastFailure} > ${m.lastSuccess}`,
  };
}

/**
 * A scheduled service's last run failed: its last failure is newer than its last success (or it never succeeded
 * since Alloy started). Fires at the failed run's end and resolves with the next successful run, like the backup
 * runner's `failing` rule; a Docker host's every job at once (by stack, service and container).
 */
function scheduledRunFailedRule(): AlertRule {
  const by = "max by (stack, service, container)";
  const { lastFailure, lastSuccess } = SCHEDULE_RUN_METRICS;
  return {
    alert: ALERTS.scheduledRunFailed,
    expr: `${by} (${lastFailure}) > (${by} (${lastSuccess}) or ${by} (${lastFailure}) * 0)`,
    labels: { severity: "warning" },
    annotations: {
      summary: "A scheduled run failed",
      description:
        "The last run of scheduled service {{ $labels.service }} ({{ $labels.container }}) failed; the runner goes on with the next one. See its log: the run-end line has the exit code (docs/schedules.md).",
    },
  };
}

/** A PromQL string literal (bucket names are plain, but quoting is never left to chance). */
const promString = (s: string) => JSON.stringify(s);

/** The rules file: groups for data freshness, ingest failures, availability, capacity and backups. */
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
    scheduledRunFailedRule(),
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

  const m = BACKUP_METRICS;
  const backup = scheduledJobRules({
    lastSuccess: m.lastSuccess,
    lastFailure: m.lastFailure,
    started: m.started,
    maxAge: m.maxAge,
  });
  const drill = scheduledJobRules({
    lastSuccess: m.drillLastSuccess,
    lastFailure: m.drillLastFailure,
    started: m.drillStarted,
    maxAge: m.drillMaxAge,
  });
  const backups: AlertRule[] = [
    {
      alert: ALERTS.backupStale,
      expr: backup.stale,
      labels: { severity: "critical" },
      annotations: {
        summary: "Database backup overdue",
        description:
          "No verified backup of database {{ $labels.database }} for {{ $value | humanizeDuration }}, longer than its schedule allows: see the backup runner's log (docs/runbooks/restore.md).",
      },
    },
    {
      alert: ALERTS.backupFailing,
      expr: backup.failing,
      labels: { severity: "warning" },
      annotations: {
        summary: "Database backup failing",
        description:
          "The last backup attempt of database {{ $labels.database }} failed; older dumps are kept and the runner retries. See its log.",
      },
    },
    {
      alert: ALERTS.drillStale,
      expr: drill.stale,
      labels: { severity: "warning" },
      annotations: {
        summary: "Restore drill overdue",
        description:
          "No restore drill of database {{ $labels.database }} passed for {{ $value | humanizeDuration }}: nobody knows whether the backups restore.",
      },
    },
    {
      alert: ALERTS.drillFailing,
      expr: drill.failing,
      labels: { severity: "critical" },
      annotations: {
        summary: "Restore drill failed",
        description:
          "The last restore drill of database {{ $labels.database }} failed: the newest dump may not restore. See the drill's log (docs/runbooks/restore.md).",
      },
    },
  ];

  const groups = [
    { name: "stackport-data-freshness", rules: freshness },
    { name: "stackport-ingest-failures", rules: failures },
    { name: "stackport-availability", rules: availability },
    { name: "stackport-capacity", rules: capacity },
    { name: "stackport-backups", rules: backups },
    // WAL archiving, base backups and the off-host copy (pitrAlerts.ts); silent without them.
    pitrRuleGroup(),
    // Helper D: the PostgreSQL exporter's rules (postgresAlerts.ts), when one is deployed.
    ...(alerts.postgres ? [postgresRuleGroup(alerts.postgres)] : []),
  ];
  return stringify({ groups }, { lineWidth: 0 });
}
