/**
 * The point-in-time-recovery and off-host alert group, checked by the real `promtool`: `check rules`, and `test
 * rules` unit tests that prove each alert fires on what it is for, at the threshold the scripts publish, and stays
 * quiet otherwise (before a first run, while a single archive failure is retried).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { PITR_ALERTS, pitrRuleGroup } from "../../components/observability/pitrAlerts";
import { BACKUP_METRICS as M } from "../../components/backups/settings";
import { renderAlertRules } from "../../components/observability/prometheus";
import { observabilitySchema } from "../../src/config/tiers/observability";
import { requireTool, run } from "../support/tools";

jest.setTimeout(60_000);

let promtool: string;
let dir: string;
let counter = 0;

beforeAll(() => {
  promtool = requireTool("promtool", "prometheus");
  dir = mkdtempSync(join(tmpdir(), "stackport-pitr-alerts-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function rulesFile(): string {
  const here = join(dir, `unit-${counter++}`);
  mkdirSync(here);
  writeFileSync(join(here, "pitr.yml"), stringify({ groups: [pitrRuleGroup()] }, { lineWidth: 0 }));
  return here;
}

function expectPasses(tests: object[]) {
  const here = rulesFile();
  const file = join(here, "test.yml");
  writeFileSync(
    file,
    stringify({ rule_files: ["pitr.yml"], evaluation_interval: "30s", tests }, { lineWidth: 0 }),
  );
  const r = run(promtool, ["test", "rules", file]);
  if (r.code !== 0) throw new Error(`promtool test rules failed:\n${r.stdout}${r.stderr}`);
}

const series = (metric: string) => `${metric}{job="backups",instance="backups-metrics:9188",tier="backups"}`;
const constant = (metric: string, value: number) => ({ series: series(metric), values: `${value}x240` });
const labels = (severity: string) => ({
  job: "backups",
  instance: "backups-metrics:9188",
  tier: "backups",
  severity,
});
/** The alert as promtool renders it: `age` is what `{{ $value | humanizeDuration }}` becomes. */
const fires = (alertname: string, evalTime: string, severity: string, age = "") => {
  const rule = pitrRuleGroup().rules.find((r) => r.alert === alertname)!;
  return {
    eval_time: evalTime,
    alertname,
    exp_alerts: [
      {
        exp_labels: labels(severity),
        exp_annotations: {
          summary: rule.annotations.summary,
          description: rule.annotations.description.replace("{{ $value | humanizeDuration }}", age),
        },
      },
    ],
  };
};
const quiet = (alertname: string, evalTime: string) => ({ eval_time: evalTime, alertname, exp_alerts: [] });

describe("the stackport-pitr-offhost group", () => {
  it("is valid for promtool and part of the observability tier's rules file", () => {
    const here = rulesFile();
    const r = run(promtool, ["check", "rules", join(here, "pitr.yml")]);
    expect(r.stdout + r.stderr).toMatch(/SUCCESS: 6 rules found/);
    expect(r.code).toBe(0);
    const all = renderAlertRules(observabilitySchema.parse({ on: "t" }).alerts);
    for (const name of Object.values(PITR_ALERTS)) expect(all).toContain(`alert: ${name}`);
  });

  it("archive failing: quiet while a failure is retried successfully, fires after 10 minutes of failures", () => {
    // Archived at 60 s; a failure at 120 s that the next attempt (180 s) fixes; from 10 min on, only failures.
    expectPasses([
      {
        interval: "1m",
        input_series: [
          { series: series(M.walLastArchived), values: "60 60 180 180 180 180 180 180 180 180 180x230" },
          {
            series: series(M.walLastArchiveFailure),
            values: "0 120 120 120 120 120 120 120 120 120 600+60x230",
          },
        ],
        alert_rule_test: [
          quiet(PITR_ALERTS.walArchiveFailing, "5m"),
          quiet(PITR_ALERTS.walArchiveFailing, "19m"),
          fires(PITR_ALERTS.walArchiveFailing, "21m", "critical"),
        ],
      },
    ]);
  });

  it("archive stuck: fires when the oldest pending segment is older than the published limit", () => {
    expectPasses([
      {
        interval: "1m",
        input_series: [
          { series: series(M.walPendingAge), values: "0x10 0+60x230" },
          constant(M.walMaxPendingAge, 900),
        ],
        alert_rule_test: [
          quiet(PITR_ALERTS.walArchiveStuck, "25m"),
          fires(PITR_ALERTS.walArchiveStuck, "27m", "critical", "16m 0s"),
        ],
      },
    ]);
  });

  it.each([
    [
      "base backup",
      PITR_ALERTS.baseBackupStale,
      PITR_ALERTS.baseBackupFailing,
      M.baseLastSuccess,
      M.baseLastFailure,
      M.baseStarted,
      M.baseMaxAge,
    ],
    [
      "off-host copy",
      PITR_ALERTS.offHostStale,
      PITR_ALERTS.offHostFailing,
      M.offHostLastSuccess,
      M.offHostLastFailure,
      M.offHostStarted,
      M.offHostMaxAge,
    ],
  ])(
    "%s: overdue past the published age (counted from the start before a first success), failing while the last attempt failed",
    (_what, stale, failing, success, failure, started, maxAge) => {
      expectPasses([
        {
          // Never succeeded; started at 600 s, allowed 1 h: quiet at 1h10m, overdue at 1h11m.
          interval: "1m",
          input_series: [
            constant(success, 0),
            constant(failure, 0),
            constant(started, 600),
            constant(maxAge, 3600),
          ],
          alert_rule_test: [
            quiet(stale, "1h10m"),
            fires(stale, "1h11m", "critical", "1h 1m 0s"),
            quiet(failing, "1h11m"),
          ],
        },
        {
          // Succeeded at 60 s, failed at 120 s, succeeded again at 180 s.
          interval: "1m",
          input_series: [
            { series: series(success), values: "60 60 60 180x237" },
            { series: series(failure), values: "0 0 120 120x237" },
            constant(started, 30),
            constant(maxAge, 86400),
          ],
          alert_rule_test: [
            quiet(failing, "1m"),
            fires(failing, "2m", "warning"),
            quiet(failing, "3m"),
            quiet(stale, "3h"),
          ],
        },
      ]);
    },
  );
});
