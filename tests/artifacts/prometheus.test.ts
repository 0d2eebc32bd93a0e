/**
 * The generated Prometheus config and alert rules, checked by the real tool: `promtool check config` (which also
 * loads the rule files it names), `promtool check rules`, and `promtool test rules` unit tests that prove each alert
 * fires on the situation it is for — and stays quiet when things are fine.
 */
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import {
  ALERTS,
  ownScrapeTargets,
  renderAlertRules,
  renderPrometheusConfig,
} from "../../components/observability/prometheus";
import type { ScrapeTarget } from "../../components/observability/contract";
import { SCHEDULE_RUN_METRICS } from "../../components/observability/alloy";
import { BACKUP_METRICS } from "../../components/backups/settings";
import type { ObservabilityAlerts } from "../../components/observability/settings";
import {
  DockerObservability,
  renderSecretFilesScript,
} from "../../components/observability/dockerObservability";
import {
  STORAGE_METRICS_TOKEN,
  dockerStorageScrapeTargets,
  minioMetricsToken,
} from "../../components/storage/settings";
import { observabilitySchema as schema } from "../../src/config/tiers/observability";
import { one, record } from "../harness";
import { testPlacement } from "../support/placement";
import { requireTool, run, shellcheck } from "../support/tools";

let promtool: string;
let dir: string;

