/**
 * A database moving from one homelab host to another, phase by phase: each phase synthesizes to the placement the
 * runbook promises — both sides where they must be, the copy job in replicate and backfill, writers at zero and
 * their routes in maintenance during the freeze, the source gone (its data retained) after decommission.
 */
import { ConfigError, resolveConfig } from "../../src/config";
import type { RecordedResource } from "../../src/synth/recorder";
import { synthesizeConfig } from "../harness";

const access = { source: { host: "127.0.0.1", port: 15432 }, target: { host: "127.0.0.1", port: 25432 } };

function stack(phase: string, consumersOn = "homelab") {
  return {
    environment: "staging",
    targets: {
      homelab: { kind: "docker", host: "ssh://deploy@homelab.lan" },
      nas: { kind: "docker", host: "ssh://deploy@nas.lan" },
    },
    database: { on: "homelab" },
    proxy: { on: consumersOn, domain: "platform.home.lan", tls: { mode: "internal" } },
    ingestion: {
      on: consumersOn,
      broker: false,
      services: {
        api: {
          image: "ghcr.io/example/api:1.0.0",
          port: 8000,
          connections: { database: "app_writer" },
          route: { path: "/api", allowFrom: ["192.168.1.0/24"] },
        },
        reports: { image: "ghcr.io/example/reports:1.0.0", connections: { database: "app_reader" } },
      },
    },
    cutover: { database: { from: "homelab", to: "nas", phase, access } },
  };
}

const names = (rs: RecordedResource[]) => new Set(rs.map((r) => r.name));
const providerOf = (rs: RecordedResource[], name: string) => rs.find((r) => r.name === name)?.provider;

describe("database cutover homelab → nas", () => {
  it("replicate: the target is created beside the source and gets the initial copy; everything keeps serving", async () => {
    const { resources } = await synthesizeConfig("staging", stack("replicate"));
    const n = names(resources);
    expect(n).toContain("database-server");
    expect(n).toContain("database-nas-server");
    expect(providerOf(resources, "database-server")).toBe("homelab-docker");
    expect(providerOf(resources, "database-nas-server")).toBe("nas-docker");
    const copy = resources.find((r) => r.name === "database-cutover-initial-copy")!;
    expect(copy.type).toBe("command:local:Command");
    expect(String(copy.inputs["create"])).not.toContain("backfill-verify");
    expect(copy.inputs["environment"]).toBe("[secret]");
    // Depending on a component waits for all its children: the copy starts after both bootstraps.
    expect(copy.dependsOn).toEqual(expect.arrayContaining(["database-bootstrap", "database-nas-bootstrap"]));
    expect(n).toContain("ingestion-api-1");
  });

  it("freeze: writers scaled to zero, their routes answer maintenance, readers keep running, no copy", async () => {
    const { resources } = await synthesizeConfig("staging", stack("freeze"));
    const n = names(resources);
    expect(n).not.toContain("ingestion-api-1");
    expect(n).toContain("ingestion-reports-1");
    expect(n).toContain("database-server");
    expect(n).toContain("database-nas-server");
    const proxy = resources.find((r) => r.type === "stackport:docker:Proxy")!;
    expect(proxy.inputs["maintenanceRoutes"]).toEqual(["api"]);
    expect([...n].some((x) => x.startsWith("database-cutover-"))).toBe(false);
  });

  it("backfill: still frozen, the final copy runs and is verified (a mismatch fails the update)", async () => {
    const { resources } = await synthesizeConfig("staging", stack("backfill"));
    const copy = resources.find((r) => r.name === "database-cutover-final-copy")!;
    expect(String(copy.inputs["create"])).toContain("backfill-verify");
    expect(names(resources)).not.toContain("ingestion-api-1");
  });

  it("switch: consumers move with the serving side in the same update, writers are back", async () => {
    const { resources } = await synthesizeConfig("staging", stack("switch", "nas"));
    const n = names(resources);
    expect(n).toContain("database-server");
    expect(n).toContain("database-nas-server");
    expect(providerOf(resources, "ingestion-api-1")).toBe("nas-docker");
    const proxy = resources.find((r) => r.type === "stackport:docker:Proxy")!;
    expect(proxy.inputs["maintenanceRoutes"]).toEqual([]);
  });

  it("switch refuses consumers left on the source side", () => {
    expect(() => resolveConfig(stack("switch"))).toThrow(
      /stackport:ingestion\.services\.api\.connections\.database: uses the database, but stackport:database is served from \(cutover\) 'nas'/,
    );
  });

  it("decommission: only the target side remains", async () => {
    const { resources } = await synthesizeConfig("staging", stack("decommission", "nas"));
    const n = names(resources);
    expect(n).not.toContain("database-server");
    expect(n).toContain("database-nas-server");
    expect(resources.find((r) => r.name === "database-nas-data")).toMatchObject({
      protect: true,
      retainOnDelete: true,
    });
  });

  it("a copying phase without access names the key", () => {
    const cfg = stack("replicate");
    delete (cfg.cutover.database as { access?: unknown }).access;
    try {
      resolveConfig(cfg);
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues.map((i) => i.key)).toContain("stackport:cutover.database.access");
    }
  });
});
