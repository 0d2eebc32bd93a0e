/**
 * Every route the proxy serves — its own `stackport:proxy.routes` plus those tiers derive from their config
 * (a routed ingestion service, the basemap's `/tiles`) — each with the config path it comes from, so a problem
 * names the key the user actually wrote.
 */
import type { RouteConfig } from "./tiers/proxy";
import type { StackConfig } from "./stack";
import { basemapRoutes } from "./tiers/basemap";
import { ingestionRoutes } from "./tiers/ingestion";

export interface SourcedRoute {
  name: string;
  route: RouteConfig;
  /** Config path of the route's definition (`["ingestion", "services", "api", "route"]`). */
  path: PropertyKey[];
}

export function routeSources(cfg: Pick<StackConfig, "proxy" | "ingestion" | "basemap">): SourcedRoute[] {
  if (!cfg.proxy) return [];
  return [
    ...Object.entries(cfg.proxy.routes).map(([name, route]) => ({
      name,
      route,
      path: ["proxy", "routes", name],
    })),
    ...Object.entries(ingestionRoutes(cfg)).map(([name, route]) => ({
      name,
      route,
      path: ["ingestion", "services", name, "route"],
    })),
    ...Object.entries(basemapRoutes(cfg)).map(([name, route]) => ({
      name,
      route,
      path: ["basemap", "route"],
    })),
  ];
}

/** The merged route map the proxy renders. */
export function allRoutes(
  cfg: Pick<StackConfig, "proxy" | "ingestion" | "basemap">,
): Record<string, RouteConfig> {
  return Object.fromEntries(routeSources(cfg).map((r) => [r.name, r.route]));
}
