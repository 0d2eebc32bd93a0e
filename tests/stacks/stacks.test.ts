/**
 * Every shipped Pulumi.<stack>.yaml, synthesized exactly as `npm run synth` does, in both engine modes, with the
 * inventory and the invariants users rely on.
 */
import { listStacks, readStackFile } from "../../src/synth/stackFile";
import type { RecordedResource } from "../../src/synth/recorder";
import { ROOT, synthesizeStack } from "../harness";

const CONTAINER = "docker:index/container:Container";
const VOLUME = "docker:index/volume:Volume";
// The Docker stacks; the AWS ones have their own invariants (aws-stacks.test.ts).
const stacks = listStacks(ROOT).filter((s) => s !== "production");

const labelsOf = (r: RecordedResource) =>
  Object.fromEntries(
    ((r.inputs["labels"] as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]),
  );

it("ships the local and staging stacks", () => {
  expect(stacks).toEqual(expect.arrayContaining(["local", "staging"]));
});

describe.each(stacks.flatMap((s) => [[s, false] as const, [s, true] as const]))(
  "stack %s (preview=%s)",
  (stack, preview) => {
    let resources: RecordedResource[];
    beforeAll(async () => {
      resources = (await synthesizeStack(stack, { preview })).resources;
    });

    it("records a non-empty plan with unique logical names", () => {
      expect(resources.length).toBeGreaterThan(10);
      const names = resources.map((r) => `${r.type}::${r.name}`);
      expect(new Set(resources.map((r) => r.name)).size).toBe(names.length);
    });

    it("never publishes the database port on all interfaces", () => {
      for (const c of resources.filter((r) => r.type === CONTAINER)) {
        for (const p of (c.inputs["ports"] as { internal: number; ip?: string }[]) ?? []) {
          if (p.internal === 5432) expect(p.ip).toBeDefined();
          if (p.internal === 5432) expect(p.ip).not.toBe("0.0.0.0");
        }
      }
    });

    it("binds nothing but the proxy to a non-loopback address, except a service port bound to a named LAN address", () => {
      // A service's published port binds loopback, or one address the target names (`addresses`, `bind: <name>`).
      const targets = JSON.parse(readStackFile(ROOT, stack).config["stackport:targets"]!) as Record<
        string,
        { addresses?: Record<string, string> }
      >;
      const named = Object.values(targets).flatMap((t) => Object.values(t.addresses ?? {}));
      for (const c of resources.filter(
        (r) => r.type === CONTAINER && labelsOf(r)["stackport.tier"] !== "proxy",
      )) {
        const allowed = labelsOf(c)["stackport.role"] === "service" ? ["127.0.0.1", ...named] : ["127.0.0.1"];
        for (const p of (c.inputs["ports"] as { ip?: string }[]) ?? []) expect(allowed).toContain(p.ip);
      }
    });

    it("labels every container, volume and network with stack, tier and managed-by", () => {
      const labelled = resources.filter(
        (r) => r.type === CONTAINER || r.type === VOLUME || r.type === "docker:index/network:Network",
      );
      expect(labelled.length).toBeGreaterThan(0);
      for (const r of labelled) {
        expect(labelsOf(r)).toEqual(
          expect.objectContaining({
            "stackport.stack": stack,
            "stackport.managed-by": "stackport",
            "stackport.tier": expect.any(String),
          }),
        );
      }
    });

    it("gives every Docker resource an explicit provider", () => {
      for (const r of resources.filter((x) => x.type.startsWith("docker:index/")))
        expect(r.provider).toMatch(/-docker$/);
    });

    it("never shows a secret's value", () => {
      expect(JSON.stringify(resources)).not.toMatch(/mock-password|mockhash/);
    });
  },
);

describe("local stack inventory", () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await synthesizeStack("local")).resources;
  });
  const names = () => resources.map((r) => `${r.type} ${r.name}`);

  it("holds MinIO, PostGIS and Caddy with their volumes, networks and bootstrap jobs", () => {
    expect(names()).toEqual(
      expect.arrayContaining([
        "stackport:docker:Target laptop",
        "pulumi:providers:docker laptop-docker",
        "docker:index/network:Network laptop-edge",
        "docker:index/network:Network laptop-backend",
        `${CONTAINER} storage-server`,
        `${CONTAINER} storage-bootstrap`,
        `${VOLUME} storage-data`,
        `${CONTAINER} database-server`,
        `${CONTAINER} database-bootstrap`,
        `${VOLUME} database-data`,
        `${CONTAINER} proxy-server`,
        `${VOLUME} proxy-data`,
      ]),
    );
  });

  it("leaves volumes unprotected on the laptop", () => {
    for (const v of resources.filter((r) => r.type === VOLUME))
      expect([v.protect, v.retainOnDelete]).toEqual([false, false]);
  });
});

describe("staging stack inventory", () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await synthesizeStack("staging")).resources;
  });

  it("reaches the homelab over ssh:// after preparing the host", () => {
    const provider = resources.find((r) => r.type === "pulumi:providers:docker")!;
    expect(provider.inputs["host"]).toMatch(/^ssh:\/\//);
    expect(provider.dependsOn).toContain("homelab-prepare-host");
    const prep = resources.find((r) => r.name === "homelab-prepare-host")!;
    expect(prep.type).toBe("command:remote:Command");
  });

  it("protects and retains every stateful volume; only the tile cache (Martin refills it), Prometheus' scrape tokens (the secrets job rewrites them) and the off-host copy's object mirror (MinIO refills it) are exempt", () => {
    const volumes = resources.filter((r) => r.type === VOLUME);
    expect(volumes.map((v) => v.name).sort()).toEqual(
      expect.arrayContaining(["database-data", "storage-data"]),
    );
    const regenerated = (v: RecordedResource) => labelsOf(v)["stackport.stateful"] === "false";
    expect(
      volumes
        .filter(regenerated)
        .map((v) => v.name)
        .sort(),
    ).toEqual(["backups-objects-data", "basemap-cache-data", "observability-secrets-data"]);
    for (const v of volumes.filter((x) => !regenerated(x)))
      expect([v.name, v.protect, v.retainOnDelete]).toEqual([v.name, true, true]);
  });

  it("publishes only the proxy", () => {
    const published = resources.filter(
      (r) => r.type === CONTAINER && ((r.inputs["ports"] as unknown[]) ?? []).length > 0,
    );
    // The proxy on every interface, seed 001's MQTT broker on the LAN address only.
    expect(published.map((r) => r.name).sort()).toEqual(["ingestion-mqtt-1", "proxy-server"]);
  });
});
