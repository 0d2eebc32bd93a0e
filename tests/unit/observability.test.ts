import * as pulumi from "@pulumi/pulumi";
/**
 * The observability tier: its config (defaults, environment-driven publishing, errors that name the key), the alert
 * thresholds reaching the rules, and `DockerObservability` under the mock runtime — the exact children, who may touch
 * the Docker socket, stateful safety, secrets and published ports.
 */
import { DockerObservability } from "../../components/observability/dockerObservability";
import { ALERTS, renderAlertRules } from "../../components/observability/prometheus";
import { configKey } from "../../src/config";
import {
  OBSERVABILITY_IMAGES,
  checkObservability,
  observabilityBindings,
  dockerObservabilityArgs,
  observabilitySchema,
  resolveObservability,
} from "../../src/config/tiers/observability";
import { observabilityUpstreams } from "../../components/observability/settings";
import { SECRET_MASK } from "../../src/synth/recorder";
import { isSecret, one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const parse = (extra: Record<string, unknown> = {}) => observabilitySchema.parse({ on: "t", ...extra });

/** The config keys and messages a bad value produces (resolve.ts prefixes issue paths the same way). */
function problems(extra: Record<string, unknown>) {
  const r = observabilitySchema.safeParse({ on: "t", ...extra });
  if (r.success) throw new Error("expected the schema to refuse the input");
  return r.error.issues.map((i) => ({
    key: configKey(["observability", ...i.path, ...("keys" in i ? i.keys : [])]),
    message: i.message,
  }));
}

describe("stackport:observability config", () => {
  it("defaults: pinned images, 15 days retention, 30 s scrapes, alert thresholds, logs on", () => {
    const cfg = parse();
    expect(cfg).toMatchObject({
      prometheusImage: OBSERVABILITY_IMAGES.prometheus,
      grafanaImage: OBSERVABILITY_IMAGES.grafana,
      lokiImage: OBSERVABILITY_IMAGES.loki,
      alloyImage: OBSERVABILITY_IMAGES.alloy,
      retentionDays: 15,
      scrapeIntervalSeconds: 30,
      logs: true,
      alerts: {
        freshness: { bucket: "raw", maxAgeMinutes: 60 },
        ingestStaleMinutes: 60,
        ingestFailures: { maxPerWindow: 3, windowMinutes: 15 },
        diskFreePercent: 10,
      },
      memoryMb: { prometheus: 1024, grafana: 512, loki: 1024, alloy: 256 },
    });
    for (const image of Object.values(OBSERVABILITY_IMAGES)) expect(image).toMatch(/:v?\d+\.\d+\.\d+$/);
    // A partial nested value keeps the other defaults.
    expect(parse({ alerts: { diskFreePercent: 5 } }).alerts.ingestFailures).toEqual({
      maxPerWindow: 3,
      windowMinutes: 15,
    });
  });

  it("publishes Grafana and Prometheus on loopback in local, nowhere elsewhere, unless configured", () => {
    const local = resolveObservability(parse(), "local");
    expect(local.publishGrafana).toEqual({ port: 3000, address: "127.0.0.1" });
    expect(local.publishPrometheus).toEqual({ port: 9090, address: "127.0.0.1" });
    const staging = resolveObservability(parse(), "staging");
    expect([staging.publishGrafana, staging.publishPrometheus]).toEqual([undefined, undefined]);
    const lan = resolveObservability(
      parse({ publishGrafana: { port: 3300, address: "192.168.1.20" }, publishPrometheus: false }),
      "local",
    );
    expect(lan.publishGrafana).toEqual({ port: 3300, address: "192.168.1.20" });
    expect(lan.publishPrometheus).toBeUndefined();
    expect(observabilityBindings(lan)).toEqual([
      {
        key: "stackport:observability.publishGrafana.port",
        binding: { port: 3300, address: "192.168.1.20" },
      },
    ]);
  });

  it.each([
    [{ prometheusImage: "prom/prometheus:latest" }, "stackport:observability.prometheusImage", /:latest/],
    [{ grafanaImage: "grafana/grafana" }, "stackport:observability.grafanaImage", /pinned/],
    [{ retentionDays: 0 }, "stackport:observability.retentionDays", />=1/],
    [{ scrapeIntervalSeconds: 1 }, "stackport:observability.scrapeIntervalSeconds", />=5/],
    [
      { alerts: { freshness: { bucket: "Raw_Data" } } },
      "stackport:observability.alerts.freshness.bucket",
      /bucket name/,
    ],
    [{ alerts: { ingestStale: 5 } }, "stackport:observability.alerts.ingestStale", /ingestStale/],
    [{ logs: "yes" }, "stackport:observability.logs", /boolean/],
    [
      { publishGrafana: { port: 3000, address: "all" } },
      "stackport:observability.publishGrafana.address",
      /IPv4/,
    ],
  ])("refuses %j, naming %s", (extra, key, message) => {
    expect(problems(extra)).toEqual(
      expect.arrayContaining([{ key, message: expect.stringMatching(message) }]),
    );
  });

  it("the freshness alert must watch a bucket the storage tier creates", () => {
    const ctx = (buckets?: string[]) => ({
      environment: "local" as const,
      targets: { t: { kind: "docker" as const, dataRoot: "/srv/stackport", isolateBackend: false } },
      ...(buckets && { storage: { buckets: Object.fromEntries(buckets.map((b) => [b, {}])) } }),
    });
    expect(checkObservability({ ...ctx(["raw", "tiles"]), observability: parse() })).toEqual([]);
    expect(checkObservability({ ...ctx(["tiles", "logs"]), observability: parse() })).toEqual([
      {
        key: "stackport:observability.alerts.freshness.bucket",
        message: "unknown bucket 'raw'; stackport:storage.buckets has: tiles, logs",
      },
    ]);
    expect(checkObservability({ ...ctx(), observability: parse() })[0]!.key).toBe(
      "stackport:observability.alerts.freshness",
    );
    expect(checkObservability({ ...ctx(), observability: parse({ alerts: { freshness: false } }) })).toEqual(
      [],
    );
    expect(checkObservability(ctx(["raw"]))).toEqual([]);
  });

  it("exposes Grafana to the proxy as `grafana`", () => {
    expect(observabilityUpstreams()).toEqual({
      grafana: { tier: "observability", host: "grafana", port: 3000, healthPath: "/api/health" },
    });
  });
});

describe("alert thresholds from config reach the rules", () => {
  it("uses the configured bucket, windows and limits", () => {
    const rules = renderAlertRules(
      parse({
        alerts: {
          freshness: { bucket: "derived", maxAgeMinutes: 30 },
          ingestStaleMinutes: 10,
          ingestFailures: { maxPerWindow: 0, windowMinutes: 5 },
          diskFreePercent: 25,
        },
      }).alerts,
    );
    expect(rules).toContain('changes(minio_bucket_usage_object_total{bucket="derived"}[30m])');
    expect(rules).toContain("offset 30m");
    expect(rules).toContain("(stackport_ingest_last_success_timestamp_seconds) > 600");
    expect(rules).toContain("increase(stackport_ingest_failures_total[5m])) > 0");
    expect(rules).toContain("< 25");
  });

  it("freshness: false drops only the bucket alert", () => {
    const rules = renderAlertRules(parse({ alerts: { freshness: false } }).alerts);
    expect(rules).not.toContain(ALERTS.bucketStale);
    expect(rules).toContain(ALERTS.ingestStale);
  });
});

const placementAndTier = (
  environment: "local" | "staging",
  extra: Record<string, unknown> = {},
  opts: { routed?: boolean } = {},
) => {
  const local = environment === "local";
  return new DockerObservability("observability", {
    ...dockerObservabilityArgs(resolveObservability(parse(extra), environment), {
      safety: { protect: !local, retainOnDelete: !local },
      targets: [
        {
          job: "storage",
          tier: "storage",
          addresses: ["storage:9000"],
          metricsPath: "/minio/v2/metrics/cluster",
        },
      ],
      ...(opts.routed !== undefined && { routed: opts.routed }),
    }),
    placement: testPlacement(),
  });
};

const children = (recorder: Awaited<ReturnType<typeof record>>["recorder"]) =>
  recorder.resources
    .filter((r) => r.parent === "observability")
    .map((r) => `${r.type} ${r.name}`)
    .sort();

describe("DockerObservability", () => {
  it.each([false, true])("registers exactly the tier's children (preview=%s)", async (preview) => {
    const { recorder } = await record(() => placementAndTier("staging"), { preview });
    expect(one(recorder, "observability").type).toBe("stackport:docker:Observability");
    expect(children(recorder)).toEqual(
      [
        "docker:index/container:Container observability-alloy",
        "docker:index/container:Container observability-grafana",
        "docker:index/container:Container observability-loki",
        "docker:index/container:Container observability-prometheus",
        "docker:index/remoteImage:RemoteImage observability-alloy-image",
        "docker:index/remoteImage:RemoteImage observability-grafana-image",
        "docker:index/remoteImage:RemoteImage observability-loki-image",
        "docker:index/remoteImage:RemoteImage observability-prometheus-image",
        "docker:index/volume:Volume observability-grafana-data",
        "docker:index/volume:Volume observability-loki-data",
        "docker:index/volume:Volume observability-prometheus-data",
        "random:index/randomPassword:RandomPassword observability-grafana-admin-password",
      ].sort(),
    );
  });

  it("logs: false leaves out Loki and Alloy", async () => {
    const { recorder } = await record(() => placementAndTier("local", { logs: false }));
    expect(children(recorder).filter((c) => /loki|alloy/.test(c))).toEqual([]);
    expect(children(recorder)).toHaveLength(7);
  });

  it("only Alloy reaches the Docker socket, read-only, and it is labelled the log collector", async () => {
    const { recorder } = await record(() => placementAndTier("staging"));
    const containers = recorder.byType("docker:index/container:Container");
    const mountsSocket = containers
      .filter((c) => JSON.stringify([c.inputs["volumes"], c.inputs["mounts"]]).includes("docker.sock"))
      .map((c) => c.name);
    expect(mountsSocket).toEqual(["observability-alloy"]);
    const alloy = one(recorder, "observability-alloy");
    expect(alloy.inputs["volumes"]).toEqual([
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
    ]);
    expect(alloy.inputs["labels"]).toEqual(
      expect.arrayContaining([
        { label: "stackport.role", value: "log-collector" },
        { label: "stackport.managed-by", value: "stackport" },
      ]),
    );
    expect(alloy.dependsOn).toContain("observability-loki");
  });

  it.each([
    ["staging", true],
    ["local", false],
  ] as const)("%s: every data volume has protect and retainOnDelete = %s", async (environment, safe) => {
    const { recorder } = await record(() => placementAndTier(environment), { stack: environment });
    const volumes = recorder.byType("docker:index/volume:Volume").filter((v) => v.parent === "observability");
    expect(volumes.map((v) => [v.name, v.protect, v.retainOnDelete, v.inputs["name"]]).sort()).toEqual(
      ["grafana", "loki", "prometheus"].map((role) => [
        `observability-${role}-data`,
        safe,
        safe,
        `${environment}-observability-${role}-data`,
      ]),
    );
  });

  it("Grafana's admin password is a Pulumi secret: masked in the plan, secret as an output", async () => {
    const { recorder, result } = await record(() => placementAndTier("staging"));
    expect(one(recorder, "observability-grafana").inputs["envs"]).toBe(SECRET_MASK);
    expect(JSON.stringify(recorder.resources)).not.toContain(
      "mock-password-observability-grafana-admin-password",
    );
    expect(await isSecret(result.grafanaAdminPassword)).toBe(true);
    expect(await valueOf(result.prometheusUrl)).toBe("http://prometheus:9090");
  });

  it("local: Grafana and Prometheus on loopback only; staging: nothing published", async () => {
    const ports = async (environment: "local" | "staging") => {
      const { recorder } = await record(() => placementAndTier(environment));
      return Object.fromEntries(
        recorder.byType("docker:index/container:Container").map((c) => [c.name, c.inputs["ports"] ?? []]),
      );
    };
    expect(await ports("local")).toEqual({
      "observability-prometheus": [{ internal: 9090, external: 9090, ip: "127.0.0.1", protocol: "tcp" }],
      "observability-grafana": [{ internal: 3000, external: 3000, ip: "127.0.0.1", protocol: "tcp" }],
      "observability-loki": [],
      "observability-alloy": [],
    });
    for (const p of Object.values(await ports("staging"))) expect(p).toEqual([]);
  });

  it("every container is on the backend network under its alias; Grafana joins edge only when routed", async () => {
    const networks = async (routed: boolean) => {
      const { recorder } = await record(() => placementAndTier("staging", {}, { routed }));
      return Object.fromEntries(
        recorder
          .byType("docker:index/container:Container")
          .map((c) => [c.name, c.inputs["networksAdvanced"]]),
      );
    };
    const backend = (alias: string) => ({ name: "test-backend", aliases: [alias] });
    expect(await networks(false)).toEqual({
      "observability-prometheus": [backend("prometheus")],
      "observability-grafana": [backend("grafana")],
      "observability-loki": [backend("loki")],
      "observability-alloy": [backend("alloy")],
    });
    expect((await networks(true))["observability-grafana"]).toEqual([
      backend("grafana"),
      { name: "test-edge", aliases: ["grafana"] },
    ]);
  });

  it("Prometheus keeps the configured retention on its volume and waits until ready", async () => {
    const { recorder } = await record(() => placementAndTier("staging", { retentionDays: 30 }));
    const prometheus = one(recorder, "observability-prometheus");
    expect(prometheus.inputs["command"]).toEqual([
      "--config.file=/etc/prometheus/prometheus.yml",
      "--storage.tsdb.path=/prometheus",
      "--storage.tsdb.retention.time=30d",
    ]);
    // No lifecycle API (/-/quit, /-/reload) for anything on the backend network to call.
    expect(JSON.stringify(prometheus.inputs)).not.toContain("enable-lifecycle");
    expect(prometheus.inputs["volumes"]).toEqual([
      { volumeName: "test-observability-prometheus-data", containerPath: "/prometheus" },
    ]);
    expect(prometheus.inputs).toMatchObject({ wait: true, memory: 1024, restart: "unless-stopped" });
    expect(prometheus.inputs["healthcheck"]).toMatchObject({
      tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"],
    });
    expect(one(recorder, "observability-loki").inputs["healthcheck"]).toMatchObject({
      tests: ["CMD", "/usr/bin/loki", "-health"],
    });
  });

  it("a scrape job clashing with the tier's own fails before the tier registers anything", async () => {
    const { recorder, result } = await record(() => {
      const placement = testPlacement();
      try {
        new DockerObservability("observability", {
          placement,
          safety: { protect: false, retainOnDelete: false },
          targets: [{ job: "grafana", tier: "ingestion", addresses: ["grafana-exporter:9100"] }],
        });
      } catch (e) {
        return String(e);
      }
      return "no error";
    });
    expect(result).toMatch(/scrape job 'grafana' is declared twice/);
    expect(recorder.resources.filter((r) => r.name.startsWith("observability"))).toEqual([]);
  });
});

describe("scrape secrets (MinIO's metrics token)", () => {
  const target = {
    job: "storage",
    tier: "storage",
    addresses: ["storage:9000"],
    metricsPath: "/minio/v2/metrics/cluster",
    bearerToken: "storage-metrics.token",
  };
  const tier = (scrapeSecrets: Record<string, pulumi.Input<string>>) =>
    new DockerObservability("observability", {
      placement: testPlacement(),
      targets: [target],
      scrapeSecrets,
    });

  it("reach Prometheus as a read-only file, never in its arguments, uploads or the plan", async () => {
    const { recorder } = await record(() => tier({ "storage-metrics.token": pulumi.secret("tok.en.sig") }));
    const prometheus = one(recorder, "observability-prometheus");
    // prometheus.yml stays readable in the plan, and names the file, not the token.
    const uploads = prometheus.inputs["uploads"] as { file: string; content: string }[];
    const yml = uploads.find((u) => u.file.endsWith("prometheus.yml"))!.content;
    expect(yml).toContain("credentials_file: /etc/prometheus/secrets/storage-metrics.token");
    expect(JSON.stringify(recorder.resources)).not.toContain("tok.en.sig");
    expect(prometheus.inputs["volumes"]).toContainEqual({
      volumeName: "test-observability-secrets",
      containerPath: "/etc/prometheus/secrets",
      readOnly: true,
    });
    const job = one(recorder, "observability-secrets");
    expect(job.inputs["envs"]).toBe("[secret]");
    expect(job.inputs["user"]).toBe("0");
    expect(prometheus.dependsOn).toContain("observability-secrets");
  });

  it("refuses a target whose token is missing, and a token nothing uses, naming the arg path", () => {
    expect(() => tier({})).toThrow(
      "targets[0].bearerToken: names 'storage-metrics.token', which scrapeSecrets does not have",
    );
    expect(() => tier({ "storage-metrics.token": "t", "../x": "t" })).toThrow(
      "scrapeSecrets.../x: must be a plain file name",
    );
  });
});
