/**
 * Renders the proxy's Caddyfile from resolved routes — a pure function, checked by the real `caddy validate` and
 * `caddy adapt` in tests/artifacts/caddyfile.test.ts.
 *
 * Shape of the output:
 *   global options → `(security_headers)` snippet → one site block per host, sorted by host. In each site:
 *   `/healthz`, then one `handle @<route>` per route, most specific path first, the catch-all last. Every route's
 *   body is a `route { … }` so the order inside is literal: IP allow-list → basic auth or API key → (strip prefix)
 *   → proxy.
 *
 * Every value that lands in the file is checked first (`caddyfileIssues`, also what `DockerProxy` validates its
 * args with): the renderer throws rather than emit a space, quote, brace or newline from input.
 */
import { type ArgsIssue, argPath } from "../shared/errors";
import { URL_PATH } from "../shared/formats";
import type { ProxyRoute } from "./contract";
import { ROUTE_NAME, normalizePath, routeIssues } from "./routes";

export type TlsConfig = { mode: "http" } | { mode: "internal" } | { mode: "acme"; email: string };

/** Where a route sends traffic, after `to` was looked up in the upstream catalog or parsed from `host:port`. */
export interface ResolvedUpstream {
  host: string;
  port: number;
  /** Path Caddy actively health-checks on the upstream. */
  healthPath?: string;
}

export interface ResolvedRoute extends Omit<ProxyRoute, "to"> {
  to: ResolvedUpstream;
  /** Answer 503 "maintenance" instead of proxying (the upstream's writers are frozen during a cutover). */
  maintenance?: boolean;
}

/** What a frozen route answers; `Retry-After` tells clients and monitors it is temporary. */
export const MAINTENANCE_RESPONSE = "maintenance: writes are paused for a migration, try again later";

export interface BasicAuthAccount {
  user: string;
  /** bcrypt hash (`$2a$…`), e.g. `random.RandomPassword.bcryptHash` or `caddy hash-password`. */
  bcryptHash: string;
}

export interface CaddyfileInput {
  /** Site address for routes without their own `host`. */
  domain: string;
  tls: TlsConfig;
  routes: Record<string, ResolvedRoute>;
  /** Accounts allowed on `auth: basic` routes. */
  basicAuth: BasicAuthAccount[];
  /**
   * The key each `auth: apiKey` route requires, by route name. Secret: a Caddyfile rendered with keys must stay a
   * secret Output. @default {}
   */
  apiKeys?: Record<string, string>;
  /**
   * Serve Prometheus metrics on this port (plain HTTP, `/metrics`). The container does not publish it on the host:
   * only Prometheus on the target's networks reaches it. @default none
   */
  metricsPort?: number;
}

/** Where Caddy's admin API listens (inside the container only): the container health check reads it. */
export const ADMIN_ADDRESS = "localhost:2019";
/** The request header an `auth: apiKey` route compares with its key. */
export const API_KEY_HEADER = "X-API-Key";
/** Every site answers this path itself, without touching an upstream. */
export const HEALTH_PATH = "/healthz";

/** A literal upstream host: a container name, a DNS name or an IPv4 address (nothing Caddy would parse as syntax). */
export const UPSTREAM_HOST = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;
// No `*` (Caddy's header matcher reads a leading or trailing one as a wildcard), no space, quote or brace.
const API_KEY = /^[A-Za-z0-9_-]{24,256}$/;
const BCRYPT = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]+$/;
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const isPort = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;

/**
 * Everything in the input that cannot go into a Caddyfile, each with its arg path: the route rules both backends
 * share (routes.ts), then what only Caddy needs (users, hashes, keys, the ACME e-mail, upstream addresses, the
 * reserved health path). Empty when the input renders.
 */
