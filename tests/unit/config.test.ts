import fc from "fast-check";
import { ConfigError, given, resolveConfig, rawNamespace } from "../../src/config";

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

describe("hostile or odd input is refused with the key named", () => {
  const staging = (patch: Record<string, unknown>) => ({
    ...base(),
    environment: "staging",
    proxy: {
      on: "laptop",
      routes: { console: { host: "console.localhost", to: "storage-console", auth: "basic" } },
    },
    ...patch,
  });
  const homelab = (target: Record<string, unknown>) => ({
    targets: { laptop: { kind: "docker", host: "ssh://deploy@homelab.lan", ...target } },
  });
  const only = (raw: Record<string, unknown>, key: string) => {
    const found = issuesOf(raw).filter((i) => i.key === key);
    expect(found).toHaveLength(1);
    return found[0]!.message;
  };

  it.each(["/", "/srv/../etc", "/etc", "srv/stackport"])("dataRoot %j", (dataRoot) => {
    expect(only(staging(homelab({ dataRoot })), "stackport:targets.laptop.dataRoot")).toMatch(
      /absolute path|\.\.|below \/srv\//,
    );
  });

  it("sshOpts that run a command are refused in every environment", () => {
    for (const environment of ["local", "staging"]) {
      expect(
        only(
          { ...staging(homelab({ sshOpts: ["-o", "ProxyCommand=touch /tmp/x"] })), environment },
          "stackport:targets.laptop.sshOpts[1]",
        ),
      ).toMatch(/'ProxyCommand' is not allowed: it runs a local command/);
    }
  });

  it("StrictHostKeyChecking=no needs insecureHostKeys outside local, and the flag reaches the target's args", () => {
    const insecure = { sshOpts: ["-o", "StrictHostKeyChecking=no"] };
    expect(only(staging(homelab(insecure)), "stackport:targets.laptop.sshOpts[1]")).toMatch(
      /set insecureHostKeys: true to accept the risk/,
    );
    const granted = resolveConfig(staging(homelab({ ...insecure, insecureHostKeys: true })));
    expect(granted.targets["laptop"]).toMatchObject({ insecureHostKeys: true });
    // local: a disposable VM may skip the check without the flag (and the plan still shows it).
    const local = resolveConfig({ ...staging(homelab(insecure)), environment: "local" });
    expect(local.targets["laptop"]).toMatchObject({ insecureHostKeys: true });
    // ...but a local-socket target never claims it.
    expect(resolveConfig(base()).targets["laptop"]).not.toHaveProperty("insecureHostKeys");
  });

  it.each([
    ["evil}:80", /'evil}:80' is not host:port: the host must be/],
    ["backend:0", /'backend:0' is not host:port: the port must be from 1 to 65535, got 0/],
    ["backend:99999", /the port must be from 1 to 65535, got 99999/],
    ["constructor", /unknown upstream 'constructor'/],
  ])("upstream to: %j", (to, message) => {
    const raw = { ...base(), proxy: { on: "laptop", routes: { x: { host: "x.localhost", to } } } };
    expect(only(raw, "stackport:proxy.routes.x.to")).toMatch(message);
  });
});

describe("messages say what was expected and what was given", () => {
  it.each([
    [
      { proxy: { on: "laptop", routes: { x: { to: 80 } } } },
      "stackport:proxy.routes.x.to",
      "expected a string, got a number (80)",
    ],
    [
      { database: { on: "laptop", memoryMb: "4G" } },
      "stackport:database.memoryMb",
      'expected a number, got a string ("4G")',
    ],
    [
      { database: { on: "laptop", memoryMb: 1.5 } },
      "stackport:database.memoryMb",
      "expected a whole number, got a number (1.5)",
    ],
    [
      { database: "[draft" },
      "stackport:database",
      'expected an object (key: value), got a string ("[draft")',
    ],
    [
      { proxy: { on: "laptop", httpPort: 99999 } },
      "stackport:proxy.httpPort",
      "must be at most 65535; got a number (99999)",
    ],
    [
      { environment: "prod" },
      "stackport:environment",
      'must be one of "local", "staging", "production"; got a string ("prod")',
    ],
    [
      { targets: { laptop: { kind: "k8s" } } },
      "stackport:targets.laptop.kind",
      `'kind' must be one of "docker", "aws", "external"; got a string ("k8s")`,
    ],
    [
      { proxy: { on: "laptop", routes: { x: null } } },
      "stackport:proxy.routes.x",
      "expected an object (key: value), got null (an empty value)",
    ],
    [
      { proxy: { on: "laptop" }, database: { on: "laptop" }, storage: undefined, targets: undefined },
      "stackport:targets",
      "is required (an object (key: value))",
    ],
  ])("%j at %s", (patch, key, message) => {
    const issue = issuesOf({ ...base(), ...patch }).find((i) => i.key === key);
    expect(issue?.message).toBe(message);
  });

  it("a record key says which names are allowed", () => {
    const issue = issuesOf({
      ...base(),
      proxy: { on: "laptop", routes: { "My Route": { to: "storage" } } },
    })[0]!;
    expect(issue.key).toBe('stackport:proxy.routes["My Route"]');
    expect(issue.message).toBe(
      "'My Route' is not allowed as a name here: must be lower-case letters, digits and '-', start with a letter, at most 31 chars",
    );
  });

  it("an unknown key under a union (basemap.route) lists the keys allowed there", () => {
    const issue = issuesOf({ ...base(), basemap: { on: "laptop", route: { hots: "x.localhost" } } })[0]!;
    expect(issue.key).toBe("stackport:basemap.route.hots");
    expect(issue.message).toMatch(
      /^unknown key 'hots'; allowed here: host, path, stripPrefix, auth, allowFrom, public/,
    );
  });

  it("never prints the value of a secret-looking key or of an offline secret", () => {
    const issues = issuesOf({
      ...base(),
      database: { on: "laptop", adminPassword: 12345 },
      storage: "offline-secret-placeholder",
    });
    const text = issues.map((i) => `${i.key}: ${i.message}`).join("\n");
    expect(text).toContain("stackport:storage: expected an object (key: value), got a string ([secret])");
    expect(text).not.toContain("offline-secret-placeholder");
    expect(given("hunter2", ["database", "aws", "masterPassword"])).toBe("a string ([secret])");
    expect(given(12345, ["ingestion", "services", "api", "env", "API_TOKEN"])).toBe("a number ([secret])");
    expect(given("eu-west-1", ["targets", "cloud", "region"])).toBe('a string ("eu-west-1")');
  });
});

