/**
 * The generated Caddyfile, checked by the real tool: every variant must pass `caddy validate`, and `caddy adapt`
 * shows the allow-list and basic auth land on the right route, in the right order. Password hashes come from the
 * real `caddy hash-password`, so Caddy checks hashes it produced itself.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { type CaddyfileInput, type ResolvedRoute, renderCaddyfile } from "../../components/proxy/caddyfile";

const CADDY = "/usr/bin/caddy";
let dir: string;
let hash: string;

beforeAll(() => {
  if (!existsSync(CADDY))
    throw new Error("caddy not found at /usr/bin/caddy: install caddy (Debian package caddy)");
  dir = mkdtempSync(join(tmpdir(), "stackport-caddy-"));
  hash = execFileSync(CADDY, ["hash-password", "--plaintext", "correct horse"], { env: caddyEnv() })
    .toString()
    .trim();
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** Keeps Caddy's data (the internal CA `tls internal` provisions) inside the temp dir. */
function caddyEnv() {
  const base = dir ?? tmpdir();
  return {
    ...process.env,
    HOME: base,
    XDG_DATA_HOME: join(base, "data"),
    XDG_CONFIG_HOME: join(base, "config"),
  };
}

let counter = 0;
function write(text: string): string {
  const file = join(dir, `Caddyfile-${counter++}`);
  writeFileSync(file, text);
  return file;
}

function validate(text: string): void {
  const file = write(text);
  const r = spawnSync(CADDY, ["validate", "--config", file, "--adapter", "caddyfile"], { env: caddyEnv() });
  if (r.status !== 0) {
    throw new Error(
      `caddy validate failed (exit ${r.status}):\n${r.stderr.toString()}\n--- Caddyfile ---\n${text}`,
    );
  }
}

interface JsonRoute {
  group?: string;
  match?: Record<string, unknown>[];
  handle: { handler: string; routes?: JsonRoute[]; [k: string]: unknown }[];
}

