/**
 * The pure half of the observability tier: default images and limits, the alert thresholds with their defaults,
 * CloudWatch's retention periods, the args checks, and where each service lives on its target's backend network.
 * No provider import, so a program can read it without loading a provider SDK.
 */
import { type ArgsIssue, argPath } from "../shared/errors";
import type { Upstream } from "../proxy/contract";
import type { PostgresAlerts } from "./postgresAlerts";

/** The tier's services: DNS alias on the backend network (Grafana also on edge when routed) and port. */
export const OBSERVABILITY_SERVICES = {
  prometheus: { host: "prometheus", port: 9090 },
  grafana: { host: "grafana", port: 3000 },
  loki: { host: "loki", port: 3100 },
  alloy: { host: "alloy", port: 12345 },
} as const;

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

/** Memory limits per container, in MB, and the least each may get. */
export const OBSERVABILITY_MEMORY_MB = { prometheus: 1024, grafana: 512, loki: 1024, alloy: 256 } as const;
export const OBSERVABILITY_MIN_MEMORY_MB = { prometheus: 128, grafana: 128, loki: 128, alloy: 64 } as const;

export const DOCKER_OBSERVABILITY_DEFAULTS = {
  retentionDays: 15,
  scrapeIntervalSeconds: 30,
  logs: true,
} as const;

/** The alert thresholds Prometheus evaluates (`renderAlertRules`), every field resolved. */
export interface ObservabilityAlerts {
  /** No new object in a bucket for `maxAgeMinutes` (MinIO's per-bucket object count); `false`: no such alert. */
  freshness: false | { bucket: string; maxAgeMinutes: number };
  /** No successful ingest run for this many minutes. */
  ingestStaleMinutes: number;
  /** More than `maxPerWindow` failed ingest runs within `windowMinutes`. */
  ingestFailures: { maxPerWindow: number; windowMinutes: number };
  /** Free object-storage capacity below this percentage. */
  diskFreePercent: number;
  /** PostgreSQL connection saturation and long transactions (postgresAlerts.ts), when an exporter is deployed. */
  postgres?: PostgresAlerts;
}

/** The thresholds as args: every field optional. */
export interface ObservabilityAlertsArgs {
  /** @default { bucket: "raw", maxAgeMinutes: 60 } */
  freshness?: false | { bucket?: string; maxAgeMinutes?: number };
  /** @default 60 */
  ingestStaleMinutes?: number;
  /** @default { maxPerWindow: 3, windowMinutes: 15 } */
  ingestFailures?: { maxPerWindow?: number; windowMinutes?: number };
  /** @default 10 */
  diskFreePercent?: number;
}

export const ALERT_DEFAULTS = {
  freshness: { bucket: "raw", maxAgeMinutes: 60 },
  ingestStaleMinutes: 60,
  ingestFailures: { maxPerWindow: 3, windowMinutes: 15 },
  diskFreePercent: 10,
} as const satisfies ObservabilityAlerts;

/** The thresholds with their defaults applied. */
export function resolveAlerts(args: ObservabilityAlertsArgs = {}): ObservabilityAlerts {
  const d = ALERT_DEFAULTS;
  return {
    freshness: args.freshness === false ? false : { ...d.freshness, ...args.freshness },
    ingestStaleMinutes: args.ingestStaleMinutes ?? d.ingestStaleMinutes,
    ingestFailures: { ...d.ingestFailures, ...args.ingestFailures },
    diskFreePercent: args.diskFreePercent ?? d.diskFreePercent,
  };
}

const WEEK_MINUTES = 7 * 24 * 60;
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

const wholeIn = (n: number | undefined, min: number, max: number) =>
  n === undefined || (Number.isInteger(n) && n >= min && n <= max);

