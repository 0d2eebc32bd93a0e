/**
 * The protections issue #15 found switched off with no violation, each tested both ways: the shipped stack passes the
 * rule, and a copy of it with the one config edit gets a mandatory violation naming the resource and what to change.
 * Where the config check itself now refuses the edit outside `local`, the copy also relabels `stackport:environment`
 * to `local` (the careless edit that bypasses those checks): the rules read the resources, so they still fire.
 *
 * The proxy rules read the Caddyfile the proxy uploads; in the offline plan it is a masked secret (it holds the
 * basic-auth hashes and API keys), so the stack cases exercise the fallback to the proxy component's inputs, and the
 * Caddyfile cases below feed files rendered by the real renderer (components/proxy/caddyfile.ts).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- stack config values are untyped JSON */
import { allRules } from "../../policies/rules";
import { caddySites, parseCaddyfile } from "../../policies/rules/caddyfile";
import { DEFAULT_ADMIN_UPSTREAMS } from "../../policies/rules/exposure";
import { dockerStorageUpstreams } from "../../components/storage/settings";
import { type ResolvedRoute, renderCaddyfile } from "../../components/proxy/caddyfile";
import { evaluatePolicies, loadPolicyConfig, stackPolicyConfig } from "../../src/synth/policy";
import { synthesize } from "../../src/synth/run";
import { type StackFile, listExampleStackFiles, listStacks, readStackFile } from "../../src/synth/stackFile";
import type { Violation } from "../../src/synth/render";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../harness";
import { requireTool } from "../support/tools";
import { UNKNOWN, recorded, runPlan } from "./harness";

const MINE = [
  "proxy-route-exposure",
  "proxy-admin-auth",
  "proxy-tls",
  "docker-database-backups",
  "docker-ssh-host-keys",
  "aws-sg-no-public-ingress",
  "aws-vpc-flow-logs",
  "aws-alarms-notify",
  "aws-rds-backup-retention",
];
const rule = (name: string) => allRules.find((r) => r.name === name)!;

type Config = Record<string, string>;
/** Edits one `stackport:` key of a stack file's config (a JSON value; `undefined` removes the key). */
const edit = (key: string, change: (value: any) => unknown) => (config: Config) => {
  const next = change(
    config[`stackport:${key}`] === undefined ? undefined : JSON.parse(config[`stackport:${key}`]!),
  );
  if (next === undefined) delete config[`stackport:${key}`];
  else config[`stackport:${key}`] = JSON.stringify(next);
};
const relabelLocal = (config: Config) => void (config["stackport:environment"] = "local");
const withoutAllowFrom = ({ allowFrom: _dropped, ...rest }: Record<string, unknown>) => rest;

async function violations(stack: string, ...edits: ((c: Config) => void)[]): Promise<Violation[]> {
  const file: StackFile = readStackFile(ROOT, stack);
  for (const e of edits) e(file.config);
  const plan = await synthesize(file);
  // The stack's own policy config (policies/config/<stack>.json), whatever the stack file now says.
  return evaluatePolicies(plan.resources, file.stack, file.config["stackport:environment"] ?? stack, ROOT);
}

describe("the shipped stacks pass", () => {
  it.each([...listStacks(ROOT), ...listExampleStackFiles(ROOT)])(
    "%s: no mandatory violation of these rules",
    async (stack) => {
      const v = await violations(stack);
      expect(v.filter((x) => MINE.includes(x.policy) && x.enforcementLevel === "mandatory")).toEqual([]);
    },
  );
  it("staging and production: none of these rules reports anything, not even advisory", async () => {
    for (const stack of ["staging", "production"]) {
      expect((await violations(stack)).filter((x) => MINE.includes(x.policy))).toEqual([]);
    }
  });
});

interface EditCase {
  what: string;
  stack: string;
  edits: ((c: Config) => void)[];
  policy: string;
  resource: { type: string; name: string };
  message: RegExp;
}

