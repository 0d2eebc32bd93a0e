import type { StackConfig } from "./stack";
import { basemapUpstreams } from "./tiers/basemap";
import { ingestionUpstreams } from "./tiers/ingestion";
import { observabilityUpstreams } from "./tiers/observability";

/** A service a tier exposes to the proxy: reachable as `host:port` on the target's backend network. */
export interface Upstream {
  tier: string;
  host: string;
  port: number;
  /** Path the proxy health-checks, if the service has one. */
  healthPath?: string;
}

/**
 * Every upstream the placed tiers expose, by the name routes use in `to:`. Pure and static: known from config
 * alone, so bad routes fail before any resource is registered.
 */
export function upstreamCatalog(
  cfg: Partial<Pick<StackConfig, "storage" | "ingestion" | "basemap" | "observability">>,
): Record<string, Upstream> {
  const catalog: Record<string, Upstream> = {};
  if (cfg.storage) {
    catalog["storage"] = { tier: "storage", host: "storage", port: 9000, healthPath: "/minio/health/live" };
    catalog["storage-console"] = { tier: "storage", host: "storage", port: 9001 };
  }
  return {
    ...catalog,
    ...ingestionUpstreams(cfg),
    ...basemapUpstreams(cfg),
    ...(cfg.observability && observabilityUpstreams()),
  };
}
