/**
 * The ALB's routing decisions as pure functions: which routes an ALB can serve, rule priorities, listener-rule
 * conditions, and which networks the load balancer is open to. Tested without the Pulumi runtime.
 */
import { type ArgsIssue, argPath } from "../shared/errors";
import { IPV4_CIDR } from "../shared/formats";
import type { ProxyRoute } from "./contract";
import { exposureIssues, normalizePath, routeIssues } from "./routes";

/** A service an ALB route can forward to: an ECS service in this stack. */
export interface AlbUpstream {
  port: number;
  healthPath?: string;
}

const OPEN = "0.0.0.0/0";
/** ALB quota: condition values per listener rule (host, path patterns and source IPs together). */
const MAX_CONDITION_VALUES = 5;
/** Priorities 1–50000; bands of 1000 keep more specific paths ahead of shorter ones. */
const BAND = 1000;
const MAX_DEPTH_BANDS = 9;

/** Path patterns matching the prefix itself and everything below it. */
export const pathPatterns = (path?: string) => {
  const p = normalizePath(path);
  return p ? [p, `${p}/*`] : [];
};

const CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,32}$/;

/**
 * What is wrong with `AlbProxyArgs`, each at its arg path and saying what to do instead: the route rules both
 * backends share (routes.ts), then the ALB's own settings and limits.
 */
export function validateAlbProxyArgs(args: {
  domain: string;
  routes?: Record<string, ProxyRoute> | undefined;
  upstreams: Record<string, AlbUpstream>;
  certificateArn?: string | undefined;
  hostedZoneId?: string | undefined;
  allowedCidrs?: string[] | undefined;
  idleTimeoutSeconds?: number | undefined;
  requireExposureDecision?: boolean | undefined;
}): ArgsIssue[] {
  const { domain, upstreams } = args;
  const routes = args.routes ?? {};
  const issues = routeIssues(domain, routes);
  issues.push(
    ...exposureIssues(routes, {
      required: args.requireExposureDecision ?? false,
      // An ALB checks no credentials (auth is refused below), so auth decides nothing here.
      authOptions: [],
      restrictedByProxy:
        args.allowedCidrs !== undefined && args.allowedCidrs.length > 0 && !args.allowedCidrs.includes(OPEN),
    }),
  );
  if (args.certificateArn !== undefined && !CERTIFICATE_ARN.test(args.certificateArn)) {
    issues.push({
      path: "certificateArn",
      message: "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
    });
  }
  if (args.hostedZoneId !== undefined && !HOSTED_ZONE_ID.test(args.hostedZoneId)) {
    issues.push({
      path: "hostedZoneId",
      message: "must be a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ",
    });
  }
  if (args.allowedCidrs?.length === 0) {
    issues.push({ path: "allowedCidrs", message: "must list at least one CIDR; omit it for the default" });
  }
  args.allowedCidrs?.forEach((cidr, i) => {
    if (!IPV4_CIDR.test(cidr))
      issues.push({
        path: argPath("allowedCidrs", i),
        message: "must be an IPv4 CIDR block like 10.0.0.0/8",
      });
  });
  const idle = args.idleTimeoutSeconds;
  if (idle !== undefined && !(Number.isInteger(idle) && idle >= 1 && idle <= 4000)) {
    issues.push({ path: "idleTimeoutSeconds", message: "must be a whole number of seconds from 1 to 4000" });
  }
  if (!args.certificateArn && !args.hostedZoneId) {
    issues.push({
      path: "certificateArn",
      message:
        "the ALB serves HTTPS only: give an ACM certificate ARN, or hostedZoneId for a DNS-validated certificate",
    });
  }
  const hosts = [domain, ...Object.values(routes).map((r) => r.host ?? domain)];
  if (!args.certificateArn && hosts.some((h) => /(^|\.)(localhost|local|internal|arpa)$/.test(h))) {
    issues.push({
      path: "domain",
      message: `'${domain}' and every route host must be public DNS names in the hosted zone for an ACM certificate`,
    });
  }
  for (const [name, route] of Object.entries(routes).sort(([a], [b]) => a.localeCompare(b))) {
    const at = (field: string) => argPath("routes", name, field);
    const auth = route.auth ?? "none";
    if (auth === "basic") {
      issues.push({
        path: at("auth"),
        message:
          "an ALB cannot do HTTP basic auth; restrict the route with 'allowFrom' (or an OIDC/Cognito login in front of the ALB, not managed by stackport) and set auth: none",
      });
    } else if (auth !== "none") {
      issues.push({
        path: at("auth"),
        message: `'${auth}' cannot be checked by an ALB without writing the key into the listener rule in plain text; set auth: none and let the service check it (docs/aws-services.md)`,
      });
    }
    if (!upstreams[route.to]) {
      const known = Object.keys(upstreams).sort();
      issues.push({
        path: at("to"),
        message: `on AWS a route forwards to an ECS service of this stack; allowed: ${known.length ? known.join(", ") : "(no routed service)"}`,
      });
    }
    const values = 1 + pathPatterns(route.path).length + (route.allowFrom?.length ?? 0);
    if (values > MAX_CONDITION_VALUES) {
      issues.push({
        path: at("allowFrom"),
        message: `an ALB rule takes at most ${MAX_CONDITION_VALUES} condition values (host, 2 for a path, 1 per CIDR); list fewer CIDRs, or restrict the whole ALB with allowedCidrs`,
      });
    }
  }
  return issues;
}

