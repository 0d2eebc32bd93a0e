/**
 * The pure half of the proxy tier: defaults, upstream resolution, site URLs, and the args checks of both backends.
 * No provider import, so a program can read it without loading a provider SDK.
 */
import { type ArgsIssue, argPath } from "../shared/errors";
import {
  type CaddyfileInput,
  type ResolvedRoute,
  type ResolvedUpstream,
  type TlsConfig,
  UPSTREAM_HOST,
  caddyfileIssues,
} from "./caddyfile";
import type { ProxyRoute, Upstream } from "./contract";
import { exposureIssues } from "./routes";

/** Defaults of the Caddy proxy: plain HTTP on localhost, listening on loopback only. */
export const DOCKER_PROXY_DEFAULTS = {
  image: "caddy:2.11.4-alpine",
  domain: "localhost",
  tls: { mode: "http" } as TlsConfig,
  bindAddress: "127.0.0.1",
  httpPort: 80,
  httpsPort: 443,
  basicAuthUsers: ["admin"],
  memoryMb: 256,
} as const;

/** The proxy's DNS alias on both networks. */
export const PROXY_HOST = "proxy";
/** Caddy's Prometheus endpoint, on the backend network only (not published). */
export const PROXY_METRICS_PORT = 2020;
const HTTP_PORT = 80;
const HTTPS_PORT = 443;

/** A literal upstream: anything with a colon and digits at the end is meant as `host:port`. */
const HOST_PORT = /^(.*):(\d+)$/;

/** Where a route's `to` leads: an upstream's address, or a literal `host:port`; undefined when neither. */
export function resolveUpstream(
  to: string,
  upstreams: Record<string, Upstream>,
): ResolvedUpstream | undefined {
  const known = Object.hasOwn(upstreams, to) ? upstreams[to] : undefined;
  if (known)
    return {
      host: known.host,
      port: known.port,
      ...(known.healthPath !== undefined && { healthPath: known.healthPath }),
    };
  const m = HOST_PORT.exec(to);
  const port = m ? Number(m[2]) : NaN;
  return m && UPSTREAM_HOST.test(m[1]!) && port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}

/** Why `to` leads nowhere: a malformed `host:port`, or a name no tier exposes. */
function unresolvedUpstream(to: string, upstreams: Record<string, Upstream>): string {
  const m = HOST_PORT.exec(to);
  if (m) {
    const port = Number(m[2]);
    return !UPSTREAM_HOST.test(m[1]!)
      ? `'${to}' is not host:port: the host must be a container or DNS name (letters, digits, '.', '_', '-') or an IPv4 address`
      : `'${to}' is not host:port: the port must be from 1 to 65535, got ${port}`;
  }
  const names = Object.keys(upstreams);
  return `unknown upstream '${to}'; allowed: ${names.length ? names.join(", ") : "(no tier exposes a service yet)"}, or host:port`;
}

/** Routes with their upstreams resolved and defaults applied; `maintenance` routes answer 503 instead. */
export function resolveRoutes(
  routes: Record<string, ProxyRoute>,
  upstreams: Record<string, Upstream>,
  maintenance: string[] = [],
): { routes: Record<string, ResolvedRoute>; issues: ArgsIssue[] } {
  const resolved: Record<string, ResolvedRoute> = {};
  const issues: ArgsIssue[] = [];
  for (const [name, route] of Object.entries(routes)) {
    const to = resolveUpstream(route.to, upstreams);
    if (!to) {
      issues.push({ path: argPath("routes", name, "to"), message: unresolvedUpstream(route.to, upstreams) });
      continue;
    }
    resolved[name] = {
      ...route,
      stripPrefix: route.stripPrefix ?? false,
      auth: route.auth ?? "none",
      to,
      ...(maintenance.includes(name) && { maintenance: true }),
    };
  }
  return { routes: resolved, issues };
}

/** Base URLs of every site: the default domain plus every route host, with non-default ports spelled out. */
export function siteUrls(config: {
  domain: string;
  routes: Record<string, Pick<ProxyRoute, "host">>;
  tls: TlsConfig;
  httpPort: number;
  httpsPort: number;
}): string[] {
  const hosts = new Set([config.domain, ...Object.values(config.routes).map((r) => r.host ?? config.domain)]);
  const tls = config.tls.mode !== "http";
  const port = tls ? config.httpsPort : config.httpPort;
  const suffix = port === (tls ? HTTPS_PORT : HTTP_PORT) ? "" : `:${port}`;
  return [...hosts].sort().map((h) => `${tls ? "https" : "http"}://${h}${suffix}`);
}

/** A bcrypt hash and an API key of the right shapes, for checking a Caddyfile before the real ones exist. */
const PLACEHOLDER_HASH = "$2a$10$validationplaceholder";
const PLACEHOLDER_KEY = "validationplaceholderkey000";

/**
 * What is wrong with `DockerProxyArgs` (empty when valid): upstreams that do not resolve, and everything the
 * Caddyfile could not hold, checked by rendering it with placeholder credentials.
 */
export function validateDockerProxyArgs(args: {
  domain?: string | undefined;
  tls?: TlsConfig | undefined;
  basicAuthUsers?: string[] | undefined;
  routes?: Record<string, ProxyRoute> | undefined;
  upstreams?: Record<string, Upstream> | undefined;
  requireExposureDecision?: boolean | undefined;
}): ArgsIssue[] {
  const d = DOCKER_PROXY_DEFAULTS;
  const { routes, issues } = resolveRoutes(args.routes ?? {}, args.upstreams ?? {});
  const input: CaddyfileInput = {
    domain: args.domain ?? d.domain,
    tls: args.tls ?? d.tls,
    routes,
    basicAuth: (args.basicAuthUsers ?? d.basicAuthUsers).map((user) => ({
      user,
      bcryptHash: PLACEHOLDER_HASH,
    })),
    apiKeys: Object.fromEntries(Object.keys(routes).map((r) => [r, PLACEHOLDER_KEY])),
  };
  const exposure = exposureIssues(args.routes ?? {}, {
    required: args.requireExposureDecision ?? false,
    authOptions: ["basic", "apiKey"],
  });
  return [...issues, ...caddyfileIssues(input), ...exposure];
}
