/**
 * Prometheus alert rules on the PostgreSQL exporter's metrics (seeds 002 and 004: connection saturation and slow
 * queries), as pure data. The metric names are those of prometheus-community/postgres_exporter v0.20.1
 * (`POSTGRES_EXPORTER_IMAGE`):
 * - `pg_stat_activity_count{datname,state,usename,application_name,backend_type,…}` and
 *   `pg_stat_activity_max_tx_duration{…same labels}` (collector/pg_stat_activity.go, default on): connections per
 *   state (background processes, whose state is NULL, are not counted; neither is the exporter's own session) and
 *   the age in seconds of the oldest open transaction;
 * - `pg_settings_max_connections` (collector/pg_setting.go: every integer setting as `pg_settings_<name>`);
 * - `pg_up` (1 when the last scrape reached the server).
 */
import type { ArgsIssue } from "../shared/errors";

/** The PostgreSQL alert thresholds, every field resolved. */
export interface PostgresAlerts {
  /** Connections in use above this percentage of `max_connections`… */
  connectionsPercent: number;
  /** …for this many minutes. */
  connectionsForMinutes: number;
  /** A client's transaction (running or idle in transaction) open longer than this. */
  longTransactionMinutes: number;
}

/** The thresholds as args: every field optional. */
export interface PostgresAlertsArgs {
  /** @default 80 */
  connectionsPercent?: number;
  /** @default 5 */
  connectionsForMinutes?: number;
  /** @default 5 */
  longTransactionMinutes?: number;
}

export const POSTGRES_ALERT_DEFAULTS = {
  connectionsPercent: 80,
  connectionsForMinutes: 5,
  longTransactionMinutes: 5,
} as const satisfies PostgresAlerts;

export const POSTGRES_ALERTS = {
  postgresDown: "StackportPostgresUnreachable",
  connectionsSaturated: "StackportPostgresConnectionsSaturated",
  longTransaction: "StackportPostgresLongTransaction",
} as const;

export function resolvePostgresAlerts(args: PostgresAlertsArgs = {}): PostgresAlerts {
  return { ...POSTGRES_ALERT_DEFAULTS, ...args };
}

const wholeIn = (n: number | undefined, min: number, max: number) =>
  n === undefined || (Number.isInteger(n) && n >= min && n <= max);

/** What would put a wrong number into the rules, by arg path under `prefix`. */
export function postgresAlertIssues(prefix: string, args: PostgresAlertsArgs | undefined): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  if (!wholeIn(args?.connectionsPercent, 1, 100))
    issues.push({
      path: `${prefix}.connectionsPercent`,
      message: "must be a whole percentage from 1 to 100",
    });
  if (!wholeIn(args?.connectionsForMinutes, 1, 24 * 60))
    issues.push({
      path: `${prefix}.connectionsForMinutes`,
      message: "must be a whole number of minutes from 1 to 1440",
    });
  if (!wholeIn(args?.longTransactionMinutes, 1, 24 * 60))
    issues.push({
      path: `${prefix}.longTransactionMinutes`,
      message: "must be a whole number of minutes from 1 to 1440",
    });
  return issues;
}

/** One rule of the group, in the shape of prometheus.ts's `AlertRule` (not imported: that file imports this one). */
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; description: string };
}

/** The `stackport-postgres` rule group. */
export function postgresRuleGroup(alerts: PostgresAlerts): { name: string; rules: Rule[] } {
  const { connectionsPercent, connectionsForMinutes, longTransactionMinutes } = alerts;
  return {
    name: "stackport-postgres",
    rules: [
      {
        alert: POSTGRES_ALERTS.postgresDown,
        // The exporter answers (no StackportTargetDown) but cannot reach or log in to the server.
        expr: "pg_up == 0",
        for: "5m",
        labels: { severity: "critical" },
        annotations: {
          summary: "PostgreSQL unreachable from its exporter",
          description:
            "{{ $labels.job }} has not reached PostgreSQL for 5 minutes: the server is down, or the monitoring role cannot log in (see the exporter's log).",
        },
      },
      {
        alert: POSTGRES_ALERTS.connectionsSaturated,
        expr: `100 * sum by (job, instance) (pg_stat_activity_count) / max by (job, instance) (pg_settings_max_connections) > ${connectionsPercent}`,
        for: `${connectionsForMinutes}m`,
        labels: { severity: "warning" },
        annotations: {
          summary: `PostgreSQL connections above ${connectionsPercent}% of max_connections`,
          description: `{{ $value | humanize }}% of max_connections in use for ${connectionsForMinutes} minutes: new connections will soon be refused. Look for a pool that grew or connections left idle (Grafana: pg_stat_activity_count by application_name).`,
        },
      },
      {
        alert: POSTGRES_ALERTS.longTransaction,
        // Client sessions only: autovacuum workers legitimately run long.
        expr: `max by (job, instance, datname, usename) (pg_stat_activity_max_tx_duration{backend_type="client backend"}) > ${longTransactionMinutes * 60}`,
        labels: { severity: "warning" },
        annotations: {
          summary: `A PostgreSQL transaction open longer than ${longTransactionMinutes} minutes`,
          description:
            "A transaction of {{ $labels.usename }} in database {{ $labels.datname }} has been open for {{ $value | humanizeDuration }} (a slow query, or a session idle in transaction): it holds locks and stops vacuum. Find it with: SELECT pid, state, query FROM pg_stat_activity ORDER BY xact_start.",
        },
      },
    ],
  };
}