/** What would put a wrong number into the alert rules. */
function alertIssues(alerts: ObservabilityAlertsArgs | undefined): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path: argPath("alerts", path), message });
  const freshness = alerts?.freshness;
  if (freshness) {
    if (freshness.bucket !== undefined && !BUCKET_NAME.test(freshness.bucket))
      issue("freshness.bucket", "must be a bucket name (3-63 lower-case letters, digits or '-')");
    if (!wholeIn(freshness.maxAgeMinutes, 1, WEEK_MINUTES))
      issue("freshness.maxAgeMinutes", `must be a whole number of minutes from 1 to ${WEEK_MINUTES}`);
  }
  if (!wholeIn(alerts?.ingestStaleMinutes, 1, WEEK_MINUTES))
    issue("ingestStaleMinutes", `must be a whole number of minutes from 1 to ${WEEK_MINUTES}`);
  if (!wholeIn(alerts?.ingestFailures?.maxPerWindow, 0, Number.MAX_SAFE_INTEGER))
    issue("ingestFailures.maxPerWindow", "must be a whole number ≥ 0");
  if (!wholeIn(alerts?.ingestFailures?.windowMinutes, 1, 24 * 60))
    issue("ingestFailures.windowMinutes", "must be a whole number of minutes from 1 to 1440");
  const free = alerts?.diskFreePercent;
  if (free !== undefined && !(free >= 1 && free <= 99)) issue("diskFreePercent", "must be from 1 to 99");
  return issues;
}

/** What is wrong with `DockerObservabilityArgs` (empty when valid). */
export function validateDockerObservabilityArgs(args: {
  retentionDays?: number | undefined;
  scrapeIntervalSeconds?: number | undefined;
  alerts?: ObservabilityAlertsArgs | undefined;
  memoryMb?: Partial<Record<keyof typeof OBSERVABILITY_MEMORY_MB, number>> | undefined;
}): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  if (!wholeIn(args.retentionDays, 1, 3650))
    issues.push({ path: "retentionDays", message: "must be a whole number of days from 1 to 3650" });
  if (!wholeIn(args.scrapeIntervalSeconds, 5, 300))
    issues.push({
      path: "scrapeIntervalSeconds",
      message: "must be a whole number of seconds from 5 to 300",
    });
  for (const [service, min] of Object.entries(OBSERVABILITY_MIN_MEMORY_MB)) {
    const mb = args.memoryMb?.[service as keyof typeof OBSERVABILITY_MIN_MEMORY_MB];
    if (!wholeIn(mb, min, Number.MAX_SAFE_INTEGER))
      issues.push({
        path: argPath("memoryMb", service),
        message: `must be a whole number of MB, at least ${min}`,
      });
  }
  return [...issues, ...alertIssues(args.alerts)];
}

/** Services the tier exposes to the proxy (`to: grafana` in a route). */
export function observabilityUpstreams(): Record<string, Upstream> {
  const { host, port } = OBSERVABILITY_SERVICES.grafana;
  return { grafana: { tier: "observability", host, port, healthPath: "/api/health" } };
}

// ---------------------------------------------------------------------------------------------------------
// CloudWatch

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** The custom metric ingestion services publish after each successful run (seconds since the last success). */
export interface FreshnessMetricArgs {
  /** @default "stackport/Ingest" */
  namespace?: string;
  /** @default "LastSuccessAgeSeconds" */
  name?: string;
  /** Alarm when the newest data is older than this (5 minutes to a week). @default 90 */
  maxAgeMinutes?: number;
}

export const CLOUDWATCH_DEFAULTS = {
  logRetentionDays: 30,
  freshnessMetric: { namespace: "stackport/Ingest", name: "LastSuccessAgeSeconds", maxAgeMinutes: 90 },
} as const;

/** What is wrong with `CloudWatchObservabilityArgs` (empty when valid). */
export function validateCloudWatchObservabilityArgs(args: {
  alarmEmails?: string[] | undefined;
  logRetentionDays?: number | undefined;
  freshnessMetric?: FreshnessMetricArgs | undefined;
}): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  (args.alarmEmails ?? []).forEach((email, i) => {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
      issues.push({ path: argPath("alarmEmails", i), message: `'${email}' is not an e-mail address` });
  });
  if (
    args.logRetentionDays !== undefined &&
    !(LOG_RETENTION_DAYS as readonly number[]).includes(args.logRetentionDays)
  ) {
    issues.push({
      path: "logRetentionDays",
      message: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    });
  }
  const metric = args.freshnessMetric;
  for (const field of ["namespace", "name"] as const) {
    const value = metric?.[field];
    if (value !== undefined && !(value.length >= 1 && value.length <= 255))
      issues.push({ path: argPath("freshnessMetric", field), message: "must be 1 to 255 characters" });
  }
  if (!wholeIn(metric?.maxAgeMinutes, 5, WEEK_MINUTES))
    issues.push({
      path: "freshnessMetric.maxAgeMinutes",
      message: `must be a whole number of minutes from 5 to ${WEEK_MINUTES}`,
    });
  return issues;
}