export function caddyfileIssues(input: CaddyfileInput): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const bad = (path: string, value: unknown, what: string) =>
    issues.push({ path, message: `${what} ${JSON.stringify(value)} cannot be written into the Caddyfile` });
  const plain = Object.fromEntries(
    Object.entries(input.routes).map(([name, r]) => [name, { ...r, to: `${r.to.host}:${r.to.port}` }]),
  );
  issues.push(...routeIssues(input.domain, plain));
  if (input.tls.mode === "acme" && !EMAIL.test(input.tls.email))
    bad("tls.email", input.tls.email, "ACME e-mail");
  input.basicAuth.forEach((a, i) => {
    if (!ROUTE_NAME.test(a.user)) bad(argPath("basicAuthUsers", i), a.user, "basic-auth user");
    if (!BCRYPT.test(a.bcryptHash)) bad(argPath("basicAuthUsers", i), a.bcryptHash, "bcrypt hash");
  });
  for (const name of Object.keys(input.routes).sort()) {
    const route = input.routes[name]!;
    const at = (...field: PropertyKey[]) => argPath("routes", name, ...field);
    if (normalizePath(route.path) === HEALTH_PATH) {
      issues.push({
        path: at("path"),
        message: `${HEALTH_PATH} is the proxy's own health endpoint; choose another path`,
      });
    }
    if (!UPSTREAM_HOST.test(route.to.host)) bad(at("to"), route.to.host, "upstream host");
    if (!isPort(route.to.port))
      issues.push({ path: at("to"), message: `upstream port ${route.to.port} is not a TCP port` });
    if (route.to.healthPath !== undefined && !URL_PATH.test(route.to.healthPath))
      bad(at("to"), route.to.healthPath, "upstream health path");
    if (route.auth === "basic" && input.basicAuth.length === 0) {
      issues.push({ path: at("auth"), message: "'basic' needs at least one user in basicAuthUsers" });
    }
    if (route.auth === "apiKey") {
      const key = input.apiKeys?.[name];
      if (key === undefined)
        issues.push({ path: at("auth"), message: "needs an API key but none was given" });
      else if (!API_KEY.test(key))
        issues.push({
          path: at("auth"),
          message: "the route's API key cannot be written into the Caddyfile",
        });
    }
  }
  if (input.metricsPort !== undefined && !isPort(input.metricsPort)) {
    issues.push({ path: "metricsPort", message: `${input.metricsPort} is not a TCP port` });
  }
  return issues;
}

export { normalizePath };

/** The site address of a host: `http://host` when TLS is off, the bare host (HTTPS) otherwise. */
export function siteAddress(host: string, tls: TlsConfig): string {
  return tls.mode === "http" ? `http://${host}` : host;
}

interface SiteRoute {
  name: string;
  path: string | undefined;
  route: ResolvedRoute;
}

/**
 * Most specific first: longer prefixes before the prefixes they extend (so `/api/admin` with its own auth is never
 * shadowed by `/api`), the catch-all last, ties by path then name. Caddy keeps this order: every route uses a
 * multi-path named matcher, which its directive sorter treats as equally specific and leaves in place.
 */