const cases: EditCase[] = [
  {
    what: "production allowedCidrs: [0.0.0.0/0] (routes marked public so the config accepts it)",
    stack: "production",
    edits: [
      edit("proxy", (p) => ({ ...p, aws: { ...p.aws, allowedCidrs: ["0.0.0.0/0"] } })),
      edit("basemap", (b) => ({ ...b, route: { ...b.route, public: true } })),
      edit("ingestion", (i) => ({
        ...i,
        services: {
          ...i.services,
          api: { ...i.services.api, route: { ...i.services.api.route, public: true } },
        },
      })),
    ],
    policy: "aws-sg-no-public-ingress",
    resource: {
      type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      name: "proxy-in-443-0-0-0-0-0",
    },
    message: /0\.0\.0\.0\/0 to port 443\/tcp: open to the whole internet .*allowedCidrs/,
  },
  {
    what: "production flowLogs: false",
    stack: "production",
    edits: [
      edit("targets", (t) => ({ ...t, cloud: { ...t.cloud, vpc: { ...t.cloud.vpc, flowLogs: false } } })),
    ],
    policy: "aws-vpc-flow-logs",
    resource: { type: "aws:ec2/vpc:Vpc", name: "cloud-vpc" },
    message: /no flow log.*vpc\.flowLogs: true/,
  },
  {
    what: "production alarmEmails: []",
    stack: "production",
    edits: [edit("observability", (o) => ({ ...o, aws: { ...o.aws, alarmEmails: [] } }))],
    policy: "aws-alarms-notify",
    resource: { type: "aws:sns/topic:Topic", name: "observability-alerts" },
    message: /receives 14 alarm\(s\) but has no subscription.*alarmEmails/,
  },
  {
    what: "production backupRetentionDays: 0 (relabelled local: production's config refuses 0)",
    stack: "production",
    edits: [relabelLocal, edit("database", (d) => ({ ...d, aws: { ...d.aws, backupRetentionDays: 0 } }))],
    policy: "aws-rds-backup-retention",
    resource: { type: "aws:rds/instance:Instance", name: "database-instance" },
    message: /backupRetentionPeriod is 0, below 7/,
  },
  {
    what: "staging with every allowFrom removed (relabelled local: staging's config requires a decision)",
    stack: "staging",
    edits: [
      relabelLocal,
      edit("proxy", (p) => ({
        ...p,
        routes: Object.fromEntries(
          Object.entries(p.routes).map(([k, r]) => [k, withoutAllowFrom(r as never)]),
        ),
      })),
      edit("basemap", (b) => ({ ...b, route: withoutAllowFrom(b.route) })),
      edit("ingestion", (i) => ({
        ...i,
        services: {
          ...i.services,
          api: { ...i.services.api, route: withoutAllowFrom(i.services.api.route) },
        },
      })),
    ],
    policy: "proxy-route-exposure",
    resource: { type: "stackport:docker:Proxy", name: "proxy" },
    message:
      /route grafana \(grafana\.platform\.home\.lan → grafana\) is open to anyone.*allowFrom, auth, or public: true/,
  },
  {
    what: "staging console route auth: none",
    stack: "staging",
    edits: [
      edit("proxy", (p) => ({
        ...p,
        routes: { ...p.routes, console: { ...p.routes.console, auth: "none" } },
      })),
    ],
    policy: "proxy-admin-auth",
    resource: { type: "stackport:docker:Proxy", name: "proxy" },
    message: /route console .*admin interface storage-console with auth none: set auth: basic/,
  },
  {
    what: "staging tls.mode: http",
    stack: "staging",
    edits: [edit("proxy", (p) => ({ ...p, tls: { mode: "http" } }))],
    policy: "proxy-tls",
    resource: { type: "stackport:docker:Proxy", name: "proxy" },
    message: /tls\.mode is http.*set tls\.mode to internal or acme/,
  },
  {
    what: "staging without stackport:backups",
    stack: "staging",
    edits: [edit("backups", () => undefined)],
    policy: "docker-database-backups",
    resource: { type: "stackport:docker:Database", name: "database" },
    message: /no backup runner in the stack.*configure stackport:backups/,
  },
  {
    what: "staging sshOpts StrictHostKeyChecking=no (with the target's insecureHostKeys, which the config requires)",
    stack: "staging",
    edits: [
      edit("targets", (t) => ({
        ...t,
        homelab: { ...t.homelab, insecureHostKeys: true, sshOpts: ["-o", "StrictHostKeyChecking=no"] },
      })),
    ],
    policy: "docker-ssh-host-keys",
    resource: { type: "pulumi:providers:docker", name: "homelab-docker" },
    message: /StrictHostKeyChecking=no/,
  },
];