describe("route exposure: outside local every route says who may use it", () => {
  const stack = (environment: string, route: Record<string, unknown>) => ({
    ...base(),
    environment,
    proxy: { on: "laptop", routes: { s3: { host: "s3.localhost", to: "storage", ...route } } },
  });
  const problems = (raw: Record<string, unknown>) =>
    (() => {
      try {
        resolveConfig(raw);
        return [];
      } catch (e) {
        if (e instanceof ConfigError) return e.issues.map((i) => `${i.key}: ${i.message}`);
        throw e;
      }
    })();

  it("refuses a route with none, naming the route and the three options", () => {
    for (const environment of ["staging", "production"]) {
      expect(problems(stack(environment, {}))).toEqual([
        "stackport:proxy.routes.s3: has no exposure decision (required outside the local environment); set allowFrom: [<client CIDRs>] to restrict it, or auth: basic or apiKey to protect it, or public: true to publish it to everyone who reaches the proxy",
      ]);
    }
  });

  it.each([
    ["allowFrom", { allowFrom: ["192.168.1.0/24"] }],
    ["auth", { auth: "basic" }],
    ["public: true", { public: true }],
  ])("accepts %s", (_what, route) => {
    expect(problems(stack("staging", route))).toEqual([]);
  });

  it("leaves local alone, and refuses public with allowFrom anywhere", () => {
    expect(problems(stack("local", {}))).toEqual([]);
    expect(problems(stack("local", { public: true, allowFrom: ["10.0.0.0/8"] }))).toEqual([
      "stackport:proxy.routes.s3.public: public: true contradicts allowFrom; keep allowFrom to restrict the route, or remove it",
    ]);
  });

  it("applies to the routes other tiers add, named by where they are configured", () => {
    const raw = {
      ...stack("staging", { public: true }),
      basemap: { on: "laptop", pmtiles: ["a.pmtiles"], postgis: false },
    };
    expect(problems(raw)).toEqual([
      expect.stringMatching(/^stackport:basemap\.route: has no exposure decision/),
    ]);
  });

  it("on AWS: auth is no option, and an ALB restricted by allowedCidrs decides for every route", () => {
    const aws = (proxyAws: Record<string, unknown>, route: Record<string, unknown> = {}) => ({
      environment: "staging",
      targets: { cloud: { kind: "aws", region: "eu-west-1" } },
      database: { on: "cloud" },
      ingestion: {
        on: "cloud",
        services: { api: { image: "x/api:1", port: 8000, route: { host: "api.example.org", ...route } } },
      },
      proxy: {
        on: "cloud",
        domain: "example.org",
        aws: { hostedZoneId: "Z0123456789ABCDEFGHIJ", ...proxyAws },
      },
    });
    expect(problems(aws({}))).toEqual([
      "stackport:ingestion.services.api.route: has no exposure decision (required outside the local environment); set allowFrom: [<client CIDRs>] to restrict it, or public: true to publish it to everyone who reaches the proxy",
    ]);
    expect(problems(aws({ allowedCidrs: ["203.0.113.0/24"] }))).toEqual([]);
    expect(problems(aws({ allowedCidrs: ["0.0.0.0/0"] }))).toHaveLength(1);
    expect(problems(aws({}, { allowFrom: ["203.0.113.0/24"] }))).toEqual([]);
    expect(problems(aws({}, { public: true }))).toEqual([]);
  });
});
