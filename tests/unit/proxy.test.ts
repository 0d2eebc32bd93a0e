/**
 * The proxy tier on Docker: the Caddyfile renderer's rules (pure), and `DockerProxy` under the mock runtime —
 * what it registers, with which names, secrets, ports and safety options.
 */
import { type CaddyfileInput, type ResolvedRoute, renderCaddyfile } from "../../components/proxy/caddyfile";
import { DockerProxy } from "../../components/proxy/dockerProxy";
import { resolveRoutes, siteUrls } from "../../components/proxy/settings";
import { type ResolvedConfig, dockerProxyArgs, resolveConfig, upstreamCatalog } from "../../src/config";
import { SECRET_MASK } from "../../src/synth/recorder";
import { isSecret, one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const HASH = "$2a$14$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ";
const to = { host: "api", port: 8000 };
const route = (r: Partial<ResolvedRoute>): ResolvedRoute => ({ stripPrefix: false, auth: "none", to, ...r });
const input = (over: Partial<CaddyfileInput> = {}): CaddyfileInput => ({
  domain: "localhost",
  tls: { mode: "http" },
  basicAuth: [{ user: "admin", bcryptHash: HASH }],
  routes: {},
  ...over,
});

describe("renderCaddyfile", () => {
  test("HSTS only when TLS is on", () => {
    expect(renderCaddyfile(input())).not.toContain("Strict-Transport-Security");
    expect(renderCaddyfile(input({ tls: { mode: "internal" } }))).toContain("Strict-Transport-Security");
    expect(renderCaddyfile(input({ tls: { mode: "acme", email: "a@b.org" } }))).toContain(
      "Strict-Transport-Security",
    );
  });

  test("site addresses: http:// without TLS, bare host + tls internal, acme e-mail in global options", () => {
    expect(renderCaddyfile(input())).toMatch(/^http:\/\/localhost \{$/m);
    const internal = renderCaddyfile(input({ domain: "home.arpa", tls: { mode: "internal" } }));
    expect(internal).toMatch(/^home\.arpa \{\n\ttls internal$/m);
    const acme = renderCaddyfile(
      input({ domain: "example.org", tls: { mode: "acme", email: "ops@example.org" } }),
    );
    expect(acme).toMatch(/^\{\n\tadmin localhost:2019\n\temail ops@example.org\n\}$/m);
    expect(acme).not.toContain("tls internal");
  });

  test("allow-list comes before basic auth, both before the proxy", () => {
    const text = renderCaddyfile(
      input({
        routes: { admin: route({ path: "/admin", auth: "basic", allowFrom: ["10.0.0.0/8", "127.0.0.1"] }) },
      }),
    );
    const blocked = text.indexOf("@admin_blocked not remote_ip 10.0.0.0/8 127.0.0.1");
    const respond = text.indexOf('respond @admin_blocked "forbidden" 403');
    const auth = text.indexOf("basicauth {");
    const proxy = text.indexOf("reverse_proxy api:8000");
    expect(blocked).toBeGreaterThan(0);
    expect(blocked).toBeLessThan(respond);
    expect(respond).toBeLessThan(auth);
    expect(auth).toBeLessThan(proxy);
    expect(text).toContain(`\t\t\t\tadmin ${HASH}\n`);
  });

  test("stripPrefix strips inside the route's own ordered handle (not handle_path, which Caddy sorts last)", () => {
    const text = renderCaddyfile(input({ routes: { tiles: route({ path: "/tiles/", stripPrefix: true }) } }));
    expect(text).toContain("@tiles path /tiles /tiles/*");
    expect(text).toContain("handle @tiles {");
    expect(text).toContain("uri strip_prefix /tiles");
    expect(text).not.toContain("handle_path");
  });

  test("routes: more specific paths first, catch-all last, one site per host, health endpoint and health_uri", () => {
    const text = renderCaddyfile(
      input({
        routes: {
          all: route({}),
          api: route({ path: "/api" }),
          deep: route({ path: "/api/admin" }),
          other: route({
            host: "other.localhost",
            to: { host: "storage", port: 9000, healthPath: "/minio/health/live" },
          }),
        },
      }),
    );
    expect(text.indexOf("@deep path")).toBeLessThan(text.indexOf("@api path"));
    expect(text.indexOf("@api path")).toBeLessThan(text.indexOf("# route all"));
    expect(text.match(/^http:\/\/\S+ \{$/gm)).toEqual(["http://localhost {", "http://other.localhost {"]);
    expect(text.match(/handle \/healthz \{\n\t\trespond "ok" 200/g)).toHaveLength(2);
    expect(text).toContain("reverse_proxy storage:9000 {\n\t\t\t\thealth_uri /minio/health/live\n\t\t\t}");
    // Sites with a catch-all route get no 404 fallback; a site without one does.
    expect(text).not.toContain('respond "not found" 404');
    const pathOnly = renderCaddyfile(input({ routes: { api: route({ path: "/api" }) } }));
    expect(pathOnly).toMatch(/\thandle \{\n\t\trespond "not found" 404\n\t\}\n\}\n$/);
  });

  test("deterministic regardless of key order", () => {
    const a = { x: route({ path: "/x" }), y: route({ host: "y.localhost" }) };
    const b = { y: a.y, x: a.x };
    expect(renderCaddyfile(input({ routes: a }))).toBe(renderCaddyfile(input({ routes: b })));
  });

  test("refuses values that could break out of the file", () => {
    expect(() => renderCaddyfile(input({ domain: "evil.org {\n" }))).toThrow(/domain/);
    expect(() => renderCaddyfile(input({ routes: { r: route({ path: "/a }" }) } }))).toThrow(/path/);
    expect(() => renderCaddyfile(input({ routes: { r: route({ allowFrom: ["10.0.0.0/8\n}"] }) } }))).toThrow(
      /allowFrom/,
    );
    expect(() => renderCaddyfile(input({ routes: { r: route({ to: { host: "a b", port: 1 } }) } }))).toThrow(
      /upstream host/,
    );
    expect(() => renderCaddyfile(input({ basicAuth: [{ user: "admin", bcryptHash: "x}\n" }] }))).toThrow(
      /bcrypt/,
    );
    expect(() => renderCaddyfile(input({ tls: { mode: "acme", email: "a@b.org\n}" } }))).toThrow(/e-mail/);
    expect(() =>
      renderCaddyfile(input({ routes: { a: route({ path: "/x" }), b: route({ path: "/x/" }) } })),
    ).toThrow(/routes\.b: matches the same host and path \(localhost\/x\) as route 'a'/);
    expect(() => renderCaddyfile(input({ routes: { h: route({ path: "/healthz" }) } }))).toThrow(/healthz/);
  });
});

/** The proxy's args as the program maps them from a resolved stack config, with storage's upstreams. */
const programArgs = (cfg: ResolvedConfig) =>
  dockerProxyArgs(cfg.proxy!, {
    upstreams: upstreamCatalog({ storage: {} as never }),
    maintenanceRoutes: [],
    safety: cfg.safety,
  });

describe("resolveRoutes / siteUrls", () => {
  const catalog = upstreamCatalog({ storage: {} as never });
  test("catalog names and host:port", () => {
    const r = resolveRoutes(
      {
        s3: { stripPrefix: false, auth: "none", to: "storage" },
        x: { stripPrefix: false, auth: "none", to: "web:8080" },
      },
      catalog,
    ).routes;
    expect(r["s3"]!.to).toEqual({ host: "storage", port: 9000, healthPath: "/minio/health/live" });
    expect(r["x"]!.to).toEqual({ host: "web", port: 8080 });
    expect(resolveRoutes({ bad: { stripPrefix: false, auth: "none", to: "nope" } }, catalog).issues).toEqual([
      {
        path: "routes.bad.to",
        message: "unknown upstream 'nope'; allowed: storage, storage-console, or host:port",
      },
    ]);
  });
  test("urls per site, ports only when not the default", () => {
    const base = {
      domain: "localhost",
      routes: { a: { stripPrefix: false, auth: "none" as const, to: "x:1", host: "b.localhost" } },
    };
    expect(siteUrls({ ...base, tls: { mode: "http" }, httpPort: 80, httpsPort: 443 })).toEqual([
      "http://b.localhost",
      "http://localhost",
    ]);
    expect(siteUrls({ ...base, tls: { mode: "internal" }, httpPort: 80, httpsPort: 8443 })).toEqual([
      "https://b.localhost:8443",
      "https://localhost:8443",
    ]);
  });
});

describe("DockerProxy under the mock runtime", () => {
  function config(proxy: Record<string, unknown>, environment = "staging"): ResolvedConfig {
    return resolveConfig({
      environment,
      targets: { home: { kind: "docker" } },
      storage: { on: "home" },
      proxy: { on: "home", ...proxy },
    });
  }
  const proxyConfig = {
    tls: { mode: "internal" },
    bindAddress: "192.168.1.10",
    httpPort: 8080,
    httpsPort: 8443,
    basicAuthUsers: ["admin", "ops"],
    routes: {
      console: { path: "/console", to: "storage-console", auth: "basic", allowFrom: ["192.168.1.0/24"] },
      s3: { to: "storage", public: true },
    },
  };

  test("registers exactly the expected children, with secrets, bound ports and a protected data volume", async () => {
    const cfg = config(proxyConfig);
    const { recorder, result } = await record(() => {
      const placement = testPlacement();
      return new DockerProxy("proxy", { ...programArgs(cfg), placement });
    });

    const mine = recorder.resources.filter((r) => r.name === "proxy" || r.parent === "proxy");
    expect(mine.map((r) => [r.name, r.type]).sort()).toEqual(
      [
        ["proxy", "stackport:docker:Proxy"],
        ["proxy-admin-password", "random:index/randomPassword:RandomPassword"],
        ["proxy-data", "docker:index/volume:Volume"],
        ["proxy-image", "docker:index/remoteImage:RemoteImage"],
        ["proxy-ops-password", "random:index/randomPassword:RandomPassword"],
        ["proxy-server", "docker:index/container:Container"],
      ].sort(),
    );
    const [dockerProvider] = recorder.byType("pulumi:providers:docker");
    for (const r of mine.filter((x) => x.name !== "proxy" && x.type.startsWith("docker:"))) {
      expect(r.provider).toBe(dockerProvider!.name);
    }

    const server = one(recorder, "proxy-server");
    expect(server.inputs["name"]).toBe("test-proxy");
    // The Caddyfile carries bcrypt hashes: secret, and the SDK marks the whole `uploads` input secret with it.
    expect(server.inputs["uploads"]).toBe(SECRET_MASK);
    expect(server.inputs["envs"]).toEqual(["XDG_DATA_HOME=/data", "XDG_CONFIG_HOME=/config"]);
    expect(server.inputs["ports"]).toEqual([
      { internal: 80, external: 8080, ip: "192.168.1.10", protocol: "tcp" },
      { internal: 443, external: 8443, ip: "192.168.1.10", protocol: "tcp" },
      { internal: 443, external: 8443, ip: "192.168.1.10", protocol: "udp" },
    ]);
    expect(server.inputs["volumes"]).toEqual([{ volumeName: "test-proxy-data", containerPath: "/data" }]);
    expect(
      (server.inputs["networksAdvanced"] as { name: string; aliases: string[] }[]).map((n) => n.name),
    ).toEqual(["test-backend", "test-edge"]);
    expect(server.inputs["healthcheck"]).toMatchObject({
      tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2019/config/"],
    });
    expect(server.inputs["restart"]).toBe("unless-stopped");
    expect(server.dependsOn).toEqual(
      expect.arrayContaining(["proxy-admin-password", "proxy-ops-password", "proxy-data"]),
    );

    // The public route is in the component's recorded inputs: the plan shows what is open to everyone.
    const component = one(recorder, "proxy").inputs as { routes: Record<string, { public?: boolean }> };
    expect(component.routes["s3"]!.public).toBe(true);
    expect(component.routes["console"]!.public).toBeUndefined();

    // staging: stateful safety on by default.
    expect(one(recorder, "proxy-data")).toMatchObject({ protect: true, retainOnDelete: true });

    expect(await valueOf(result.endpoint.urls)).toEqual(["https://localhost:8443"]);
    expect(Object.keys(result.endpoint.basicAuthPasswords).sort()).toEqual(["admin", "ops"]);
    expect(await isSecret(result.endpoint.basicAuthPasswords["admin"]!)).toBe(true);
  });

  test("local http: only port 80, on loopback; data volume not protected", async () => {
    const cfg = config({ routes: { s3: { to: "storage" } } }, "local");
    const { recorder } = await record(
      () => new DockerProxy("proxy", { ...programArgs(cfg), placement: testPlacement() }),
    );
    expect(one(recorder, "proxy-server").inputs["ports"]).toEqual([
      { internal: 80, external: 80, ip: "127.0.0.1", protocol: "tcp" },
    ]);
    expect(one(recorder, "proxy-data")).toMatchObject({ protect: false, retainOnDelete: false });
    expect(recorder.byType("random:index/randomPassword:RandomPassword").map((r) => r.name)).toEqual([
      "proxy-admin-password",
    ]);
  });

  test("requireExposureDecision: a route without allowFrom, auth or public is refused, public with allowFrom too", () => {
    const args = (routes: Record<string, object>) => ({
      placement: testPlacement(),
      requireExposureDecision: true,
      routes: routes as never,
      upstreams: upstreamCatalog({ storage: {} as never }),
    });
    expect(() => new DockerProxy("proxy", args({ s3: { host: "s3.localhost", to: "storage" } }))).toThrow(
      "Invalid args for stackport:docker:Proxy 'proxy' (1 problem):\n  - routes.s3: has no exposure decision (required outside the local environment); set allowFrom: [<client CIDRs>] to restrict it, or auth: basic or apiKey to protect it, or public: true to publish it to everyone who reaches the proxy",
    );
    expect(
      () =>
        new DockerProxy(
          "proxy",
          args({ s3: { host: "s3.localhost", to: "storage", public: true, allowFrom: ["10.0.0.0/8"] } }),
        ),
    ).toThrow("routes.s3.public: public: true contradicts allowFrom");
  });

  test("an unknown upstream fails before the proxy registers anything", async () => {
    const cfg = config(proxyConfig);
    const { recorder, result } = await record(() => {
      const placement = testPlacement();
      try {
        new DockerProxy("proxy", { ...programArgs(cfg), upstreams: {}, placement });
        return undefined;
      } catch (e) {
        return e as Error;
      }
    });
    expect(result?.message).toMatch(/routes\.console\.to: unknown upstream 'storage-console'/);
    expect(recorder.resources.filter((r) => r.name.startsWith("proxy"))).toEqual([]);
  });
});

describe("auth: apiKey", () => {
  const KEY = "abcdefghijklmnopqrstuvwxyz012345";

  test("allow-list, then the X-API-Key check (401), then the key is dropped, then the proxy", () => {
    const text = renderCaddyfile(
      input({
        routes: { trigger: route({ path: "/trigger", auth: "apiKey", allowFrom: ["10.0.0.0/8"] }) },
        apiKeys: { trigger: KEY },
      }),
    );
    const order = [
      "@trigger_blocked not remote_ip 10.0.0.0/8",
      `@trigger_no_key not header X-API-Key ${KEY}`,
      'respond @trigger_no_key "unauthorized" 401',
      "request_header -X-API-Key",
      "reverse_proxy api:8000",
    ].map((line) => text.indexOf(line));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).not.toContain("basicauth");
  });

  test("a missing key, or one that is not plain letters and digits, is refused", () => {
    const routes = { trigger: route({ auth: "apiKey" }) };
    expect(() => renderCaddyfile(input({ routes }))).toThrow(/routes\.trigger\.auth: needs an API key/);
    // `*` would make Caddy's header matcher a wildcard; whitespace would break the file.
    expect(() => renderCaddyfile(input({ routes, apiKeys: { trigger: `${KEY}*` } }))).toThrow(/API key/);
    expect(() => renderCaddyfile(input({ routes, apiKeys: { trigger: `${KEY}\n}` } }))).toThrow(/API key/);
  });

  test("DockerProxy generates one key per apiKey route, exposed as a secret; the Caddyfile stays secret", async () => {
    const cfg = resolveConfig({
      environment: "local",
      targets: { home: { kind: "docker" } },
      storage: { on: "home" },
      proxy: {
        on: "home",
        basicAuthUsers: [],
        routes: { s3: { to: "storage", path: "/s3", auth: "apiKey" } },
      },
    });
    const { recorder, result } = await record(
      () => new DockerProxy("proxy", { ...programArgs(cfg), placement: testPlacement() }),
    );
    expect(recorder.byType("random:index/randomPassword:RandomPassword").map((r) => r.name)).toEqual([
      "proxy-s3-api-key",
    ]);
    expect(one(recorder, "proxy-server").inputs["uploads"]).toBe(SECRET_MASK);
    expect(Object.keys(result.apiKeys)).toEqual(["s3"]);
    expect(await isSecret(result.apiKeys["s3"]!)).toBe(true);
    expect(await valueOf(result.apiKeys["s3"]!)).toBe("mock-password-proxy-s3-api-key");
  });
});