function adapt(text: string): {
  apps: { http: { servers: Record<string, { listen: string[]; routes: JsonRoute[] }> } };
} {
  const file = write(text);
  const out = execFileSync(CADDY, ["adapt", "--config", file, "--adapter", "caddyfile"], {
    env: caddyEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.toString());
}

/** The routes of one site (host) in adapted JSON: the host route's subroute. */
function siteRoutes(json: ReturnType<typeof adapt>, host: string): JsonRoute[] {
  for (const server of Object.values(json.apps.http.servers)) {
    for (const r of server.routes) {
      const hosts = (r.match?.[0]?.["host"] as string[] | undefined) ?? [];
      if (hosts.includes(host)) return r.handle[0]!.routes!;
    }
  }
  throw new Error(`no site for ${host}`);
}

/** Flattens a route's nested subroutes into the handler names in execution order. */
function handlers(route: JsonRoute): string[] {
  return route.handle.flatMap((h) => (h.handler === "subroute" ? h.routes!.flatMap(handlers) : [h.handler]));
}

function pathsOf(route: JsonRoute): string[] | undefined {
  return route.match?.[0]?.["path"] as string[] | undefined;
}

const storageConsole = { host: "storage", port: 9001 };
const storageApi = { host: "storage", port: 9000, healthPath: "/minio/health/live" };
const route = (r: Partial<ResolvedRoute> & Pick<ResolvedRoute, "to">): ResolvedRoute => ({
  stripPrefix: false,
  auth: "none",
  ...r,
});

const variants = (): Record<string, CaddyfileInput> => ({
  "http local: console with basic auth + allow-list": {
    domain: "localhost",
    tls: { mode: "http" },
    basicAuth: [{ user: "admin", bcryptHash: hash }],
    routes: {
      console: route({
        path: "/console",
        to: storageConsole,
        auth: "basic",
        allowFrom: ["127.0.0.1", "10.0.0.0/8"],
      }),
      s3: route({ to: storageApi }),
    },
  },
  "tls internal: several hosts, stripPrefix path route": {
    domain: "platform.home.arpa",
    tls: { mode: "internal" },
    basicAuth: [
      { user: "admin", bcryptHash: hash },
      { user: "ops", bcryptHash: hash },
    ],
    routes: {
      tiles: route({
        path: "/tiles",
        stripPrefix: true,
        to: { host: "martin", port: 3000, healthPath: "/health" },
      }),
      api: route({ path: "/api", to: { host: "api", port: 8000 } }),
      admin: route({
        path: "/api/admin",
        to: { host: "api", port: 8001 },
        auth: "basic",
        allowFrom: ["192.168.1.0/24"],
      }),
      console: route({ host: "console.home.arpa", to: storageConsole, auth: "basic" }),
      s3: route({ host: "s3.home.arpa", to: storageApi }),
    },
  },
  "acme with email": {
    domain: "example.org",
    tls: { mode: "acme", email: "ops@example.org" },
    basicAuth: [{ user: "admin", bcryptHash: hash }],
    routes: {
      web: route({ to: { host: "web", port: 8080 } }),
      grafana: route({ host: "grafana.example.org", to: { host: "grafana", port: 3000 }, auth: "basic" }),
    },
  },
  "a route without path": {
    domain: "localhost",
    tls: { mode: "http" },
    basicAuth: [],
    routes: { everything: route({ to: { host: "10.0.0.5", port: 8080 } }) },
  },
  "empty routes": { domain: "localhost", tls: { mode: "http" }, basicAuth: [], routes: {} },
});

describe("rendered Caddyfiles pass `caddy validate`", () => {
  for (const name of Object.keys(variants())) {
    test(name, () => {
      validate(renderCaddyfile(variants()[name]!));
    });
  }
});

describe("`caddy adapt`: what the config does", () => {
  test("the metrics listener serves Prometheus metrics on its own plain-HTTP port", () => {
    const text = renderCaddyfile({
      ...variants()["tls internal: several hosts, stripPrefix path route"]!,
      metricsPort: 2020,
    });
    validate(text);
    const json = adapt(text);
    const metricsServer = Object.values(json.apps.http.servers).find((srv) => srv.listen.includes(":2020"))!;
    expect(JSON.stringify(metricsServer.routes)).toContain('"handler":"metrics"');
  });

  test("a route in maintenance (cutover freeze) answers 503 with Retry-After and never proxies", () => {
    const input: CaddyfileInput = {
      domain: "localhost",
      tls: { mode: "http" },
      basicAuth: [],
      routes: {
        api: route({ path: "/api", to: { host: "api", port: 8000 }, maintenance: true }),
        tiles: route({ path: "/tiles", to: { host: "basemap", port: 3000 } }),
      },
    };
    const text = renderCaddyfile(input);
    validate(text);
    const routes = siteRoutes(adapt(text), "localhost");
    const api = routes.find((r) => pathsOf(r)?.includes("/api"))!;
    expect(handlers(api)).toEqual(["headers", "static_response"]);
    expect(JSON.stringify(api)).toContain('"status_code":503');
    expect(JSON.stringify(api)).toContain('"Retry-After":["600"]');
    expect(handlers(routes.find((r) => pathsOf(r)?.includes("/tiles"))!)).toEqual(["reverse_proxy"]);
  });

  test("allow-list then basic auth then proxy, only on the console route", () => {
    const json = adapt(renderCaddyfile(variants()["http local: console with basic auth + allow-list"]!));
    const server = Object.values(json.apps.http.servers)[0]!;
    expect(server.listen).toEqual([":80"]);
    const routes = siteRoutes(json, "localhost");
    const consoleRoute = routes.find((r) => pathsOf(r)?.includes("/console"))!;
    expect(pathsOf(consoleRoute)).toEqual(["/console", "/console/*"]);
    expect(handlers(consoleRoute)).toEqual(["static_response", "authentication", "reverse_proxy"]);
    const text = JSON.stringify(consoleRoute);
    expect(text).toContain('"not":[{"remote_ip":{"ranges":["127.0.0.1","10.0.0.0/8"]}}]');
    expect(text).toContain(`"username":"admin"`);
    expect(text).toContain(JSON.stringify(hash));
    expect(text).toContain('"dial":"storage:9001"');

    const catchAll = routes.find((r) => r.group && !r.match)!;
    expect(handlers(catchAll)).toEqual(["reverse_proxy"]);
    expect(JSON.stringify(catchAll)).toContain('"uri":"/minio/health/live"');
    expect(JSON.stringify(catchAll)).not.toContain("authentication");
  });

  test("handle blocks are mutually exclusive and the more specific prefix wins, even with stripPrefix", () => {
    const json = adapt(renderCaddyfile(variants()["tls internal: several hosts, stripPrefix path route"]!));
    const routes = siteRoutes(json, "platform.home.arpa").filter((r) => r.group);
    expect(new Set(routes.map((r) => r.group)).size).toBe(1);
    expect(routes.map(pathsOf)).toEqual([
      ["/healthz"],
      ["/api/admin", "/api/admin/*"],
      ["/tiles", "/tiles/*"],
      ["/api", "/api/*"],
      undefined, // the 404 catch-all
    ]);
    const admin = routes[1]!;
    expect(handlers(admin)).toEqual(["static_response", "authentication", "reverse_proxy"]);
    const tiles = routes[2]!;
    expect(handlers(tiles)).toEqual(["rewrite", "reverse_proxy"]);
    expect(JSON.stringify(tiles)).toContain('"strip_path_prefix":"/tiles"');
    expect(handlers(routes[4]!)).toEqual(["static_response"]);
    // Separate sites get internal certificates; the console host is behind basic auth, the s3 host is not.
    expect(handlers(siteRoutes(json, "console.home.arpa").find((r) => r.group && !r.match)!)).toEqual([
      "authentication",
      "reverse_proxy",
    ]);
    expect(JSON.stringify(siteRoutes(json, "s3.home.arpa"))).not.toContain("authentication");
    expect(JSON.stringify(json)).toContain('"issuers":[{"module":"internal"}]');
  });

  test("security headers: HSTS only with TLS, Server removed", () => {
    const http = JSON.stringify(adapt(renderCaddyfile(variants()["empty routes"]!)));
    const tls = JSON.stringify(adapt(renderCaddyfile(variants()["acme with email"]!)));
    for (const j of [http, tls]) {
      expect(j).toContain('"X-Frame-Options":["DENY"]');
      expect(j).toContain('"delete":["Server"]');
    }
    expect(http).not.toContain("Strict-Transport-Security");
    expect(tls).toContain('"Strict-Transport-Security":["max-age=31536000"]');
    expect(tls).toContain('"email":"ops@example.org"');
  });
});

// -------------------------------------------------------------------------------------------------------------
// Property: any valid route map renders to a structurally sound Caddyfile, and a sample passes `caddy validate`.

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join("."));
const pathSegment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,8}$/);
const urlPath = fc.array(pathSegment, { minLength: 0, maxLength: 3 }).map((s) => `/${s.join("/")}`);
const octet = fc.integer({ min: 0, max: 255 });
const cidrArb = fc
  .tuple(octet, octet, octet, octet, fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined }))
  .map(([a, b, c, d, m]) => `${a}.${b}.${c}.${d}${m === undefined ? "" : `/${m}`}`);
