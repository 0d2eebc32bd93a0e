/**
 * Route rules both proxy backends apply, pure: what a path prefix means, and which routes a proxy cannot serve
 * whatever its backend (bad values, a prefix to strip that is not there, two routes on one host and path).
 */
import { type ArgsIssue, argPath } from "../shared/errors";
import { DNS_NAME, IPV4_CIDR, URL_PATH } from "../shared/formats";
import type { ProxyRoute } from "./contract";

/** A route's name becomes part of matcher and resource names. */
export const ROUTE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** `/tiles/` and `/tiles//` mean `/tiles`; `/` means every path (undefined). */
export function normalizePath(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? undefined : trimmed;
}

/**
 * What is wrong with a proxy's routes whatever its backend, each at `routes.<name>[.<field>]` (or `domain`).
 * Two routes clash when they match the same host and path (`/x` and `/x/` are the same path).
 */
export function routeIssues(domain: string, routes: Record<string, ProxyRoute>): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  if (!DNS_NAME.test(domain)) issue("domain", "must be a DNS name");
  const seen = new Map<string, string>();
  for (const name of Object.keys(routes).sort()) {
    const route = routes[name]!;
    const at = (...field: PropertyKey[]) => argPath("routes", name, ...field);
    if (!ROUTE_NAME.test(name)) {
      issue(
        at(),
        "route names are lower-case letters, digits and '-', start with a letter, at most 31 chars",
      );
    }
    if (route.host !== undefined && !DNS_NAME.test(route.host)) issue(at("host"), "must be a DNS name");
    if (route.path !== undefined && !URL_PATH.test(route.path)) {
      issue(at("path"), "must start with / and contain only URL path characters");
    }
    route.allowFrom?.forEach((cidr, i) => {
      if (!IPV4_CIDR.test(cidr)) issue(at("allowFrom", i), "must be an IPv4 CIDR block like 10.0.0.0/8");
    });
    const path = normalizePath(route.path);
    if (route.stripPrefix && path === undefined) issue(at("stripPrefix"), "needs a 'path' to strip");
    const match = `${route.host ?? domain}${path ?? "/"}`;
    const other = seen.get(match);
    if (other !== undefined) {
      issue(
        at(),
        `matches the same host and path (${match}) as route '${other}'; give it another host or path`,
      );
    } else seen.set(match, name);
  }
  return issues;
}

/**
 * Routes without an exposure decision, when the proxy requires one: each route must be restricted to client networks
 * (`allowFrom`), protected by `auth` (where the backend can check it), or declared `public: true`; a route cannot
 * be both restricted and public. A proxy restricted as a whole (an ALB's `allowedCidrs` without `0.0.0.0/0`) has
 * decided for every route.
 */
export function exposureIssues(
  routes: Record<string, ProxyRoute>,
  options: { required: boolean; authOptions: string[]; restrictedByProxy?: boolean },
): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  for (const name of Object.keys(routes).sort()) {
    const route = routes[name]!;
    const restricted = (route.allowFrom?.length ?? 0) > 0;
    if (route.public && restricted) {
      issues.push({
        path: argPath("routes", name, "public"),
        message: "public: true contradicts allowFrom; keep allowFrom to restrict the route, or remove it",
      });
    }
    const authed = (route.auth ?? "none") !== "none" && options.authOptions.includes(route.auth!);
    if (!options.required || restricted || authed || route.public || options.restrictedByProxy) continue;
    const choices = [
      "allowFrom: [<client CIDRs>] to restrict it",
      ...(options.authOptions.length ? [`auth: ${options.authOptions.join(" or ")} to protect it`] : []),
      "public: true to publish it to everyone who reaches the proxy",
    ];
    issues.push({
      path: argPath("routes", name),
      message: `has no exposure decision (required outside the local environment); set ${choices.join(", or ")}`,
    });
  }
  return issues;
}