function bySpecificity(a: SiteRoute, b: SiteRoute): number {
  const la = a.path?.length ?? -1;
  const lb = b.path?.length ?? -1;
  if (la !== lb) return lb - la;
  if ((a.path ?? "") !== (b.path ?? "")) return (a.path ?? "") < (b.path ?? "") ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Groups routes by site host (the input was checked by `caddyfileIssues`). */
function sites(input: CaddyfileInput): Map<string, SiteRoute[]> {
  const byHost = new Map<string, SiteRoute[]>([[input.domain, []]]);
  for (const name of Object.keys(input.routes).sort()) {
    const route = input.routes[name]!;
    const host = route.host ?? input.domain;
    const list = byHost.get(host) ?? [];
    list.push({ name, path: normalizePath(route.path), route });
    byHost.set(host, list);
  }
  return byHost;
}

/** Renders the whole Caddyfile. Deterministic: the same input always gives the same bytes. */
export function renderCaddyfile(input: CaddyfileInput): string {
  const issues = caddyfileIssues(input);
  if (issues.length > 0) {
    throw new Error(
      `stackport: cannot write the Caddyfile: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    );
  }
  const tlsOn = input.tls.mode !== "http";
  const accounts = input.basicAuth
    .map((a) => ({ user: a.user, hash: a.bcryptHash }))
    .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  const byHost = sites(input);

  const out: string[] = [
    "# Generated by stackport from stackport:proxy — do not edit; change the stack config instead.",
    "{",
    `\tadmin ${ADMIN_ADDRESS}`,
  ];
  if (input.tls.mode === "acme") out.push(`\temail ${input.tls.email}`);
  out.push("}", "");

  out.push("(security_headers) {", "\theader {");
  out.push('\t\tX-Content-Type-Options "nosniff"');
  out.push('\t\tX-Frame-Options "DENY"');
  out.push('\t\tReferrer-Policy "strict-origin-when-cross-origin"');
  if (tlsOn) out.push('\t\tStrict-Transport-Security "max-age=31536000"');
  out.push("\t\t-Server", "\t}", "}");

  for (const host of [...byHost.keys()].sort()) {
    const routes = byHost.get(host)!.sort(bySpecificity);
    out.push("", `${siteAddress(host, input.tls)} {`);
    if (input.tls.mode === "internal") out.push("\ttls internal");
    out.push("\timport security_headers", "");
    out.push(`\thandle ${HEALTH_PATH} {`, '\t\trespond "ok" 200', "\t}");
    for (const r of routes)
      out.push("", ...renderRoute(r, accounts, input.apiKeys ?? {}).map((l) => `\t${l}`));
    if (!routes.some((r) => r.path === undefined)) {
      out.push("", "\thandle {", '\t\trespond "not found" 404', "\t}");
    }
    out.push("}");
  }
  if (input.metricsPort !== undefined) {
    out.push("", `http://:${input.metricsPort} {`, "	metrics /metrics", "}");
  }
  return `${out.join("\n")}\n`;
}

function renderRoute(
  { name, path, route }: SiteRoute,
  accounts: { user: string; hash: string }[],
  apiKeys: Record<string, string>,
): string[] {
  // The policy pack's proxy-route-exposure rule reads "(public)" as the route's explicit exposure decision.
  const lines: string[] = [`# route ${name}${route.public ? " (public)" : ""}`];
  let opener = "handle {";
  if (path !== undefined) {
    // `/tiles` and `/tiles/…`, but not `/tilesets`.
    lines.push(`@${name} path ${path} ${path}/*`);
    opener = `handle @${name} {`;
  }
  const body: string[] = [];
  if (route.allowFrom !== undefined) {
    // An empty list means nobody: `not remote_ip` with no ranges would be invalid, so block everything instead.
    if (route.allowFrom.length === 0) {
      body.push('respond "forbidden" 403');
    } else {
      body.push(`@${name}_blocked not remote_ip ${route.allowFrom.join(" ")}`);
      body.push(`respond @${name}_blocked "forbidden" 403`);
    }
  }
  if (route.auth === "basic") {
    // `basicauth`, not `basic_auth`: Caddy renamed the directive in 2.8 but still accepts the old name, and the
    // Debian caddy (2.6) the tests validate with only knows `basicauth`.
    body.push("basicauth {", ...accounts.map((a) => `\t${a.user} ${a.hash}`), "}");
  }
  if (route.auth === "apiKey") {
    const key = apiKeys[name]!;
    body.push(`@${name}_no_key not header ${API_KEY_HEADER} ${key}`);
    body.push(`respond @${name}_no_key "unauthorized" 401`);
    // The upstream never sees the key (nor logs it).
    body.push(`request_header -${API_KEY_HEADER}`);
  }
  if (route.stripPrefix) {
    // Not `handle_path`: Caddy sorts every `handle_path` after every `handle`, so a shorter `handle` prefix
    // would shadow it (and skip its allow-list and auth). `uri strip_prefix` inside our own ordering is the same
    // rewrite handle_path performs.
    body.push(`uri strip_prefix ${path}`);
  }
  if (route.maintenance) {
    body.push("header Retry-After 600", `respond "${MAINTENANCE_RESPONSE}" 503`);
  } else if (route.to.healthPath !== undefined) {
    body.push(
      `reverse_proxy ${route.to.host}:${route.to.port} {`,
      `\thealth_uri ${route.to.healthPath}`,
      "}",
    );
  } else {
    body.push(`reverse_proxy ${route.to.host}:${route.to.port}`);
  }
  lines.push(opener, "\troute {", ...body.map((l) => `\t\t${l}`), "\t}", "}");
  return lines;
}
