/**
 * The proxy tier on AWS: `AlbProxy` under the mock runtime (listeners, TLS policy, security group rules, safety in
 * production, certificate, DNS) and its pure routing rules (priorities, ingress networks, what an ALB refuses).
 */
import { AlbProxy, type AlbProxyArgs, TLS_POLICY } from "../../components/proxy/albProxy";
import { ingressCidrs, rulePriorities } from "../../components/proxy/albRules";
import type { ProxyRoute } from "../../components/proxy/contract";
import { isArgsError } from "../../components/shared/errors";
import { albProxyArgs, resolveConfig } from "../../src/config";
import type { Recorder } from "../../src/synth/recorder";
import { one, record, valueOf } from "../harness";
import { fakeAwsPlacement } from "../support/fakeAwsPlacement";

const route = (r: Partial<ProxyRoute> & { to: string }): ProxyRoute => ({
  stripPrefix: false,
  auth: "none",
  ...r,
});
const ROUTES = {
  api: route({ path: "/api", to: "api" }),
  admin: route({ path: "/api/admin", to: "api", allowFrom: ["10.0.0.0/8"] }),
  tiles: route({ path: "/tiles", stripPrefix: true, to: "basemap" }),
  web: route({ to: "web" }),
};
const UPSTREAMS = {
  api: { port: 8000, healthPath: "/health" },
  basemap: { port: 3000, healthPath: "/health" },
  web: { port: 8000 },
};

type Overrides = Partial<Omit<AlbProxyArgs, "placement">>;

function build(over: Overrides = {}) {
  return (): AlbProxy =>
    new AlbProxy("proxy", {
      domain: "maps.example.org",
      routes: ROUTES,
      upstreams: UPSTREAMS,
      certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123",
      placement: fakeAwsPlacement(),
      ...over,
    });
}

const albIngress = (recorder: Recorder) =>
  recorder
    .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    .filter((r) => r.inputs["securityGroupId"] === "sg-alb")
    .map((r) => `${r.inputs["cidrIpv4"]}:${r.inputs["fromPort"]}-${r.inputs["toPort"]}`)
    .sort();

