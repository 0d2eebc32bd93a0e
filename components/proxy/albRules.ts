/**
 * The ALB's routing decisions as pure functions: which routes an ALB can serve, rule priorities, listener-rule
 * conditions, and which networks the load balancer is open to. Tested without the Pulumi runtime.
 */
import { ConfigError, type ConfigIssue } from "../../src/config/errors";
import type { AwsProxyConfig } from "../../src/config/tiers/awsServices";

/** A proxy route as the ALB sees it (the config's route, `auth` possibly widened by other tiers). */
export interface AlbRoute {
  host?: string;
  path?: string;
  stripPrefix: boolean;
  to: string;
  auth: string;
  allowFrom?: string[];
}

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

const routeKey = (name: string, field?: string) =>
  `stackport:proxy.routes.${name}${field ? `.${field}` : ""}`;

/** `/tiles/` → `/tiles`; `/` → undefined (every path). */
export const normalizedPath = (path?: string) => {
  const p = path?.replace(/\/+$/, "");
  return p ? p : undefined;
};

/** Path patterns matching the prefix itself and everything below it. */
export const pathPatterns = (path?: string) => {
  const p = normalizedPath(path);
  return p ? [p, `${p}/*`] : [];
};

/**
 * Every reason an ALB cannot serve the configured routes, each naming its key and what to do instead.
 * @throws ConfigError
 */
export function checkAlbRoutes(
  routes: Record<string, AlbRoute>,
  upstreams: Record<string, AlbUpstream>,
  aws: Pick<AwsProxyConfig, "certificateArn" | "hostedZoneId">,
  domain: string,
): void {
  const issues: ConfigIssue[] = [];
  if (!aws.certificateArn && !aws.hostedZoneId) {
    issues.push({
      key: "stackport:proxy.aws.certificateArn",
      message:
        "the ALB serves HTTPS only: give an ACM certificate ARN, or stackport:proxy.aws.hostedZoneId for a DNS-validated certificate",
    });
  }
  const hosts = [domain, ...Object.values(routes).map((r) => r.host ?? domain)];
  if (!aws.certificateArn && hosts.some((h) => /(^|\.)(localhost|local|internal|arpa)$/.test(h))) {
    issues.push({
      key: "stackport:proxy.domain",
      message: `'${domain}' and every route host must be public DNS names in the hosted zone for an ACM certificate`,
    });
  }
  for (const [name, route] of Object.entries(routes).sort(([a], [b]) => a.localeCompare(b))) {
    if (route.auth === "basic") {
      issues.push({
        key: routeKey(name, "auth"),
        message:
          "an ALB cannot do HTTP basic auth; restrict the route with 'allowFrom' (or an OIDC/Cognito login in front of the ALB, not managed by stackport) and set auth: none",
      });
    } else if (route.auth !== "none") {
      issues.push({
        key: routeKey(name, "auth"),
        message: `'${route.auth}' cannot be checked by an ALB without writing the key into the listener rule in plain text; set auth: none and let the service check it (docs/aws-services.md)`,
      });
    }
    if (!upstreams[route.to]) {
      const known = Object.keys(upstreams).sort();
      issues.push({
        key: routeKey(name, "to"),
        message: `on AWS a route forwards to an ECS service of this stack; allowed: ${known.length ? known.join(", ") : "(no routed service)"}`,
      });
    }
    const values = 1 + pathPatterns(route.path).length + (route.allowFrom?.length ?? 0);
    if (values > MAX_CONDITION_VALUES) {
      issues.push({
        key: routeKey(name, "allowFrom"),
        message: `an ALB rule takes at most ${MAX_CONDITION_VALUES} condition values (host, 2 for a path, 1 per CIDR); list fewer CIDRs, or restrict the whole ALB with stackport:proxy.aws.allowedCidrs`,
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}

/** Every host the proxy answers on, sorted: the default domain plus route hosts. */
export function albHosts(domain: string, routes: Record<string, AlbRoute>): string[] {
  return [...new Set([domain, ...Object.values(routes).map((r) => r.host ?? domain)])].sort();
}

/**
 * Networks the ALB security group admits on 80/443: the configured list; else, when every route is restricted, the
 * union of their `allowFrom` (nothing else could get past the rules anyway); else the internet.
 */
export function ingressCidrs(
  allowedCidrs: string[] | undefined,
  routes: Record<string, Pick<AlbRoute, "allowFrom">>,
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
export function rulePriorities(routes: Record<string, Pick<AlbRoute, "path">>): Record<string, number> {
  const taken = new Set<number>();
  const out: Record<string, number> = {};
  for (const name of Object.keys(routes).sort()) {
    const path = normalizedPath(routes[name]!.path);
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
  const p = normalizedPath(path)!.replace(/[.]/g, "\\.");
  return { type: "url-rewrite", urlRewriteConfig: { rewrite: { regex: `^${p}/?(.*)$`, replace: "/$1" } } };
}
