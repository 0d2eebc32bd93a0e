/**
 * `auth: apiKey` routes, checked by the real Caddy: the rendered Caddyfiles pass `caddy validate`, `caddy adapt`
 * shows the key check after the allow-list and before the proxy, and a running Caddy really answers 401 without the
 * right `X-API-Key`, proxies with it, and does not pass the key on to the upstream.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { type IncomingHttpHeaders, type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CaddyfileInput, type ResolvedRoute, renderCaddyfile } from "../../components/proxy/caddyfile";
import { freePort, requireTool } from "../support/tools";

const KEY = "k3yWithOnlyLettersAndDigits0123456789AbCd";
let caddy: string;
let dir: string;

beforeAll(() => {
  caddy = requireTool("caddy", "caddy");
  dir = mkdtempSync(join(tmpdir(), "stackport-caddy-apikey-"));
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

const env = () => ({
  ...process.env,
  HOME: dir,
  XDG_DATA_HOME: join(dir, "data"),
  XDG_CONFIG_HOME: join(dir, "config"),
});
let counter = 0;
function write(text: string): string {
  const file = join(dir, `Caddyfile-${counter++}`);
  writeFileSync(file, text);
  return file;
}

const route = (r: Partial<ResolvedRoute>): ResolvedRoute => ({
  stripPrefix: false,
  auth: "apiKey",
  to: { host: "api", port: 8000 },
  ...r,
});
const input = (
  routes: Record<string, ResolvedRoute>,
  over: Partial<CaddyfileInput> = {},
): CaddyfileInput => ({
  domain: "localhost",
  tls: { mode: "http" },
  basicAuth: [],
  routes,
  apiKeys: Object.fromEntries(Object.keys(routes).map((name) => [name, KEY])),
  ...over,
});

const variants: Record<string, CaddyfileInput> = {
  "path route with allow-list and stripPrefix": input({
    trigger: route({ path: "/ingest/trigger", stripPrefix: true, allowFrom: ["10.0.0.0/8", "127.0.0.1"] }),
    open: route({ path: "/ingest", auth: "none" }),
  }),
  "catch-all on its own host, tls internal": input(
    { api: route({ host: "api.home.arpa", to: { host: "api", port: 8000, healthPath: "/health" } }) },
    { domain: "home.arpa", tls: { mode: "internal" } },
  ),
};

describe("apiKey Caddyfiles pass `caddy validate`", () => {
  for (const [name, variant] of Object.entries(variants)) {
    test(name, () => {
      const r = spawnSync(
        caddy,
        ["validate", "--config", write(renderCaddyfile(variant)), "--adapter", "caddyfile"],
        {
          env: env(),
        },
      );
      expect({ code: r.status, stderr: r.status === 0 ? "" : r.stderr.toString() }).toEqual({
        code: 0,
        stderr: "",
      });
    });
  }
});

interface JsonRoute {
  match?: Record<string, unknown>[];
  handle: { handler: string; routes?: JsonRoute[]; [k: string]: unknown }[];
}
const flatten = (r: JsonRoute): JsonRoute[] => [
  r,
  ...r.handle.flatMap((h) => (h.routes ?? []).flatMap(flatten)),
];
const handlers = (r: JsonRoute): string[] =>
  r.handle.flatMap((h) => (h.handler === "subroute" ? h.routes!.flatMap(handlers) : [h.handler]));

test("`caddy adapt`: allow-list, then the X-API-Key matcher → 401, then the header removed, then the proxy", () => {
  const out = execFileSync(
    caddy,
    [
      "adapt",
      "--config",
      write(renderCaddyfile(variants["path route with allow-list and stripPrefix"]!)),
      "--adapter",
      "caddyfile",
    ],
    { env: env(), stdio: ["ignore", "pipe", "pipe"] },
  );
  const json = JSON.parse(out.toString()) as {
    apps: { http: { servers: Record<string, { routes: JsonRoute[] }> } };
  };
  const all = Object.values(json.apps.http.servers).flatMap((s) => s.routes.flatMap(flatten));
  const trigger = all.find((r) => JSON.stringify(r.match ?? []).includes('"/ingest/trigger"'))!;
  expect(handlers(trigger)).toEqual([
    "static_response",
    "static_response",
    "headers",
    "rewrite",
    "reverse_proxy",
  ]);
  const steps = flatten(trigger).filter((r) => r.match && r.handle[0]?.handler === "static_response");
  expect(steps.map((s) => [JSON.stringify(s.match), s.handle[0]!["status_code"]])).toEqual([
    ['[{"not":[{"remote_ip":{"ranges":["10.0.0.0/8","127.0.0.1"]}}]}]', 403],
    [`[{"not":[{"header":{"X-Api-Key":["${KEY}"]}}]}]`, 401],
  ]);
  expect(JSON.stringify(trigger)).toContain('"delete":["X-API-Key"]');
  // The unauthenticated sibling route carries no key check.
  const open = all.find((r) => JSON.stringify(r.match ?? []).includes('"/ingest"'))!;
  expect(handlers(open)).toEqual(["reverse_proxy"]);
});

// -------------------------------------------------------------------------------------------------------------
// A running Caddy in front of a real upstream.

describe("a running Caddy enforces the key", () => {
  let upstream: Server;
  let proc: ChildProcess;
  let base: string;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      res.end(`upstream saw ${req.url}`);
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const port = await freePort();
    const text = renderCaddyfile(
      input({
        trigger: route({
          path: "/trigger",
          stripPrefix: true,
          to: { host: "127.0.0.1", port: upstreamPort },
        }),
      }),
    )
      // The renderer targets the container's port 80 and admin on :2019; a test on a shared machine needs free ports.
      .replace("http://localhost {", `http://localhost:${port} {`)
      .replace("admin localhost:2019", "admin off");
    proc = spawn(caddy, ["run", "--config", write(text), "--adapter", "caddyfile"], {
      env: env(),
      stdio: "ignore",
    });
    // The site matches by host name (undici ignores a Host header override).
    base = `http://localhost:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        if ((await fetch(`${base}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error("caddy did not start");
  });
  afterAll(async () => {
    proc?.kill();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  const get = (path: string, key?: string) =>
    fetch(`${base}${path}`, {
      headers: { Host: "localhost", ...(key !== undefined && { "X-API-Key": key }) },
    });

  test("no key or a wrong key: 401, and the upstream is never reached", async () => {
    expect((await get("/trigger/run")).status).toBe(401);
    expect((await get("/trigger/run", "wrong")).status).toBe(401);
    expect((await get("/trigger/run", KEY.toLowerCase())).status).toBe(401);
    expect(seen).toHaveLength(0);
  });

  test("the right key: proxied with the prefix stripped, and the key not forwarded", async () => {
    const res = await get("/trigger/run", KEY);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("upstream saw /run");
    expect(seen).toHaveLength(1);
    expect(seen[0]!["x-api-key"]).toBeUndefined();
  });
});
