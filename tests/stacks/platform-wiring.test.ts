/**
 * How the Docker stacks wire the tiers together (issue 3): all six tiers present, every metrics port scraped,
 * every routed service behind a proxy route, only routed services (and the proxy) on the edge network, and no
 * service ever handed the migration role's credentials.
 */
import { parse } from "yaml";
import { resolveConfig, rawNamespace } from "../../src/config";
import { upstreamCatalog } from "../../src/config/upstreams";
import type { RecordedResource } from "../../src/synth/recorder";
import { readStackFile } from "../../src/synth/stackFile";
import { ROOT, synthesizeStack } from "../harness";

const CONTAINER = "docker:index/container:Container";
const labels = (r: RecordedResource) =>
  Object.fromEntries(
    ((r.inputs["labels"] as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]),
  );

describe.each(["local", "staging"])("stack %s", (stack) => {
  const file = readStackFile(ROOT, stack);
  const cfg = resolveConfig(rawNamespace(file.config));
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await synthesizeStack(stack)).resources;
  });

  it("places all six tiers", () => {
    const tiers = resources
      .filter((r) => r.type.startsWith("stackport:docker:"))
      .map((r) => r.type.split(":")[2]);
    expect(tiers).toEqual(
      expect.arrayContaining(["ObjectStorage", "Database", "Proxy", "Ingestion", "Basemap", "Observability"]),
    );
  });

  it("scrapes every service that exposes metrics, storage and the tile server", () => {
    // The prometheus.yml the container really receives.
    const prometheus = resources.find((r) => r.name === "observability-prometheus")!;
    const uploads = prometheus.inputs["uploads"] as { file: string; content: string }[];
    const prometheusYaml = uploads.find((u) => u.file.endsWith("prometheus.yml"))!.content;
    const scraped = new Set<string>(
      (
        parse(prometheusYaml) as { scrape_configs: { static_configs: { targets: string[] }[] }[] }
      ).scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets)),
    );
    for (const [svc, s] of Object.entries(cfg.ingestion!.services)) {
      if (!s.metrics) continue;
      for (let n = 1; n <= (s.replicas ?? 1); n++) expect(scraped).toContain(`${svc}-${n}:${s.metrics.port}`);
    }
    expect(scraped).toContain("storage:9000");
    expect(scraped).toContain("basemap:3000");
    expect(scraped).toContain("proxy:2020");
  });

  it("gives every routed service a proxy route, and puts only routed services and the proxy on edge", () => {
    const routed = Object.entries(cfg.ingestion!.services)
      .filter(([, s]) => s.route)
      .map(([svc]) => svc);
    expect(routed.length).toBeGreaterThan(0);
    for (const svc of routed) expect(cfg.proxy!.routes[svc]?.to).toBe(svc);
    const edge = `${stack}-edge`;
    for (const c of resources.filter((r) => r.type === CONTAINER)) {
      const networks = ((c.inputs["networksAdvanced"] as { name: string }[]) ?? []).map((n) => n.name);
      if (!networks.includes(edge)) continue;
      const l = labels(c);
      const routedService =
        l["stackport.tier"] === "ingestion" && routed.includes(l["stackport.service"] ?? "");
      const routedGrafana = c.name === "observability-grafana";
      expect([c.name, l["stackport.tier"] === "proxy" || routedService || routedGrafana]).toEqual([
        c.name,
        true,
      ]);
    }
  });

  it("never hands a service a migration role: only app_writer / app_reader, or an extra database's writer / reader", () => {
    for (const s of Object.values(cfg.ingestion!.services)) {
      const db = s.connections.database;
      if (typeof db === "object") expect(["writer", "reader"]).toContain(db.role);
      else expect([undefined, "app_writer", "app_reader"]).toContain(db);
    }
    const services = resources.filter(
      (r) => r.type === CONTAINER && labels(r)["stackport.tier"] === "ingestion",
    );
    expect(services.length).toBeGreaterThan(0);
    // Credentials are secrets (masked); the plan never carries a db_admin URL in the clear.
    expect(JSON.stringify(services)).not.toMatch(/db_admin/);
  });
});

describe("staging's basemap disk cache", () => {
  const cfg = resolveConfig(rawNamespace(readStackFile(ROOT, "staging").config));
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await synthesizeStack("staging")).resources;
  });

  it("sends /tiles through the cache, which reaches Martin on the backend network", () => {
    expect(cfg.basemap!.diskCache).toEqual({ sizeGb: 20, maxAge: "1d", image: "nginx:1.27.3-alpine" });
    expect(upstreamCatalog(cfg)["basemap"]).toMatchObject({ host: "basemap-cache", port: 8080 });
    const networks = (name: string) =>
      resources.find((r) => r.name === name)!.inputs["networksAdvanced"] as {
        name: string;
        aliases: string[];
      }[];
    expect(networks("basemap-cache")).toEqual([{ name: "staging-backend", aliases: ["basemap-cache"] }]);
    expect(networks("basemap-server")).toEqual([{ name: "staging-backend", aliases: ["basemap"] }]);
    const nginxConf = (
      resources.find((r) => r.name === "basemap-cache")!.inputs["uploads"] as { content: string }[]
    )[0]!.content;
    expect(nginxConf).toContain("set $martin http://basemap:3000;");
    expect(nginxConf).toContain("max_size=20g inactive=1d");
  });
});