/** Every host the proxy answers on, sorted: the default domain plus route hosts. */
export function albHosts(domain: string, routes: Record<string, ProxyRoute>): string[] {
  return [...new Set([domain, ...Object.values(routes).map((r) => r.host ?? domain)])].sort();
}

/**
 * Networks the ALB security group admits on 80/443: the configured list; else, when every route is restricted, the
 * union of their `allowFrom` (nothing else could get past the rules anyway); else the internet.
 */
export function ingressCidrs(
  allowedCidrs: string[] | undefined,
  routes: Record<string, Pick<ProxyRoute, "allowFrom">>,
): string[] {
  if (allowedCidrs) return [...new Set(allowedCidrs)].sort();
  const all = Object.values(routes);
  if (all.length > 0 && all.every((r) => r.allowFrom && r.allowFrom.length > 0)) {
    return [...new Set(all.flatMap((r) => r.allowFrom!))].sort();
  }
  return [OPEN];
}

/** A stable, deterministic slot in [0, size) from a route name (FNV-1a). */
function slotOf(name: string, size: number): number {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h % size;
}

/**
 * Listener-rule priorities. The ALB evaluates the lowest first, so the band comes from the path's depth (deeper =
 * more specific = lower; no path = the last band) and the place within the band from a hash of the route's name.
 * Consequences: independent of the order routes are listed in; adding or removing a route leaves every other
 * priority unchanged (a hash collision is resolved by probing in sorted-name order, so only the colliding newcomer
 * moves); rules on one host can never shadow a more specific path.
 */
export function rulePriorities(routes: Record<string, Pick<ProxyRoute, "path">>): Record<string, number> {
  const taken = new Set<number>();
  const out: Record<string, number> = {};
  for (const name of Object.keys(routes).sort()) {
    const path = normalizePath(routes[name]!.path);
    const depth = path ? path.split("/").length - 1 : 0;
    const band = depth === 0 ? MAX_DEPTH_BANDS : Math.max(0, MAX_DEPTH_BANDS - depth);
    const base = band * BAND + 1;
    let slot = slotOf(name, BAND - 1);
    while (taken.has(base + slot)) slot = (slot + 1) % (BAND - 1);
    taken.add(base + slot);
    out[name] = base + slot;
  }
  return out;
}

/** A URL rewrite that removes the route's prefix (`/tiles/0/0/0` → `/0/0/0`) — the ALB form of stripPrefix. */
export function stripPrefixTransform(path: string) {
  const p = normalizePath(path)!.replace(/[.]/g, "\\.");
  return { type: "url-rewrite", urlRewriteConfig: { rewrite: { regex: `^${p}/?(.*)$`, replace: "/$1" } } };
}