describe("AlbProxy under the mock runtime", () => {
  test("HTTP only redirects to HTTPS (301); HTTPS uses the TLS 1.3 policy and answers 404 when no rule matches", async () => {
    const { recorder } = await record(build());
    const http = one(recorder, "proxy-http").inputs;
    expect(http).toMatchObject({ port: 80, protocol: "HTTP" });
    expect(http["defaultActions"]).toEqual([
      { type: "redirect", redirect: { port: "443", protocol: "HTTPS", statusCode: "HTTP_301" } },
    ]);
    const https = one(recorder, "proxy-https").inputs;
    expect(https).toMatchObject({
      port: 443,
      protocol: "HTTPS",
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    expect(TLS_POLICY).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
    expect(https["certificateArn"]).toBe("arn:aws:acm:eu-west-1:123456789012:certificate/abc-123");
    expect(https["defaultActions"]).toMatchObject([
      { type: "fixed-response", fixedResponse: { statusCode: "404" } },
    ]);
    // Every AWS child uses the placement's explicit provider.
    for (const r of recorder.resources.filter((x) => x.type.startsWith("aws:") && x.parent === "proxy")) {
      expect(r.provider).toBe("cloud-provider");
    }
  });

  test("ALB ingress: only 80 and 443, only from the configured networks, one rule per network and port", async () => {
    const { recorder } = await record(build({ allowedCidrs: ["203.0.113.7/32", "198.51.100.0/24"] }));
    expect(albIngress(recorder)).toEqual([
      "198.51.100.0/24:443-443",
      "198.51.100.0/24:80-80",
      "203.0.113.7/32:443-443",
      "203.0.113.7/32:80-80",
    ]);
    expect(recorder.byName("proxy-in-443-203-0-113-7-32")).toBeDefined();
  });

  test("0.0.0.0/0 on 80/443 only when no network is configured; services open to the ALB on routed ports only", async () => {
    const { recorder } = await record(build());
    expect(albIngress(recorder)).toEqual(["0.0.0.0/0:443-443", "0.0.0.0/0:80-80"]);
    const toServices = recorder
      .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((r) => r.inputs["securityGroupId"] === "sg-services");
    // api and web share port 8000: one rule (AWS refuses duplicates), plus 3000 for the basemap.
    expect(
      toServices.map((r) => [r.inputs["fromPort"], r.inputs["referencedSecurityGroupId"]]).sort(),
    ).toEqual([
      [3000, "sg-alb"],
      [8000, "sg-alb"],
    ]);
  });

  test("deletion protection and access logs to the logs bucket when asked; neither by default", async () => {
    const prod = await record(build({ deletionProtection: true, accessLogsBucket: "stackport-prod-logs" }));
    expect(one(prod.recorder, "proxy-alb").inputs).toMatchObject({
      loadBalancerType: "application",
      internal: false,
      dropInvalidHeaderFields: true,
      enableDeletionProtection: true,
      accessLogs: { bucket: "stackport-prod-logs", enabled: true },
      subnets: ["subnet-public-a", "subnet-public-b"],
      securityGroups: ["sg-alb"],
    });
    const staging = await record(build());
    expect(one(staging.recorder, "proxy-alb").inputs["enableDeletionProtection"]).toBe(false);
    expect(one(staging.recorder, "proxy-alb").inputs["accessLogs"]).toBeUndefined();
  });

  test("one IP target group per routed service with its health path; one rule per route with host/path/IP conditions", async () => {
    const { recorder } = await record(build());
    const tgs = recorder.byType("aws:lb/targetGroup:TargetGroup");
    expect(tgs.map((t) => t.name).sort()).toEqual(["proxy-tg-api", "proxy-tg-basemap", "proxy-tg-web"]);
    expect(one(recorder, "proxy-tg-api").inputs).toMatchObject({
      port: 8000,
      targetType: "ip",
      vpcId: "vpc-0123",
      healthCheck: { path: "/health" },
    });
    const admin = one(recorder, "proxy-rule-admin").inputs;
    expect(admin["conditions"]).toEqual([
      { hostHeader: { values: ["maps.example.org"] } },
      { pathPattern: { values: ["/api/admin", "/api/admin/*"] } },
      { sourceIp: { values: ["10.0.0.0/8"] } },
    ]);
    expect(one(recorder, "proxy-rule-tiles").inputs["transforms"]).toEqual([
      { type: "url-rewrite", urlRewriteConfig: { rewrite: { regex: "^/tiles/?(.*)$", replace: "/$1" } } },
    ]);
    const rules = recorder.byType("aws:lb/listenerRule:ListenerRule");
    expect(rules.map((r) => r.inputs["priority"])).toEqual(
      rules.map((r) => rulePriorities(ROUTES)[r.name.replace("proxy-rule-", "")]),
    );
  });

  test("a Route 53 zone: DNS-validated ACM certificate for every host and an alias record per host", async () => {
    const routes = { ...ROUTES, other: route({ host: "tiles.example.org", to: "basemap" }) };
    const { recorder, result } = await record(
      build({ routes, certificateArn: undefined, hostedZoneId: "Z0123ABC" }),
    );
    expect(one(recorder, "proxy-certificate").inputs).toMatchObject({
      domainName: "maps.example.org",
      subjectAlternativeNames: ["tiles.example.org"],
      validationMethod: "DNS",
    });
    expect(one(recorder, "proxy-certificate-validation-tiles.example.org").inputs).toMatchObject({
      zoneId: "Z0123ABC",
      name: "_x1.tiles.example.org.",
      type: "CNAME",
    });
    expect(one(recorder, "proxy-certificate-validation").dependsOn).toEqual(
      expect.arrayContaining([
        "proxy-certificate-validation-maps.example.org",
        "proxy-certificate-validation-tiles.example.org",
      ]),
    );
    expect(one(recorder, "proxy-dns-tiles.example.org").inputs).toMatchObject({
      zoneId: "Z0123ABC",
      type: "A",
      aliases: [{ zoneId: "Z32O12XQLNTSW2", evaluateTargetHealth: true }],
    });
    expect(await valueOf(result.endpoint.urls)).toEqual([
      "https://maps.example.org",
      "https://tiles.example.org",
    ]);
    expect(result.endpoint.basicAuthPasswords).toEqual({});
  });
});

describe("what an ALB refuses, before any resource is registered", () => {
  async function refusal(over: Overrides) {
    let error: unknown;
    const { recorder } = await record(() => {
      try {
        build(over)();
      } catch (e) {
        error = e;
      }
    });
    expect(
      recorder.resources.filter((r) => r.type.startsWith("aws:lb") || r.type.startsWith("stackport:")),
    ).toEqual([]);
    expect(isArgsError(error)).toBe(true);
    return String(error);
  }

  test("requireExposureDecision: a route with neither allowFrom nor public: true is refused unless allowedCidrs restricts the ALB", async () => {
    const bare = await refusal({ requireExposureDecision: true });
    expect(bare).toContain(
      "routes.api: has no exposure decision (required outside the local environment); set allowFrom: [<client CIDRs>] to restrict it, or public: true",
    );
    // `admin` has allowFrom; `tiles` and `web` have nothing either.
    expect(bare).toMatch(/3 problems/);
    const decided = {
      api: route({ path: "/api", to: "api", public: true }),
      admin: ROUTES.admin,
    };
    await record(build({ requireExposureDecision: true, routes: decided }));
    await record(build({ requireExposureDecision: true, allowedCidrs: ["203.0.113.0/24"] }));
    expect(await refusal({ requireExposureDecision: true, allowedCidrs: ["0.0.0.0/0"] })).toMatch(
      /3 problems/,
    );
    const { recorder } = await record(build({ requireExposureDecision: true, routes: decided }));
    const component = one(recorder, "proxy").inputs as { routes: Record<string, ProxyRoute> };
    expect(component.routes["api"]!.public).toBe(true);
  });

  test("basic auth and API keys name the route's key and say what to do", async () => {
    const basic = await refusal({ routes: { admin: route({ to: "api", auth: "basic" }) } });
    expect(basic).toContain(
      "routes.admin.auth: an ALB cannot do HTTP basic auth; restrict the route with 'allowFrom'",
    );
    const apiKey = await refusal({ routes: { ingest: route({ to: "api", auth: "apiKey" }) } });
    expect(apiKey).toContain(
      "routes.ingest.auth: 'apiKey' cannot be checked by an ALB without writing the key",
    );
  });

  test("no certificate and no zone; host:port upstreams; too many condition values", async () => {
    expect(await refusal({ certificateArn: undefined })).toContain(
      "certificateArn: the ALB serves HTTPS only",
    );
    expect(await refusal({ routes: { x: route({ to: "legacy:8080" }) } })).toContain(
      "routes.x.to: on AWS a route forwards to an ECS service of this stack; allowed: api, basemap, web",
    );
    const many = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
    expect(await refusal({ routes: { x: route({ to: "api", path: "/x", allowFrom: many }) } })).toContain(
      "routes.x.allowFrom: an ALB rule takes at most 5 condition values",
    );
  });
});

describe("the stack's ALB", () => {
  const cfg = (environment: string, aws: Record<string, unknown> = {}) =>
    resolveConfig({
      environment,
      targets: { c: { kind: "aws", region: "eu-west-1" } },
      proxy: { on: "c", domain: "example.org", aws: { hostedZoneId: "Z0123456789ABCDEFGHIJ", ...aws } },
    }).proxy!;

  test("is deletion-protected in production unless configured otherwise", () => {
    const args = (environment: string, aws?: Record<string, unknown>) =>
      albProxyArgs(cfg(environment, aws), { environment: environment as never, upstreams: {} });
    expect(args("production").deletionProtection).toBe(true);
    expect(args("staging").deletionProtection).toBe(false);
    expect(args("production", { deletionProtection: false }).deletionProtection).toBe(false);
  });

  test("refusals name the config key the route comes from", () => {
    expect(() =>
      resolveConfig({
        environment: "staging",
        targets: { c: { kind: "aws", region: "eu-west-1" } },
        proxy: { on: "c", domain: "example.org", routes: { admin: { to: "x:1", auth: "basic" } } },
      }),
    ).toThrow(
      /certificateArn: the ALB serves HTTPS only[\s\S]*stackport:proxy\.routes\.admin\.auth: an ALB cannot do HTTP basic auth/,
    );
  });
});

describe("rule priorities and ingress networks (pure)", () => {
  test("unique, independent of listing order, and unchanged for existing routes when one is added", () => {
    const before = rulePriorities(ROUTES);
    expect(new Set(Object.values(before)).size).toBe(4);
    const reversed = Object.fromEntries(Object.entries(ROUTES).reverse());
    expect(rulePriorities(reversed)).toEqual(before);
    const after = rulePriorities({
      ...ROUTES,
      aaa: route({ path: "/api", to: "api" }),
      zzz: route({ to: "web" }),
    });
    for (const [name, p] of Object.entries(before)) expect(after[name]).toBe(p);
    expect(new Set(Object.values(after)).size).toBe(6);
  });

  test("deeper paths are evaluated first; the host-wide route last; all within 1–50000", () => {
    const p = rulePriorities(ROUTES);
    expect(p["admin"]!).toBeLessThan(p["api"]!);
    expect(p["api"]!).toBeLessThan(p["web"]!);
    expect(p["tiles"]!).toBeLessThan(p["web"]!);
    for (const v of Object.values(p)) expect(v >= 1 && v <= 50000).toBe(true);
  });

  test("many routes never collide", () => {
    const routes = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`r${i}`, route({ path: `/p${i}`, to: "api" })]),
    );
    expect(new Set(Object.values(rulePriorities(routes))).size).toBe(200);
  });

  test("ingress networks: configured list; else the union of allowFrom when every route is restricted; else the internet", () => {
    expect(ingressCidrs(["1.2.3.4/32"], ROUTES)).toEqual(["1.2.3.4/32"]);
    expect(
      ingressCidrs(undefined, {
        a: { allowFrom: ["10.0.0.0/8"] },
        b: { allowFrom: ["192.168.1.0/24", "10.0.0.0/8"] },
      }),
    ).toEqual(["10.0.0.0/8", "192.168.1.0/24"]);
    expect(ingressCidrs(undefined, { a: { allowFrom: ["10.0.0.0/8"] }, b: {} })).toEqual(["0.0.0.0/0"]);
    expect(ingressCidrs(undefined, {})).toEqual(["0.0.0.0/0"]);
  });
});
