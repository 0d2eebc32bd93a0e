import fc from "fast-check";
import { ConfigError, resolveConfig, rawNamespace } from "../../src/config";

const base = () => ({
  environment: "local",
  targets: { laptop: { kind: "docker" } },
  storage: { on: "laptop" },
  database: { on: "laptop" },
  proxy: {
    on: "laptop",
    routes: { console: { host: "console.localhost", to: "storage-console", auth: "basic" } },
  },
});

function issuesOf(raw: Record<string, unknown>) {
  try {
    resolveConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveConfig", () => {
  it("fills defaults for a minimal local stack", () => {
    const cfg = resolveConfig(base());
    expect(cfg.safety).toEqual({ protect: false, retainOnDelete: false });
    expect(Object.keys(cfg.storage!.buckets).sort()).toEqual(["derived", "logs", "raw", "tiles"]);
    expect(cfg.storage!.buckets["logs"]!.expireAfterDays).toBe(30);
    expect(cfg.database!.publish).toEqual({ port: 5432, address: "127.0.0.1" });
    expect(cfg.storage!.publishConsole).toEqual({ port: 9001, address: "127.0.0.1" });
    expect(cfg.proxy!.bindAddress).toBe("127.0.0.1");
    expect(cfg.database!.image).toMatch(/^postgis\/postgis:\d+-/);
  });

  it("protects and retains stateful resources outside local, publishes nothing but the proxy", () => {
    const cfg = resolveConfig({ ...base(), environment: "staging" });
    expect(cfg.safety).toEqual({ protect: true, retainOnDelete: true });
    expect(cfg.database!.publish).toBeUndefined();
    expect(cfg.storage!.publishApi).toBeUndefined();
    expect(cfg.proxy!.bindAddress).toBe("0.0.0.0");
  });

  it("lets a stack override safety explicitly", () => {
    const cfg = resolveConfig({ ...base(), environment: "production", safety: { protect: false } });
    expect(cfg.safety).toEqual({ protect: false, retainOnDelete: true });
  });

  it.each([
    [{ environment: "prod" }, "stackport:environment", /one of "local", "staging", "production"/],
    [{ databse: { on: "laptop" } }, "stackport:databse", /unknown key 'databse'; allowed here: .*database/],
    [
      { database: { on: "nas" } },
      "stackport:database.on",
      /unknown target 'nas'; targets of this stack: laptop/,
    ],
    [{ database: { on: "laptop", image: "postgis/postgis:latest" } }, "stackport:database.image", /:latest/],
    [{ database: { on: "laptop", image: "postgis/postgis" } }, "stackport:database.image", /pinned/],
    [
      { database: { on: "laptop", image: "postgis/postgis:bookworm" } },
      "stackport:database.image",
      /cannot tell the PostgreSQL major version from .postgis\/postgis:bookworm. .the volume path depends on it.; use a tag that starts with it/,
    ],
    [
      { database: { on: "laptop", publish: { port: 5432, address: "0.0.0.0" } } },
      "stackport:database.publish.address",
      /never published on all interfaces/,
    ],
    [
      { database: { on: "laptop", publish: { port: 9000 } } },
      "stackport:database.publish.port",
      /port 9000 on target 'laptop' is already taken by stackport:storage.publishApi.port/,
    ],
    [
      { targets: { laptop: { kind: "docker", host: "homelab.lan" } } },
      "stackport:targets.laptop.host",
      /ssh:\/\/user@host/,
    ],
    [{ targets: { laptop: { kind: "k8s" } } }, "stackport:targets.laptop.kind", /kind/],
    [
      {
        targets: { laptop: { kind: "docker" }, cloud: { kind: "aws", region: "eu-west-1" } },
        database: { on: "cloud" },
        ingestion: {
          on: "laptop",
          services: { api: { image: "x/api:1", connections: { database: "app_writer" } } },
        },
      },
      "stackport:ingestion.services.api.connections.database",
      /uses the database, but stackport:database is on 'cloud' and stackport:ingestion on 'laptop'/,
    ],
    [
      {
        targets: { cloud: { kind: "aws", region: "eu-west-1" } },
        proxy: {
          on: "cloud",
          domain: "example.org",
          routes: { console: { to: "storage-console", auth: "basic" } },
        },
        storage: { on: "cloud" },
      },
      "stackport:proxy.routes.console.auth",
      /an ALB cannot do HTTP basic auth/,
    ],
    [
      {
        targets: { cloud: { kind: "aws", region: "eu-west-1" } },
        database: { on: "cloud" },
        basemap: { on: "cloud", diskCache: {} },
      },
      "stackport:basemap.diskCache",
      /runs on Docker targets only .* raise cacheMb/,
    ],
    [
      { basemap: { on: "laptop", postgis: false, pmtiles: ["a.pmtiles"], diskCache: { maxAge: "7 days" } } },
      "stackport:basemap.diskCache.maxAge",
      /a number and a unit s, m, h or d, e\.g\. 12h or 7d/,
    ],
    [
      { proxy: { on: "laptop", routes: { x: { to: "grafana" } } } },
      "stackport:proxy.routes.x.to",
      /unknown upstream 'grafana'; allowed: storage, storage-console, or host:port/,
    ],
    [
      { proxy: { on: "laptop", routes: { x: { to: "storage", allowFrom: ["10.0.0.0/33"] } } } },
      "stackport:proxy.routes.x.allowFrom[0]",
      /CIDR/,
    ],
    [{ proxy: { on: "laptop", tls: { mode: "acme" } } }, "stackport:proxy.tls.email", /required/],
    [
      { proxy: { on: "laptop", routes: { a: { to: "storage" }, b: { to: "storage-console" } } } },
      "stackport:proxy.routes.b",
      /same host and path \(localhost\/\) as route 'a'/,
    ],
  ])("rejects %j naming %s", (patch, expectedKey, message) => {
    const issues = issuesOf({ ...base(), ...patch });
    const issue = issues.find((i) => i.key === expectedKey);
    expect(issue).toBeDefined();
    expect(issue!.message).toMatch(message);
  });

  it("reports every problem at once, each line starting with its key", () => {
    try {
      resolveConfig({
        ...base(),
        environment: "qa",
        database: { on: "nas" },
        storage: { on: "laptop", memoryMb: 1 },
      });
      throw new Error("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      expect(msg).toMatch(/^Invalid stack configuration \(\d+ problems?\):/);
      expect(msg).toContain("  - stackport:environment:");
      expect(msg).toContain("  - stackport:storage.memoryMb:");
    }
  });

  it("requires environment and targets", () => {
    const keys = issuesOf({}).map((i) => i.key);
    expect(keys).toEqual(expect.arrayContaining(["stackport:environment", "stackport:targets"]));
  });
});

describe("rawNamespace", () => {
  it("keeps plain strings, parses structured values, ignores other namespaces", () => {
    expect(
      rawNamespace({
        "stackport:environment": "local",
        "stackport:targets": '{"laptop":{"kind":"docker"}}',
        "aws:region": "eu-west-1",
      }),
    ).toEqual({ environment: "local", targets: { laptop: { kind: "docker" } } });
  });
});

describe("property: the loader never crashes", () => {
  const scalar = fc.oneof(
    fc.string(),
    fc.integer({ min: -10, max: 70000 }),
    fc.boolean(),
    fc.constantFrom(
      "laptop",
      "local",
      "docker",
      "aws",
      "127.0.0.1",
      "0.0.0.0",
      "ssh://deploy@host",
      "storage",
    ),
  );
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      scalar,
      fc.array(tie("node"), { maxLength: 3 }),
      fc.dictionary(
        fc.constantFrom(
          "on",
          "kind",
          "host",
          "port",
          "address",
          "routes",
          "to",
          "image",
          "publish",
          "tls",
          "mode",
          "x",
        ),
        tie("node"),
        { maxKeys: 4 },
      ),
    ),
  })).node;
  const mutatedBase = fc.record({
    key: fc.constantFrom("environment", "targets", "storage", "database", "proxy", "safety", "bogus"),
    value,
  });

  it("either resolves or throws a ConfigError whose keys are all namespaced", () => {
    fc.assert(
      fc.property(fc.array(mutatedBase, { maxLength: 4 }), (patches) => {
        const raw: Record<string, unknown> = base();
        for (const p of patches) raw[p.key] = p.value;
        try {
          const cfg = resolveConfig(raw);
          expect(["local", "staging", "production"]).toContain(cfg.environment);
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          for (const issue of (e as ConfigError).issues) {
            expect(issue.key.startsWith("stackport:")).toBe(true);
            expect(issue.message.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("route checks", () => {
  it("treats /x and /x/ as the same route and reserves /healthz", () => {
    const keys = issuesOf({
      ...base(),
      proxy: {
        on: "laptop",
        routes: {
          a: { path: "/api", to: "storage" },
          b: { path: "/api/", to: "storage" },
          c: { path: "/healthz", to: "storage" },
        },
      },
    }).map((i) => i.key);
    expect(keys).toEqual(["stackport:proxy.routes.b", "stackport:proxy.routes.c.path"]);
  });
});