const routeName = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
const upstream = fc.record(
  {
    host: fc.constantFrom("storage", "api", "martin", "10.0.0.5"),
    port: fc.integer({ min: 1, max: 65535 }),
    healthPath: fc.option(urlPath, { nil: undefined }),
  },
  { requiredKeys: ["host", "port"] },
);
const routeArb = fc
  .record({
    host: fc.option(dnsName, { nil: undefined }),
    path: fc.option(urlPath, { nil: undefined }),
    stripPrefix: fc.boolean(),
    to: upstream,
    auth: fc.constantFrom("none" as const, "basic" as const),
    allowFrom: fc.option(fc.array(cidrArb, { minLength: 1, maxLength: 3 }), { nil: undefined }),
  })
  .map((r) => {
    const out: ResolvedRoute = {
      ...r,
      stripPrefix: r.stripPrefix && r.path !== undefined && r.path.replace(/\/+$/, "") !== "",
    };
    if (r.host === undefined) delete out.host;
    if (r.path === undefined) delete out.path;
    if (r.allowFrom === undefined) delete out.allowFrom;
    return out;
  })
  // The proxy answers /healthz itself; config resolution would refuse a route there.
  .filter((r) => r.path?.replace(/\/+$/, "") !== "/healthz");
const tlsArb = fc.constantFrom<CaddyfileInput["tls"]>(
  { mode: "http" },
  { mode: "internal" },
  { mode: "acme", email: "ops@example.org" },
);
const inputArb = fc
  .record({ domain: dnsName, tls: tlsArb, routes: fc.dictionary(routeName, routeArb, { maxKeys: 6 }) })
  .map(({ domain, tls, routes }) => {
    // Drop routes that match the same host and path as an earlier one (config resolution refuses those).
    const seen = new Set<string>();
    const unique: Record<string, ResolvedRoute> = {};
    for (const [name, r] of Object.entries(routes)) {
      const k = `${r.host ?? domain}${(r.path ?? "/").replace(/\/+$/, "") || "/"}`;
      if (!seen.has(k)) unique[name] = r;
      seen.add(k);
    }
    return { domain, tls, routes: unique };
  });

function structure(text: string): void {
  let depth = 0;
  const sites: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    if (depth === 0 && line.endsWith(" {")) sites.push(line.slice(0, -2));
    for (const ch of line) {
      if (ch === "{") depth++;
      if (ch === "}") depth--;
      if (depth < 0) throw new Error(`unbalanced '}' in:\n${text}`);
    }
  }
  expect(depth).toBe(0);
  expect(new Set(sites).size).toBe(sites.length);
  expect(text).not.toMatch(/\r|\t /);
}

describe("property: every valid route map", () => {
  test("renders balanced, with one site block per host", () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const text = renderCaddyfile({
          ...input,
          basicAuth: [{ user: "admin", bcryptHash: "$2a$14$abcdefghijklmnopqrstuv" }],
        });
        structure(text);
        const hosts = new Set([
          input.domain,
          ...Object.values(input.routes).map((r) => r.host ?? input.domain),
        ]);
        const siteLines = text.split("\n").filter((l) => /^\S.* \{$/.test(l) && !l.startsWith("("));
        expect(siteLines).toHaveLength(hosts.size);
        expect(
          renderCaddyfile({
            ...input,
            basicAuth: [{ user: "admin", bcryptHash: "$2a$14$abcdefghijklmnopqrstuv" }],
          }),
        ).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  test("20 random ones pass the real `caddy validate`", () => {
    const samples = fc.sample(inputArb, { numRuns: 20, seed: 42 });
    for (const input of samples)
      validate(renderCaddyfile({ ...input, basicAuth: [{ user: "admin", bcryptHash: hash }] }));
  });
});
