/**
 * The files `DockerObservability` uploads into Grafana and Alloy, taken from what the component really registered
 * (mock runtime): provisioning YAML parses, is `apiVersion: 1`, points at the services' network aliases; the dashboard
 * JSON parses and every datasource it uses is provisioned.
 *
 * There is no Grafana or Alloy binary on the build machines (no Debian package), so Alloy's config is checked with
 * targeted structural assertions, not by the tool: that gap is deliberate and documented in docs/observability.md.
 */
import { parse } from "yaml";
import { ALLOY_CONFIG_PATH, DockerObservability } from "../../components/observability/dockerObservability";
import { DATASOURCE_UIDS, renderPlatformDashboard } from "../../components/observability/grafana";
import { standardLabels } from "../../components/shared/labels";
import { one, record } from "../harness";
import { testPlacement } from "../support/placement";

interface Upload {
  file: string;
  content: string;
}
interface Datasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  access: string;
  isDefault: boolean;
}
interface DashboardRef {
  type: string;
  uid: string;
}
interface Dashboard {
  uid: string;
  panels: {
    title: string;
    type: string;
    datasource: DashboardRef;
    targets: { datasource: DashboardRef }[];
  }[];
}

/** Registers the tier and returns the uploads of each container, by container role. */
async function deployed(logs: boolean) {
  const { recorder } = await record(
    () =>
      new DockerObservability("observability", {
        logs,
        placement: testPlacement(),
        safety: { protect: false, retainOnDelete: false },
        targets: [{ job: "storage", tier: "storage", addresses: ["storage:9000"] }],
      }),
    { stack: "local" },
  );
  const uploads = (name: string) => {
    const list = one(recorder, name).inputs["uploads"] as Upload[] | undefined;
    return Object.fromEntries((list ?? []).map((u) => [u.file, u.content]));
  };
  const aliases = (name: string) =>
    (one(recorder, name).inputs["networksAdvanced"] as { aliases: string[] }[]).flatMap((n) => n.aliases);
  return { recorder, uploads, aliases };
}

const DATASOURCES = "/etc/grafana/provisioning/datasources/stackport.yaml";
const PROVIDERS = "/etc/grafana/provisioning/dashboards/stackport.yaml";
const DASHBOARD = "/etc/grafana/dashboards/platform.json";