beforeAll(() => {
  promtool = requireTool("promtool", "prometheus");
  dir = mkdtempSync(join(tmpdir(), "stackport-prometheus-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const defaults = schema.parse({ on: "t" });
const alertsWith = (over: Partial<ObservabilityAlerts> = {}): ObservabilityAlerts => ({
  ...defaults.alerts,
  ...over,
});

/** The targets a full local stack hands over: storage (both MinIO endpoints), proxy, ingestion, basemap. */
const platformTargets: ScrapeTarget[] = [
  { job: "storage", tier: "storage", addresses: ["storage:9000"], metricsPath: "/minio/v2/metrics/cluster" },
  {
    job: "storage-buckets",
    tier: "storage",
    addresses: ["storage:9000"],
    metricsPath: "/minio/v2/metrics/bucket",
  },
  { job: "proxy", tier: "proxy", addresses: ["proxy:2019"] },
  { job: "ingestion-api", tier: "ingestion", addresses: ["api:8000"] },
  { job: "ingestion-worker", tier: "ingestion", addresses: ["worker-1:9100", "worker-2:9100"] },
  { job: "basemap", tier: "basemap", addresses: ["basemap:3000"], metricsPath: "/_/metrics" },
];

/** The rules a rendered rules file holds: what promtool must report having loaded. */
const ruleCount = (rules: string) => (rules.match(/^ {6}- alert: /gm) ?? []).length;

let counter = 0;
/** Writes a config and its rule file into a fresh directory, the rules at the relative path the config names. */
function writeConfig(config: string, rules: string): string {
  const here = join(dir, `case-${counter++}`);
  mkdirSync(join(here, "rules"), { recursive: true });
  writeFileSync(join(here, "rules", "stackport.yml"), rules);
  const file = join(here, "prometheus.yml");
  writeFileSync(file, config);
  return file;
}

function promtoolOk(args: string[]) {
  const r = run(promtool, args);
  if (r.code !== 0)
    throw new Error(`promtool ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

describe("prometheus.yml", () => {
  it.each([
    ["logs on, every tier", platformTargets, true, 30],
    ["logs off, no other tier", [], false, 30],
    ["fast scrape (timeout must shrink below the interval)", platformTargets, true, 5],
  ])("%s passes promtool check config, rule files included", (_name, targets, logs, interval) => {
    const config = renderPrometheusConfig({
      scrapeIntervalSeconds: interval,
      targets: [...targets, ...ownScrapeTargets(logs)],
      ruleFiles: ["rules/stackport.yml"],
    });
    const rules = renderAlertRules(alertsWith());
    const out = promtoolOk(["check", "config", writeConfig(config, rules)]);
    expect(out).toMatch(`SUCCESS: ${ruleCount(rules)} rules found`);
  });

  it("the files the Prometheus container really gets pass promtool check config at their container paths", async () => {
    const { recorder } = await record(
      () =>
        new DockerObservability("observability", {
          placement: testPlacement(),
          safety: { protect: true, retainOnDelete: true },
          targets: platformTargets,
        }),
    );
    const prometheus = one(recorder, "observability-prometheus");
    const uploads = prometheus.inputs["uploads"] as { file: string; content: string }[];
    // Recreate /etc/prometheus under a temp root: the config names its rule file relative to itself.
    const root = join(dir, `container-${counter++}`);
    for (const u of uploads) {
      mkdirSync(join(root, u.file, ".."), { recursive: true });
      writeFileSync(join(root, u.file), u.content);
    }
    const configFlag = (prometheus.inputs["command"] as string[]).find((a) =>
      a.startsWith("--config.file="),
    )!;
    const out = promtoolOk(["check", "config", join(root, configFlag.slice("--config.file=".length))]);
    const rules = uploads.find((u) => u.file.endsWith("stackport.yml"))!.content;
    expect(out).toMatch(`SUCCESS: ${ruleCount(rules)} rules found`);
    const config = uploads.find((u) => u.file.endsWith("prometheus.yml"))!.content;
    for (const job of [...platformTargets.map((t) => t.job), "prometheus", "grafana", "loki", "alloy"]) {
      expect(config).toContain(`job_name: ${job}\n`);
    }
  });

  it("refuses duplicate job names and malformed addresses before anything is rendered", () => {
    const render = (targets: ScrapeTarget[]) =>
      renderPrometheusConfig({ scrapeIntervalSeconds: 30, targets, ruleFiles: [] });
    expect(() =>
      render([...ownScrapeTargets(false), { job: "grafana", tier: "ingestion", addresses: ["g:1"] }]),
    ).toThrow(/scrape job 'grafana' is declared twice \(tiers observability and ingestion\)/);
    expect(() => render([{ job: "api", tier: "ingestion", addresses: ["http://api:8000"] }])).toThrow(
      /address 'http:\/\/api:8000' is not host:port/,
    );
  });
});

describe("alert rules", () => {
  it.each([
    ["defaults", alertsWith()],
    [
      "freshness off, tight thresholds",
      alertsWith({ freshness: false, ingestFailures: { maxPerWindow: 0, windowMinutes: 5 } }),
    ],
    ["another bucket", alertsWith({ freshness: { bucket: "derived", maxAgeMinutes: 1440 } })],
  ])("%s pass promtool check rules", (_name, alerts) => {
    const file = join(dir, `rules-${counter++}.yml`);
    writeFileSync(file, renderAlertRules(alerts));
    expect(promtoolOk(["check", "rules", file])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it("every alert carries a severity, a summary and a description", () => {
    const rules = renderAlertRules(alertsWith());
    const alerts = rules.match(/- alert: \w+/g) ?? [];
    expect(alerts.map((a) => a.replace("- alert: ", "")).sort()).toEqual(Object.values(ALERTS).sort());
    expect(rules.match(/severity: (warning|critical)/g)).toHaveLength(alerts.length);
    expect(rules.match(/summary: /g)).toHaveLength(alerts.length);
    expect(rules.match(/description: /g)).toHaveLength(alerts.length);
  });
});

/** Runs `promtool test rules` on the default rules with the given unit tests. */
function promtoolTest(tests: object[]) {
  const here = join(dir, `unit-${counter++}`);
  mkdirSync(here);
  writeFileSync(join(here, "stackport.yml"), renderAlertRules(alertsWith()));
  const file = join(here, "test.yml");
  writeFileSync(
    file,
    stringify({ rule_files: ["stackport.yml"], evaluation_interval: "30s", tests }, { lineWidth: 0 }),
  );
  return run(promtool, ["test", "rules", file]);
}

function expectPromtoolTestPasses(tests: object[]) {
  const r = promtoolTest(tests);
  if (r.code !== 0) throw new Error(`promtool test rules failed:\n${r.stdout}${r.stderr}`);
}

const at = (minutes: number, alertname: string, exp_alerts: object[] = []) => ({
  eval_time: `${minutes}m`,
  alertname,
  exp_alerts,
});

describe("alerts fire on what they are for (promtool test rules, default thresholds)", () => {
  const raw = 'minio_bucket_usage_object_total{bucket="raw", job="storage-buckets", instance="storage:9000"}';
  const staleRaw = {
    exp_labels: { bucket: "raw", severity: "warning" },
    exp_annotations: {
      summary: "No new object in bucket raw for 60 minutes",
      description: "The object count of bucket raw has not changed for 60 minutes: data stopped arriving.",
    },
  };

  it("data freshness: fires when the raw bucket stays flat for more than 60 minutes, not while it grows", () => {
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [{ series: raw, values: "5x150" }],
        alert_rule_test: [
          // Not before the bucket has been watched for a whole window (a fresh stack does not alert at once).
          at(59, ALERTS.bucketStale),
          at(61, ALERTS.bucketStale, [staleRaw]),
          at(120, ALERTS.bucketStale, [staleRaw]),
        ],
      },
      {
        interval: "1m",
        input_series: [{ series: raw, values: "0+1x150" }],
        alert_rule_test: [at(90, ALERTS.bucketStale), at(140, ALERTS.bucketStale)],
      },
      {
        // Objects arrive for 30 minutes, then stop: the alert waits a full window after the last new object.
        interval: "1m",
        input_series: [{ series: raw, values: "0+1x30 30x120" }],
        alert_rule_test: [at(85, ALERTS.bucketStale), at(95, ALERTS.bucketStale, [staleRaw])],
      },
      {
        // Another bucket standing still is not what the alert watches.
        interval: "1m",
        input_series: [
          { series: raw, values: "0+1x150" },
          {
            series: 'minio_bucket_usage_object_total{bucket="logs", job="storage-buckets"}',
            values: "7x150",
          },
        ],
        alert_rule_test: [at(120, ALERTS.bucketStale)],
      },
    ]);
  });

  it("ingest staleness: fires when the last success is older than 60 minutes, only for that job", () => {
    const lastSuccess = (job: string) =>
      `stackport_ingest_last_success_timestamp_seconds{job="${job}", tier="ingestion", instance="${job}:9100"}`;
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [
          // Succeeded once at t=0, never again.
          { series: lastSuccess("ingestion-stuck"), values: "0x120" },
          // Succeeds every minute.
          { series: lastSuccess("ingestion-healthy"), values: "0+60x120" },
        ],
        alert_rule_test: [
          at(59, ALERTS.ingestStale),
          at(61, ALERTS.ingestStale, [
            {
              exp_labels: { job: "ingestion-stuck", tier: "ingestion", severity: "critical" },
              exp_annotations: {
                summary: "No successful ingest for 60 minutes",
                description: "Job ingestion-stuck last reported a successful ingest 1h 1m 0s ago.",
              },
            },
          ]),
        ],
      },
    ]);
  });

  it("ingest failures: fires above 3 failures in 15 minutes, not at 2", () => {
    const failures = (job: string) =>
      `stackport_ingest_failures_total{job="${job}", tier="ingestion", instance="${job}:9100"}`;
    const firing = (job: string, count: string) => ({
      exp_labels: { job, tier: "ingestion", severity: "warning" },
      exp_annotations: {
        summary: "More than 3 failed ingests in 15 minutes",
        description: `Job ${job} recorded ${count} failed ingests in the last 15 minutes.`,
      },
    });
    // Evaluated half-way between samples (rules run every 30s): Prometheus 2.x (closed range) and 3.x (left-open
    // range) then select the same samples and extrapolate `increase` identically, so these values hold for both.
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [
          { series: failures("ingestion-flaky"), values: "0+1x40" },
          { series: failures("ingestion-four"), values: "0x8 4x32" },
          { series: failures("ingestion-two"), values: "0x8 1x4 2x28" },
          { series: failures("ingestion-clean"), values: "0x40" },
        ],
        alert_rule_test: [
          {
            eval_time: "20m30s",
            alertname: ALERTS.ingestFailures,
            exp_alerts: [firing("ingestion-flaky", "15"), firing("ingestion-four", "4.143")],
          },
          // Old failures age out of the window.
          {
            eval_time: "39m30s",
            alertname: ALERTS.ingestFailures,
            exp_alerts: [firing("ingestion-flaky", "15")],
          },
        ],
      },
    ]);
  });

  it("ingest failures: exactly 3 in the window is not 'more than 3' (the boundary is >, not >=)", () => {
    // Two samples a minute apart at the end of the window: Prometheus extrapolates half an interval on each side
    // (the window start is far), so the increase is exactly (11.5 - 10) × 2 = 3 in 2.x and 3.x alike.
    const failures = (job: string) =>
      `stackport_ingest_failures_total{job="${job}", tier="ingestion", instance="${job}:9100"}`;
    const sparse = (first: number, last: number) => `${"_ ".repeat(19)}${first} ${last}`;
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [
          { series: failures("ingestion-three"), values: sparse(10, 11.5) },
          { series: failures("ingestion-more"), values: sparse(10, 11.6) },
        ],
        alert_rule_test: [
          {
            eval_time: "20m30s",
            alertname: ALERTS.ingestFailures,
            exp_alerts: [
              {
                exp_labels: { job: "ingestion-more", tier: "ingestion", severity: "warning" },
                exp_annotations: {
                  summary: "More than 3 failed ingests in 15 minutes",
                  description: "Job ingestion-more recorded 3.2 failed ingests in the last 15 minutes.",
                },
              },
            ],
          },
        ],
      },
    ]);
  });

  it("target down: fires after 5 minutes of up == 0, not for a target that answers", () => {
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [
          { series: 'up{job="storage", instance="storage:9000", tier="storage"}', values: "0x10" },
          { series: 'up{job="proxy", instance="proxy:2019", tier="proxy"}', values: "1x10" },
        ],
        alert_rule_test: [
          at(4, ALERTS.targetDown),
          at(6, ALERTS.targetDown, [
            {
              exp_labels: { job: "storage", instance: "storage:9000", tier: "storage", severity: "critical" },
              exp_annotations: {
                summary: "Scrape target down",
                description: "storage (storage:9000, tier storage) has not answered scrapes for 5 minutes.",
              },
            },
          ]),
        ],
      },
    ]);
  });

  it("storage filling: fires after 15 minutes below 10% free, not at 50%", () => {
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [
          {
            series: 'minio_cluster_capacity_usable_free_bytes{job="storage", server="storage:9000"}',
            values: "5x30",
          },
          {
            series: 'minio_cluster_capacity_usable_total_bytes{job="storage", server="storage:9000"}',
            values: "100x30",
          },
          {
            series: 'minio_cluster_capacity_usable_free_bytes{job="storage-b", server="b:9000"}',
            values: "50x30",
          },
          {
            series: 'minio_cluster_capacity_usable_total_bytes{job="storage-b", server="b:9000"}',
            values: "100x30",
          },
        ],
        alert_rule_test: [
          at(10, ALERTS.storageFilling),
          at(16, ALERTS.storageFilling, [
            {
              exp_labels: { job: "storage", severity: "warning" },
              exp_annotations: {
                summary: "Object storage has less than 10% free capacity",
                description: "storage reports 5% usable capacity free.",
              },
            },
          ]),
        ],
      },
    ]);
  });

  describe("backups (the backup tier's metrics endpoint)", () => {
    const series = (metric: string, database = "platform") =>
      `${metric}{database="${database}", job="backups", instance="backups-metrics:9188", tier="backups"}`;
    const labels = (database: string, severity: string) => ({
      database,
      job: "backups",
      instance: "backups-metrics:9188",
      tier: "backups",
      severity,
    });
    /** 3 hours of samples every minute, each series constant. */
    const constant = (metric: string, value: number, database = "platform") => ({
      series: series(metric, database),
      values: `${value}x180`,
    });
    const M = BACKUP_METRICS;

    it("backup overdue: fires once the last success is MORE than the allowed age old (7200 s: not at 7200, at 7230)", () => {
      // Succeeded at t=60 s. At 2h1m the age is exactly 7200 s: still allowed.
      const overdue = {
        exp_labels: labels("platform", "critical"),
        exp_annotations: {
          summary: "Database backup overdue",
          description:
            "No verified backup of database platform for 2h 0m 30s, longer than its schedule allows: see the backup runner's log (docs/runbooks/restore.md).",
        },
      };
      expectPromtoolTestPasses([
        {
          interval: "1m",
          input_series: [
            constant(M.lastSuccess, 60),
            constant(M.started, 30),
            constant(M.maxAge, 7200),
            constant(M.lastFailure, 0),
            // Another database backed up every minute never alerts.
            { series: series(M.lastSuccess, "other"), values: "0+60x180" },
            constant(M.started, 0, "other"),
            constant(M.maxAge, 7200, "other"),
          ],
          alert_rule_test: [
            { eval_time: "2h1m", alertname: ALERTS.backupStale, exp_alerts: [] },
            { eval_time: "2h1m30s", alertname: ALERTS.backupStale, exp_alerts: [overdue] },
          ],
        },
      ]);
    });

    it("backup overdue before any success counts from the runner's start, not from 1970", () => {
      expectPromtoolTestPasses([
        {
          interval: "1m",
          input_series: [constant(M.lastSuccess, 0), constant(M.started, 600), constant(M.maxAge, 3600)],
          alert_rule_test: [
            { eval_time: "1h10m", alertname: ALERTS.backupStale, exp_alerts: [] },
            {
              eval_time: "1h10m30s",
              alertname: ALERTS.backupStale,
              exp_alerts: [
                {
                  exp_labels: labels("platform", "critical"),
                  exp_annotations: {
                    summary: "Database backup overdue",
                    description:
                      "No verified backup of database platform for 1h 0m 30s, longer than its schedule allows: see the backup runner's log (docs/runbooks/restore.md).",
                  },
                },
              ],
            },
          ],
        },
      ]);
    });

    it("backup failing: fires while the last failure is newer than the last success; not when both are 0", () => {
      expectPromtoolTestPasses([
        {
          interval: "1m",
          input_series: [
            // Nothing attempted yet: equal timestamps are no failure.
            constant(M.lastSuccess, 0, "fresh"),
            constant(M.lastFailure, 0, "fresh"),
            // Failed at 1000 after a success at 500, then succeeded at 1500.
            { series: series(M.lastSuccess), values: "500x60 1500x120" },
            constant(M.lastFailure, 1000),
          ],
          alert_rule_test: [
            {
              eval_time: "30m",
              alertname: ALERTS.backupFailing,
              exp_alerts: [
                {
                  exp_labels: labels("platform", "warning"),
                  exp_annotations: {
                    summary: "Database backup failing",
                    description:
                      "The last backup attempt of database platform failed; older dumps are kept and the runner retries. See its log.",
                  },
                },
              ],
            },
            { eval_time: "90m", alertname: ALERTS.backupFailing, exp_alerts: [] },
          ],
        },
      ]);
    });

    it("restore drill: overdue past its allowed age (> not >=), failed while its last failure is newest", () => {
      expectPromtoolTestPasses([
        {
          interval: "1m",
          input_series: [
            constant(M.drillLastSuccess, 60),
            constant(M.drillStarted, 30),
            constant(M.drillMaxAge, 7200),
            { series: series(M.drillLastFailure), values: "0x120 7000x60" },
            // A drill that never ran has equal (zero) timestamps: no failure.
            constant(M.drillLastSuccess, 0, "fresh"),
            constant(M.drillLastFailure, 0, "fresh"),
          ],
          alert_rule_test: [
            { eval_time: "2h1m", alertname: ALERTS.drillStale, exp_alerts: [] },
            {
              eval_time: "2h1m30s",
              alertname: ALERTS.drillStale,
              exp_alerts: [
                {
                  exp_labels: labels("platform", "warning"),
                  exp_annotations: {
                    summary: "Restore drill overdue",
                    description:
                      "No restore drill of database platform passed for 2h 0m 30s: nobody knows whether the backups restore.",
                  },
                },
              ],
            },
            { eval_time: "1h", alertname: ALERTS.drillFailing, exp_alerts: [] },
            {
              eval_time: "2h30m",
              alertname: ALERTS.drillFailing,
              exp_alerts: [
                {
                  exp_labels: labels("platform", "critical"),
                  exp_annotations: {
                    summary: "Restore drill failed",
                    description:
                      "The last restore drill of database platform failed: the newest dump may not restore. See the drill's log (docs/runbooks/restore.md).",
                  },
                },
              ],
            },
          ],
        },
      ]);
    });
  });

  it("a wrong expectation fails (the harness really runs promtool's assertions)", () => {
    const r = promtoolTest([
      {
        interval: "1m",
        input_series: [{ series: raw, values: "0+1x150" }],
        alert_rule_test: [at(90, ALERTS.bucketStale, [staleRaw])],
      },
    ]);
    expect(r.code).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/StackportBucketStale/);
  });
});

describe("MinIO's metrics behind a bearer token (storage tier)", () => {
  it("the storage scrape jobs read their token from a file, and the config passes promtool with the file in place", () => {
    const here = join(dir, `token-${counter++}`);
    mkdirSync(join(here, "secrets"), { recursive: true });
    writeFileSync(join(here, "secrets", STORAGE_METRICS_TOKEN), "header.claims.signature");
    const config = renderPrometheusConfig({
      scrapeIntervalSeconds: 30,
      targets: [...dockerStorageScrapeTargets(), ...ownScrapeTargets(false)],
      ruleFiles: [],
      secretsDir: join(here, "secrets"),
    });
    const file = join(here, "prometheus.yml");
    writeFileSync(file, config);
    promtoolOk(["check", "config", file]);
    const jobs = (
      parse(config) as { scrape_configs: { job_name: string; authorization?: unknown }[] }
    ).scrape_configs.filter((j) => j.job_name.startsWith("storage"));
    expect(jobs.map((j) => j.authorization)).toEqual([
      { type: "Bearer", credentials_file: join(here, "secrets", STORAGE_METRICS_TOKEN) },
      { type: "Bearer", credentials_file: join(here, "secrets", STORAGE_METRICS_TOKEN) },
    ]);
    expect(config).not.toContain("header.claims.signature");
  });

  it("the secret-files job writes each token for Prometheus' user only and removes tokens no longer given", () => {
    const secrets = join(dir, `files-${counter++}`);
    mkdirSync(secrets);
    writeFileSync(join(secrets, "old.token"), "revoked");
    const script = join(dir, `write-${counter++}.sh`);
    writeFileSync(script, renderSecretFilesScript([STORAGE_METRICS_TOKEN], secrets));
    const r = spawnSync("sh", [script], {
      encoding: "utf8",
      timeout: 30_000,
      env: { PATH: process.env["PATH"], STACKPORT_SECRET_FILE_0: "header.claims.signature" },
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readdirSync(secrets)).toEqual([STORAGE_METRICS_TOKEN]);
    expect(readFileSync(join(secrets, STORAGE_METRICS_TOKEN), "utf8")).toBe("header.claims.signature");
    const st = statSync(join(secrets, STORAGE_METRICS_TOKEN));
    expect([st.mode & 0o777, st.uid]).toEqual([0o400, 65534]);
    expect(shellcheck(readFileSync(script, "utf8"))).toEqual({ code: 0, output: "" });
  });

  it("the token is the JWT mc admin prometheus generate makes: HS512 over iss/sub/exp with the user's secret", () => {
    const token = minioMetricsToken("stackport-metrics", "s3cretKeyOf40chars");
    const [header, claims, signature] = token.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "HS512", typ: "JWT" });
    expect(JSON.parse(Buffer.from(claims!, "base64url").toString())).toEqual({
      iss: "prometheus",
      sub: "stackport-metrics",
      exp: 4102444800,
    });
    const expected = createHmac("sha512", "s3cretKeyOf40chars")
      .update(`${header}.${claims}`)
      .digest("base64url");
    expect(signature).toBe(expected);
    // The same secret always gives the same token: no Prometheus replacement on every update.
    expect(minioMetricsToken("stackport-metrics", "s3cretKeyOf40chars")).toBe(token);
  });
});

describe("a failed scheduled run alerts (promtool test rules; gauges Alloy makes of the runner's log)", () => {
  // As Prometheus stores them after scraping Alloy (job alloy): the stream's tier clashes with the target's.
  const gauge = (metric: string, service: string) =>
    `${metric}{job="alloy", instance="alloy:12345", tier="observability", exported_tier="ingestion", stack="local", role="service", service="${service}", container="stackport-local-ingestion-${service}-1"}`;
  const failed = (service: string) => gauge(SCHEDULE_RUN_METRICS.lastFailure, service);
  const ok = (service: string) => gauge(SCHEDULE_RUN_METRICS.lastSuccess, service);
  const firing = (service: string) => ({
    exp_labels: {
      stack: "local",
      service,
      container: `stackport-local-ingestion-${service}-1`,
      severity: "warning",
    },
    exp_annotations: {
      summary: "A scheduled run failed",
      description: `The last run of scheduled service ${service} (stackport-local-ingestion-${service}-1) failed; the runner goes on with the next one. See its log: the run-end line has the exit code (docs/schedules.md).`,
    },
  });

  it("fires from the failed run's end until the next success; never for a job whose last run succeeded", () => {
    expectPromtoolTestPasses([
      {
        interval: "1m",
        input_series: [
          // Failed at minute 3 (a first run since Alloy started: no success series at all).
          { series: failed("never"), values: "_x3 180x20" },
          // Succeeded at 1, failed at 3, succeeded again at 6.
          { series: ok("recovers"), values: "_ 60x4 360x15" },
          { series: failed("recovers"), values: "_x3 180x17" },
          // Failed once long ago, succeeded since.
          { series: failed("fine"), values: "30x20" },
          { series: ok("fine"), values: "_ 60x19" },
          // The same second for both (the boundary is >, not >=).
          { series: failed("tie"), values: "120x20" },
          { series: ok("tie"), values: "120x20" },
        ],
        alert_rule_test: [
          { eval_time: "2m", alertname: ALERTS.scheduledRunFailed, exp_alerts: [] },
          {
            eval_time: "4m",
            alertname: ALERTS.scheduledRunFailed,
            exp_alerts: [firing("never"), firing("recovers")],
          },
          { eval_time: "7m", alertname: ALERTS.scheduledRunFailed, exp_alerts: [firing("never")] },
        ],
      },
    ]);
  });
});
