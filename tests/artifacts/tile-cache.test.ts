/**
 * The basemap's disk tile cache, run for real: the rendered nginx config passes `nginx -t`, then a running nginx
 * in front of a stand-in Martin shows what users depend on: a tile is rendered once and served from disk after,
 * per encoding; errors, the catalog and TileJSON are never cached; /health reaches Martin; an expired tile is
 * served while Martin is failing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { type IncomingHttpHeaders, type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TILE_CACHE_SELF_CHECK, renderTileCacheConfig } from "../../components/basemap/tileCache";
import { freePort, requireTool, run } from "../support/tools";

// No test may hang the run: every wait below is bounded, and whatever a test started is stopped after it.
jest.setTimeout(30_000);

let nginx: string;
let dir: string;
/** Every nginx and stand-in Martin started, so afterAll stops them whichever test failed where. */
const started = { nginx: new Set<ChildProcess>(), servers: new Set<Server>() };
beforeAll(() => {
  nginx = requireTool("nginx", "nginx");
  dir = mkdtempSync(join(tmpdir(), "stackport-tile-cache-"));
  // nginx's workers run as an unprivileged user and must reach the cache below this directory.
  chmodSync(dir, 0o755);
});
afterAll(async () => {
  await Promise.all([...started.nginx].map(stopNginx));
  await Promise.all([...started.servers].map(closeServer));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function configFor(test: string, upstream: string, port: number, maxAge = "1d"): string {
  const root = join(dir, test);
  mkdirSync(root, { mode: 0o755 });
  const conf = join(dir, `${test}.conf`);
  writeFileSync(
    conf,
    renderTileCacheConfig({
      upstream,
      sizeGb: 1,
      maxAge,
      port,
      cacheDir: join(root, "cache"),
      runDir: root,
      resolver: "127.0.0.1",
    }),
  );
  return conf;
}

test("the rendered config passes nginx -t", async () => {
  const conf = configFor("syntax", "http://basemap:3000", await freePort());
  const r = run(nginx, ["-t", "-c", conf, "-p", dir]);
  expect(r.stderr).toContain("test is successful");
  expect(r.code).toBe(0);
});

/** A stand-in Martin: tiles, an empty tile, a missing one, the catalog and TileJSON; it counts what reaches it. */
function fakeMartin() {
  const hits: { url: string; encoding: string | undefined; host: string | undefined }[] = [];
  let failing = false;
  const server = createServer((req, res) => {
    hits.push({ url: req.url!, encoding: req.headers["accept-encoding"], host: req.headers.host });
    if (failing) return void res.writeHead(500).end("martin is down");
    // Martin says no-cache on some responses; the cache's maxAge decides regardless.
    const headers = { "Cache-Control": "no-cache" };
    if (req.url === "/health") return void res.writeHead(200, headers).end("OK");
    if (req.url === "/catalog") return void res.writeHead(200, headers).end('{"tiles":{}}');
    if (req.url === "/roads")
      return void res
        .writeHead(200, headers)
        .end(`{"tiles":["http://${req.headers.host}/roads/{z}/{x}/{y}"]}`);
    if (req.url!.startsWith("/empty/")) return void res.writeHead(204, headers).end();
    if (req.url!.startsWith("/roads/"))
      return void res
        .writeHead(200, headers)
        .end(`tile ${req.url} for ${req.headers["accept-encoding"] ?? "any"}`);
    res.writeHead(404, headers).end("no such source");
  });
  started.servers.add(server);
  return {
    server,
    hits,
    setFailing: (on: boolean) => void (failing = on),
    count: (url: string) => hits.filter((h) => h.url === url).length,
  };
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, headers: { Host: "maps.example.org", ...headers } },
      (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts nginx on a config that first passed `nginx -t` (a broken config fails here, with nginx's message). */
async function startNginx(conf: string, port: number): Promise<ChildProcess> {
  const check = run(nginx, ["-t", "-c", conf, "-p", dir]);
  if (check.code !== 0) throw new Error(`nginx -t refused ${conf}:\n${check.stderr}`);
  let output = "";
  const proc = spawn(nginx, ["-c", conf, "-p", dir, "-g", "daemon off;"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.nginx.add(proc);
  proc.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  for (let i = 0; i < 100; i++) {
    try {
      if ((await get(port, TILE_CACHE_SELF_CHECK)).status === 200) return proc;
    } catch {
      // not listening yet
    }
    if (!running(proc)) break;
    await pause(50);
  }
  await stopNginx(proc);
  throw new Error(`nginx did not start:\n${output}`);
}

/** Neither exited nor killed by a signal (`exitCode` stays null for the latter). */
const running = (proc: ChildProcess) => proc.exitCode === null && proc.signalCode === null;

/** Graceful stop (SIGQUIT), then SIGKILL after 5 s: never waits on a process that is already gone. */
async function stopNginx(proc: ChildProcess | undefined): Promise<void> {
  if (!proc) return;
  started.nginx.delete(proc);
  if (!running(proc)) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGQUIT");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** Closes a stand-in server and every connection still open to it. */
function closeServer(server: Server): Promise<void> {
  started.servers.delete(server);
  if (!server.listening) return Promise.resolve();
  return new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
}

describe("a running tile cache in front of Martin", () => {
  const martin = fakeMartin();
  let proc: ChildProcess | undefined;
  let port: number;
  beforeAll(async () => {
    await new Promise<void>((r) => martin.server.listen(0, "127.0.0.1", r));
    port = await freePort();
    const upstream = `http://127.0.0.1:${(martin.server.address() as AddressInfo).port}`;
    proc = await startNginx(configFor("live", upstream, port), port);
  });
  afterAll(async () => {
    await stopNginx(proc);
    await closeServer(martin.server);
  });

  test("a tile is rendered once, then served from disk, despite Martin's no-cache", async () => {
    const first = await get(port, "/roads/3/4/5");
    const second = await get(port, "/roads/3/4/5");
    expect([first.status, first.headers["x-cache-status"]]).toEqual([200, "MISS"]);
    expect([second.status, second.headers["x-cache-status"]]).toEqual([200, "HIT"]);
    expect(second.body).toBe(first.body);
    expect(martin.count("/roads/3/4/5")).toBe(1);
    // Martin saw the client's Host, so TileJSON and tile URLs keep the public name.
    expect(martin.hits.find((h) => h.url === "/roads/3/4/5")!.host).toBe("maps.example.org");
    // The tile is on disk, in the directory the volume is mounted at.
    expect(readdirSync(join(dir, "live", "cache"))).not.toEqual([]);
  });

  test("one copy per encoding the client accepts: Martin sees br, gzip or nothing, never the raw header", async () => {
    const path = "/roads/6/7/8";
    const br = await get(port, path, { "Accept-Encoding": "gzip, deflate, br" });
    const gzip = await get(port, path, { "Accept-Encoding": "gzip, deflate" });
    const none = await get(port, path);
    expect([br.body, gzip.body, none.body]).toEqual([
      `tile ${path} for br`,
      `tile ${path} for gzip`,
      `tile ${path} for any`,
    ]);
    expect(
      (await get(port, path, { "Accept-Encoding": "br;q=1.0, gzip;q=0.8" })).headers["x-cache-status"],
    ).toBe("HIT");
    expect(martin.hits.filter((h) => h.url === path).map((h) => h.encoding ?? "")).toEqual([
      "br",
      "gzip",
      "",
    ]);
  });

  test("an empty tile (204) is cached; a missing source (404) never is", async () => {
    await get(port, "/empty/0/0/0");
    expect((await get(port, "/empty/0/0/0")).headers["x-cache-status"]).toBe("HIT");
    expect(martin.count("/empty/0/0/0")).toBe(1);
    expect((await get(port, "/nope/1/1/1")).status).toBe(404);
    expect((await get(port, "/nope/1/1/1")).status).toBe(404);
    expect(martin.count("/nope/1/1/1")).toBe(2);
  });

  test("the catalog, TileJSON and /health always reach Martin, so new sources and outages show at once", async () => {
    for (const path of ["/catalog", "/roads", "/health"]) {
      const a = await get(port, path);
      const b = await get(port, path);
      expect([a.status, b.status, b.headers["x-cache-status"]]).toEqual([200, 200, undefined]);
      expect(martin.count(path)).toBe(2);
    }
    expect((await get(port, "/roads")).body).toContain("http://maps.example.org/roads/{z}/{x}/{y}");
  });

  test("tiles outlive the cache container: a restarted nginx serves them from the volume without Martin", async () => {
    await get(port, "/roads/9/9/9");
    await stopNginx(proc);
    proc = await startNginx(join(dir, "live.conf"), port);
    const again = await get(port, "/roads/9/9/9");
    expect([again.status, again.headers["x-cache-status"]]).toEqual([200, "HIT"]);
    expect(martin.count("/roads/9/9/9")).toBe(1);
  });
});

test("an expired tile is still served while Martin fails, and refreshed once it answers again", async () => {
  const martin = fakeMartin();
  await new Promise<void>((r) => martin.server.listen(0, "127.0.0.1", r));
  const port = await freePort();
  const upstream = `http://127.0.0.1:${(martin.server.address() as AddressInfo).port}`;
  let proc: ChildProcess | undefined;
  try {
    proc = await startNginx(configFor("stale", upstream, port, "1s"), port);
    expect((await get(port, "/roads/1/1/1")).status).toBe(200);
    // nginx counts validity in whole seconds: past 2 s, a 1 s tile has expired whatever the start's fraction.
    await pause(2100);
    martin.setFailing(true);
    const stale = await get(port, "/roads/1/1/1");
    expect([stale.status, stale.body]).toEqual([200, "tile /roads/1/1/1 for any"]);
    expect(["STALE", "UPDATING"]).toContain(stale.headers["x-cache-status"]);
    // A tile never cached has nothing to fall back on: Martin's error goes through.
    expect((await get(port, "/roads/2/2/2")).status).toBe(500);

    martin.setFailing(false);
    let status: string | string[] | undefined;
    for (let i = 0; i < 40 && status !== "HIT"; i++) {
      status = (await get(port, "/roads/1/1/1")).headers["x-cache-status"];
      if (status !== "HIT") await pause(50);
    }
    expect(status).toBe("HIT");
    expect(martin.hits.filter((h) => h.url === "/roads/1/1/1").length).toBeGreaterThanOrEqual(3);
  } finally {
    await stopNginx(proc);
    await closeServer(martin.server);
  }
});