describe("Grafana provisioning", () => {
  it.each([true, false])(
    "logs=%s: every uploaded file parses, apiVersion 1, URLs are the services' aliases",
    async (logs) => {
      const { uploads, aliases } = await deployed(logs);
      const files = uploads("observability-grafana");
      expect(Object.keys(files).sort()).toEqual([DASHBOARD, PROVIDERS, DATASOURCES].sort());

      const ds = parse(files[DATASOURCES]!) as { apiVersion: number; datasources: Datasource[] };
      expect(ds.apiVersion).toBe(1);
      const byType = Object.fromEntries(ds.datasources.map((d) => [d.type, d]));
      expect(byType["prometheus"]).toMatchObject({
        url: "http://prometheus:9090",
        uid: DATASOURCE_UIDS.prometheus,
        access: "proxy",
        isDefault: true,
      });
      expect(ds.datasources.filter((d) => d.isDefault)).toHaveLength(1);
      // The URL's host is the alias the container really has on the backend network.
      expect(aliases("observability-prometheus")).toContain("prometheus");
      if (logs) {
        expect(byType["loki"]).toMatchObject({
          url: "http://loki:3100",
          uid: DATASOURCE_UIDS.loki,
          access: "proxy",
        });
        expect(aliases("observability-loki")).toContain("loki");
      } else {
        expect(byType["loki"]).toBeUndefined();
      }

      const providers = parse(files[PROVIDERS]!) as {
        apiVersion: number;
        providers: { type: string; options: { path: string } }[];
      };
      expect(providers.apiVersion).toBe(1);
      expect(providers.providers).toHaveLength(1);
      expect(providers.providers[0]!.type).toBe("file");
      // The provider reads the directory the dashboard is uploaded to.
      expect(DASHBOARD.startsWith(`${providers.providers[0]!.options.path}/`)).toBe(true);

      const dashboard = JSON.parse(files[DASHBOARD]!) as Dashboard;
      const provisioned = new Map(ds.datasources.map((d) => [d.uid, d.type]));
      expect(dashboard.panels.length).toBeGreaterThanOrEqual(6);
      for (const panel of dashboard.panels) {
        for (const ref of [panel.datasource, ...panel.targets.map((t) => t.datasource)]) {
          expect({ panel: panel.title, uid: ref.uid, type: provisioned.get(ref.uid) }).toEqual({
            panel: panel.title,
            uid: ref.uid,
            type: ref.type,
          });
        }
      }
      expect(dashboard.panels.some((p) => p.type === "logs")).toBe(logs);
    },
  );

  it("the dashboard covers targets, ingest freshness and failures, MinIO capacity, and lists every job", () => {
    const dashboard = JSON.parse(
      renderPlatformDashboard({ jobs: ["storage", "api", "api"], logs: true }),
    ) as {
      panels: { targets: { expr: string }[] }[];
      templating: { list: { name: string; query: string }[] };
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
    for (const metric of [
      "up{",
      "stackport_ingest_last_success_timestamp_seconds",
      "stackport_ingest_failures_total",
      "minio_bucket_usage_object_total",
      "minio_cluster_capacity_usable_free_bytes",
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(dashboard.templating.list.find((v) => v.name === "job")!.query).toBe("api,storage");
  });
});

describe("Alloy config (structural checks: no Alloy binary on the build machines)", () => {
  it("reads only this stack's stackport containers from the mounted socket and pushes to Loki", async () => {
    const { uploads, recorder } = await deployed(true);
    const config = uploads("observability-alloy")[ALLOY_CONFIG_PATH]!;
    expect(config).toBeDefined();

    // Every block the pipeline needs, wired to each other by name.
    expect(config).toMatch(/^discovery\.docker "containers" \{$/m);
    expect(config).toMatch(
      /^discovery\.relabel "stackport" \{\n {2}targets = discovery\.docker\.containers\.targets$/m,
    );
    expect(config).toMatch(/targets {4}= discovery\.relabel\.stackport\.output/);
    expect(config).toMatch(/forward_to = \[loki\.write\.local\.receiver\]/);
    expect(config).toMatch(
      /^loki\.write "local" \{\n {2}endpoint \{\n {4}url = "http:\/\/loki:3100\/loki\/api\/v1\/push"$/m,
    );

    // The keep rules name the labels stackport really puts on containers (Docker label → Alloy meta label).
    const labels = standardLabels("any");
    const meta = (label: string) => `__meta_docker_container_label_${label.replace(/[.-]/g, "_")}`;
    const keep = (label: string, value: string) =>
      new RegExp(
        `source_labels = \\["${meta(label)}"\\]\\n\\s+regex\\s+= "${value}"\\n\\s+action\\s+= "keep"`,
      );
    expect(config).toMatch(keep("stackport.managed-by", labels["stackport.managed-by"]!));
    expect(config).toMatch(keep("stackport.stack", "local"));
    expect(config).toMatch(new RegExp(`"${meta("stackport.tier")}"\\]\\n\\s+target_label\\s+= "tier"`));

    // The socket Alloy talks to is the one mounted into it.
    const volumes = one(recorder, "observability-alloy").inputs["volumes"] as {
      hostPath: string;
      containerPath: string;
    }[];
    const socket = /host = "unix:\/\/([^"]+)"/.exec(config)![1]!;
    expect(volumes.map((v) => v.containerPath)).toContain(socket);

    // Balanced braces and no unterminated strings: the cheapest syntax checks that catch a broken template.
    expect(config.split("{").length).toBe(config.split("}").length);
    for (const line of config.split("\n"))
      expect((line.replace(/\\"/g, "").match(/"/g) ?? []).length % 2).toBe(0);
  });
});
