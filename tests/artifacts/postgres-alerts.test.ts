/**
 * The PostgreSQL exporter's alert rules, checked by the real tool: `promtool check rules` on the rendered file and
 * `promtool test rules` at each threshold's boundary, with series shaped as postgres_exporter v0.20.1 exposes them
 * (collector/pg_stat_activity.go: one series per database × state × user × application × backend type, the
 * exporter's own session excluded; collector/pg_setting.go: `pg_settings_max_connections`).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { POSTGRES_ALERTS, resolvePostgresAlerts } from "../../components/observability/postgresAlerts";
import { renderAlertRules } from "../../components/observability/prometheus";
import { resolveAlerts } from "../../components/observability/settings";
import { requireTool, run } from "../support/tools";

let promtool: string;
let dir: string;
let counter = 0;

beforeAll(() => {
  promtool = requireTool("promtool", "prometheus");
  dir = mkdtempSync(join(tmpdir(), "stackport-postgres-alerts-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const rules = (postgres = resolvePostgresAlerts()) => renderAlertRules({ ...resolveAlerts(), postgres });

function promtoolTest(tests: object[], rulesText = rules()) {
  const here = join(dir, `case-${counter++}`);
  mkdirSync(here);
  writeFileSync(join(here, "stackport.yml"), rulesText);
  const file = join(here, "test.yml");
  writeFileSync(
    file,
    stringify({ rule_files: ["stackport.yml"], evaluation_interval: "1m", tests }, { lineWidth: 0 }),
  );
  return run(promtool, ["test", "rules", file]);
}
function expectPasses(tests: object[], rulesText?: string) {
  const r = promtoolTest(tests, rulesText);
  if (r.code !== 0) throw new Error(`promtool test rules failed:\n${r.stdout}${r.stderr}`);
}

const TARGET = 'job="postgres", instance="postgres-exporter:9187", tier="database"';
const activity = (
  metric: "pg_stat_activity_count" | "pg_stat_activity_max_tx_duration",
  labels: { datname?: string; state?: string; usename?: string; backend_type?: string },
) =>
  `${metric}{${TARGET}, datname="${labels.datname ?? "platform"}", state="${labels.state ?? "active"}", usename="${labels.usename ?? "app_writer"}", application_name="", backend_type="${labels.backend_type ?? "client backend"}", wait_event_type="", wait_event=""}`;
const maxConnections = (n: number) => ({
  series: `pg_settings_max_connections{${TARGET}}`,
  values: `${n}x20`,
});
const at = (minutes: number, alertname: string, exp_alerts: object[] = []) => ({
  eval_time: `${minutes}m`,
  alertname,
  exp_alerts,
});
const saturated = (value: string) => ({
  exp_labels: { job: "postgres", instance: "postgres-exporter:9187", severity: "warning" },
  exp_annotations: {
    summary: "PostgreSQL connections above 80% of max_connections",
    description: `${value}% of max_connections in use for 5 minutes: new connections will soon be refused. Look for a pool that grew or connections left idle (Grafana: pg_stat_activity_count by application_name).`,
  },
});

describe("PostgreSQL alert rules (promtool)", () => {
  it("pass promtool check rules, with the group only when an exporter is deployed", () => {
    const file = join(dir, "check.yml");
    writeFileSync(file, rules());
    const r = run(promtool, ["check", "rules", file]);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS/);
    expect(r.code).toBe(0);
    expect(rules()).toContain("stackport-postgres");
    expect(renderAlertRules(resolveAlerts())).not.toContain("pg_stat_activity");
  });

  it("connection saturation: above 80 % of max_connections for 5 minutes fires; exactly 80 % never does", () => {
    expectPasses([
      {
        // 50 active + 31 idle of 100, across two databases: 81 %.
        interval: "1m",
        input_series: [
          maxConnections(100),
          { series: activity("pg_stat_activity_count", { state: "active" }), values: "50x20" },
          {
            series: activity("pg_stat_activity_count", { state: "idle", datname: "events" }),
            values: "31x20",
          },
        ],
        alert_rule_test: [
          at(4, POSTGRES_ALERTS.connectionsSaturated),
          at(6, POSTGRES_ALERTS.connectionsSaturated, [saturated("81")]),
        ],
      },
      {
        interval: "1m",
        input_series: [
          maxConnections(100),
          { series: activity("pg_stat_activity_count", { state: "active" }), values: "50x20" },
          { series: activity("pg_stat_activity_count", { state: "idle" }), values: "30x20" },
        ],
        alert_rule_test: [at(10, POSTGRES_ALERTS.connectionsSaturated)],
      },
      {
        // A spike shorter than the 5 minutes does not page.
        interval: "1m",
        input_series: [
          maxConnections(100),
          { series: activity("pg_stat_activity_count", { state: "active" }), values: "95x3 10x10" },
        ],
        alert_rule_test: [
          at(3, POSTGRES_ALERTS.connectionsSaturated),
          at(8, POSTGRES_ALERTS.connectionsSaturated),
        ],
      },
    ]);
  });

  it("the threshold follows the config: 90 % does not fire at 85 %", () => {
    expectPasses(
      [
        {
          interval: "1m",
          input_series: [
            maxConnections(100),
            { series: activity("pg_stat_activity_count", { state: "active" }), values: "85x20" },
          ],
          alert_rule_test: [at(10, POSTGRES_ALERTS.connectionsSaturated)],
        },
      ],
      rules(resolvePostgresAlerts({ connectionsPercent: 90 })),
    );
  });

  it("long transaction: a client's transaction open over 5 minutes fires; 5 minutes and autovacuum do not", () => {
    const long = {
      exp_labels: {
        job: "postgres",
        instance: "postgres-exporter:9187",
        datname: "events",
        usename: "events_writer",
        severity: "warning",
      },
      exp_annotations: {
        summary: "A PostgreSQL transaction open longer than 5 minutes",
        description:
          "A transaction of events_writer in database events has been open for 5m 1s (a slow query, or a session idle in transaction): it holds locks and stops vacuum. Find it with: SELECT pid, state, query FROM pg_stat_activity ORDER BY xact_start.",
      },
    };
    expectPasses([
      {
        interval: "1m",
        input_series: [
          {
            series: activity("pg_stat_activity_max_tx_duration", {
              datname: "events",
              usename: "events_writer",
              state: "idle in transaction",
            }),
            values: "301x5",
          },
          {
            series: activity("pg_stat_activity_max_tx_duration", { usename: "app_writer" }),
            values: "300x5",
          },
          {
            series: activity("pg_stat_activity_max_tx_duration", {
              usename: "postgres",
              backend_type: "autovacuum worker",
            }),
            values: "36000x5",
          },
        ],
        alert_rule_test: [at(1, POSTGRES_ALERTS.longTransaction, [long])],
      },
    ]);
  });

  it("unreachable: pg_up 0 for 5 minutes fires, a single failed scrape does not", () => {
    const down = {
      exp_labels: {
        job: "postgres",
        instance: "postgres-exporter:9187",
        tier: "database",
        severity: "critical",
      },
      exp_annotations: {
        summary: "PostgreSQL unreachable from its exporter",
        description:
          "postgres has not reached PostgreSQL for 5 minutes: the server is down, or the monitoring role cannot log in (see the exporter's log).",
      },
    };
    expectPasses([
      {
        interval: "1m",
        input_series: [{ series: `pg_up{${TARGET}}`, values: "0x10" }],
        alert_rule_test: [at(4, POSTGRES_ALERTS.postgresDown), at(6, POSTGRES_ALERTS.postgresDown, [down])],
      },
      {
        interval: "1m",
        input_series: [{ series: `pg_up{${TARGET}}`, values: "1 0 1x10" }],
        alert_rule_test: [at(7, POSTGRES_ALERTS.postgresDown)],
      },
    ]);
  });

  it("a wrong expectation fails (the harness really runs promtool's assertions)", () => {
    const r = promtoolTest([
      {
        interval: "1m",
        input_series: [{ series: `pg_up{${TARGET}}`, values: "1x10" }],
        alert_rule_test: [at(6, POSTGRES_ALERTS.postgresDown, [{ exp_labels: { severity: "critical" } }])],
      },
    ]);
    expect(r.code).not.toBe(0);
  });
});