describe.each(cases)("$what", (c) => {
  it(`→ a mandatory ${c.policy} violation on ${c.resource.name}`, async () => {
    const mine = (await violations(c.stack, ...c.edits)).filter((v) => v.policy === c.policy);
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          ...c.resource,
          enforcementLevel: "mandatory",
          message: expect.stringMatching(c.message),
        }),
      ]),
    );
  });
});

describe("a reviewed exception lives in the stack's policy config", () => {
  it("publicIngress: [80, 443] lets the load balancer take the whole internet; other ports still fail", async () => {
    const open = recorded("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "proxy-in-443", {
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
      tags: { "stackport.tier": "proxy" },
    });
    const production = loadPolicyConfig(stackPolicyConfig(ROOT, "production"));
    const rules = [rule("aws-sg-no-public-ingress")];
    expect(await runPlan([open], { config: production, rules })).toHaveLength(1);
    const reviewed = {
      ...production,
      "aws-sg-no-public-ingress": { enforcementLevel: "mandatory" as const, publicIngress: [80, 443] },
    };
    expect(await runPlan([open], { config: reviewed, rules })).toEqual([]);
    const ssh = { ...open, name: "ssh", inputs: { ...open.inputs, fromPort: 22, toPort: 22 } };
    expect(await runPlan([ssh], { config: reviewed, rules })).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The Caddyfile the proxy uploads (what the engine sees at `pulumi up`, and in previews of an existing stack)

/** Hand-written Caddyfiles for what the renderer never writes; Caddy's own reading of each is checked below. */
const SITES = {
  tls: "example.org {\n\treverse_proxy app:80\n}\n",
  httpScheme: "http://example.org {\n\treverse_proxy app:80\n}\n",
  port80: "example.org:80 {\n\treverse_proxy app:80\n}\n",
  barePort: ":8080 {\n\treverse_proxy app:80\n}\n",
  autoHttpsOff: "{\n\tauto_https off\n}\nexample.org {\n\treverse_proxy app:80\n}\n",
  /** Answers 200 (not a refusal) to requests without the header: the route stays open. */
  respond200:
    'example.org {\n\t@nokey not header X-API-Key abcdefghijklmnopqrstuvwxyz\n\trespond @nokey "hello" 200\n\treverse_proxy app:80\n}\n',
  placeholders: '{$HOST} {\n\trespond "{ not a block }" 200\n\theader X-Host {http.request.host}\n}\n',
};
const UNCLOSED = "example.org {\n\treverse_proxy app:80\n";

const HASH = "$2a$14$abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQ";
const KEY = "k".repeat(40);
const upstreams = {
  storage: { tier: "storage", host: "storage", port: 9000 },
  "storage-console": { tier: "storage", host: "storage", port: 9001 },
  grafana: { tier: "observability", host: "grafana", port: 3000 },
};
const route = (to: keyof typeof upstreams, over: Partial<ResolvedRoute> = {}): ResolvedRoute => ({
  to: { host: upstreams[to].host, port: upstreams[to].port },
  ...over,
});
/** The staging proxy's routes, rendered by the real renderer. */
const stagingRoutes = (): Record<string, ResolvedRoute> => ({
  s3: route("storage", { host: "s3.home.lan", allowFrom: ["192.168.1.0/24"] }),
  console: route("storage-console", {
    host: "console.home.lan",
    auth: "basic",
    allowFrom: ["192.168.1.0/24"],
  }),
  grafana: route("grafana", { host: "grafana.home.lan", allowFrom: ["192.168.1.0/24"] }),
  api: route("storage", { path: "/api", auth: "apiKey" }),
});
const render = (
  routes: Record<string, ResolvedRoute>,
  tls: { mode: "http" } | { mode: "internal" } = { mode: "internal" },
) =>
  renderCaddyfile({
    domain: "home.lan",
    tls,
    routes,
    basicAuth: [{ user: "admin", bcryptHash: HASH }],
    metricsPort: 2020,
    apiKeys: Object.fromEntries(
      Object.entries(routes)
        .filter(([, r]) => r.auth === "apiKey")
        .map(([n]) => [n, KEY]),
    ),
  });

/** A Caddy container uploading `content`, owned by a proxy component (unless `owner` is false). */
function proxyPlan(content: unknown, owner = true) {
  return [
    ...(owner
      ? [recorded("stackport:docker:Proxy", "proxy", { upstreams, routes: {}, tls: { mode: "internal" } })]
      : []),
    recorded(
      "docker:index/container:Container",
      "proxy-server",
      { uploads: [{ file: "/etc/caddy/Caddyfile", content }] },
      { parent: owner ? "proxy" : null },
    ),
  ];
}
const check = async (name: string, content: unknown, owner = true) =>
  runPlan(proxyPlan(content, owner), { rules: [rule(name)] });

describe("proxy rules on the uploaded Caddyfile", () => {
  it("the staging-shaped file passes all three", async () => {
    for (const name of ["proxy-route-exposure", "proxy-admin-auth", "proxy-tls"])
      expect(await check(name, render(stagingRoutes()))).toEqual([]);
  });

  it("a route without allowFrom or auth is open to anyone", async () => {
    const routes = { ...stagingRoutes(), grafana: route("grafana", { host: "grafana.home.lan" }) };
    const v = await check("proxy-route-exposure", render(routes));
    expect(v).toEqual([
      expect.objectContaining({
        name: "proxy-server",
        enforcementLevel: "mandatory",
        message: expect.stringMatching(
          /route grafana on grafana\.home\.lan proxies to grafana:3000 for anyone/,
        ),
      }),
    ]);
  });

  it("only a 401/403 answer guards a route: a 200 to requests without a key does not", async () => {
    const v = await check("proxy-route-exposure", SITES.respond200);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(/proxies to app:80 for anyone/)]);
  });

  it("a route the renderer marks public passes; a route merely named public does not", async () => {
    const routes = {
      ...stagingRoutes(),
      grafana: route("grafana", { host: "grafana.home.lan", public: true }),
    };
    expect(render(routes)).toMatch(/# route grafana \(public\)/);
    expect(await check("proxy-route-exposure", render(routes))).toEqual([]);
    const mentioned = render(routes).replace("# route grafana (public)", "# route grafana: not public");
    expect(await check("proxy-route-exposure", mentioned)).toHaveLength(1);
    const named = { ...stagingRoutes(), public: route("grafana", { host: "public.home.lan" }) };
    expect((await check("proxy-route-exposure", render(named))).map((x) => x.message)).toEqual([
      expect.stringMatching(/route public on public\.home\.lan proxies to grafana:3000 for anyone/),
    ]);
  });

  it("the console behind an allow-list only is an admin route without auth", async () => {
    const routes = {
      ...stagingRoutes(),
      console: route("storage-console", { host: "console.home.lan", allowFrom: ["192.168.1.0/24"] }),
    };
    const v = await check("proxy-admin-auth", render(routes));
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(
        /route console on console\.home\.lan proxies to the admin interface storage:9001 without authentication/,
      ),
    ]);
    // Without an owning component's catalog the default names the console by address too.
    expect(await check("proxy-admin-auth", render(routes), false)).toHaveLength(1);
    const other = { "proxy-admin-auth": { adminUpstreams: ["grafana"] } };
    expect(
      await runPlan(proxyPlan(render(routes), false), { config: other, rules: [rule("proxy-admin-auth")] }),
    ).toEqual([]);
  });

  it("the default admin upstreams are the Docker storage console's name and address", () => {
    const console = dockerStorageUpstreams()["storage-console"]!;
    expect(DEFAULT_ADMIN_UPSTREAMS).toEqual(["storage-console", `${console.host}:${console.port}`]);
  });

  it("plain HTTP sites that proxy are reported; the metrics listener is not a route", async () => {
    const v = await check("proxy-tls", render(stagingRoutes(), { mode: "http" }));
    expect(v.map((x) => x.message)).toEqual(
      ["console.home.lan", "grafana.home.lan", "home.lan", "s3.home.lan"].map((h) =>
        expect.stringMatching(new RegExp(`serves http://${h.replace(/\./g, "\\.")} over plain HTTP`)),
      ),
    );
    const metricsOnly = "{\n\tadmin localhost:2019\n}\n\nhttp://:2020 {\n\tmetrics /metrics\n}\n";
    expect(await check("proxy-tls", metricsOnly)).toEqual([]);
    expect(await check("proxy-tls", SITES.barePort)).toHaveLength(1);
    // auto_https off stops automatic certificates, not TLS (Caddy keeps a TLS policy on :443).
    expect(await check("proxy-tls", SITES.autoHttpsOff)).toEqual([]);
  });

  it("a file it cannot read is 'cannot check', never a pass", async () => {
    for (const name of ["proxy-route-exposure", "proxy-admin-auth", "proxy-tls"]) {
      const broken = await check(name, UNCLOSED);
      expect(broken).toEqual([
        expect.objectContaining({
          name: "proxy-server",
          message: expect.stringMatching(/^cannot check: .*unclosed/),
        }),
      ]);
      const imported = await check(
        name,
        "example.org {\n\timport /etc/caddy/extra\n\treverse_proxy app:80\n}\n",
      );
      expect(imported.map((x) => x.message)).toEqual([
        expect.stringMatching(/^cannot check: .*imports \/etc\/caddy\/extra/),
      ]);
      // Hidden content and no stackport proxy component to read the routes from.
      expect((await check(name, UNKNOWN, false)).map((x) => x.message)).toEqual([
        expect.stringMatching(/^cannot check: the Caddyfile is not visible here: its content is unknown/),
      ]);
    }
  });

  it("hidden content under a proxy component is checked through the component's routes", async () => {
    const plan = proxyPlan("[secret]");
    plan[0]!.inputs = {
      upstreams,
      domain: "home.lan",
      tls: { mode: "http" },
      routes: { grafana: { to: "grafana", auth: "none" } },
    };
    const v = await runPlan(plan, { rules: [rule("proxy-route-exposure"), rule("proxy-tls")] });
    expect(v.map((x) => `${x.policy} ${x.name}`)).toEqual(["proxy-route-exposure proxy", "proxy-tls proxy"]);
  });
});

describe("the Caddyfile reader", () => {
  it("follows the renderer's output: every route, its guards, and its label", () => {
    const sites = caddySites(render(stagingRoutes()));
    const routes = sites.flatMap((s) =>
      s.routes.map((r) => [r.label, r.upstreams.join(), [...r.guards].sort().join()]),
    );
    expect(routes).toEqual([
      ["console", "storage:9001", "allow-list,auth"],
      ["grafana", "grafana:3000", "allow-list"],
      ["api", "storage:9000", "auth"],
      ["s3", "storage:9000", "allow-list"],
    ]);
  });
  it("keeps placeholders and quoted braces as tokens, not blocks", () => {
    const [site] = parseCaddyfile(SITES.placeholders);
    expect(site!.tokens).toEqual(["{$HOST}"]);
    expect(site!.block!.map((n) => n.tokens)).toEqual([
      ["respond", "{ not a block }", "200"],
      ["header", "X-Host", "{http.request.host}"],
    ]);
  });
});

describe("the reader agrees with Caddy 2 (`caddy adapt`)", () => {
  const caddy = requireTool("caddy", "caddy");
  const dir = mkdtempSync(join(tmpdir(), "stackport-caddy-policy-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const adapt = (text: string) => {
    const file = join(dir, "Caddyfile");
    writeFileSync(file, text);
    const r = spawnSync(caddy, ["adapt", "--config", file, "--adapter", "caddyfile"], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir, HOST: "example.org" },
    });
    return { code: r.status, json: r.status === 0 ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  };

  it.each(Object.entries(SITES))(
    "%s: plain HTTP for the reader ⇔ Caddy serves it without TLS",
    (_name, text) => {
      const { code, json, stderr } = adapt(text);
      expect({ code, stderr }).toEqual({ code: 0, stderr: expect.anything() });
      const servers = Object.values(json.apps.http.servers) as {
        listen: string[];
        tls_connection_policies?: unknown;
      }[];
      // One site per file: Caddy serves TLS on :443 (automatic HTTPS) or where it keeps a TLS connection policy.
      const tls = servers.some((s) => s.listen.includes(":443") || s.tls_connection_policies !== undefined);
      expect(caddySites(text).map((s) => s.plain)).toEqual([!tls]);
    },
  );

  it("the unclosed file Caddy refuses too", () => {
    expect(adapt(UNCLOSED).code).not.toBe(0);
    expect(() => caddySites(UNCLOSED)).toThrow(/unclosed/);
  });
});
