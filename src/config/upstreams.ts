import type { Upstream } from "../../components/proxy/contract";
import { dockerStorageUpstreams } from "../../components/storage/settings";
import type { StackConfig } from "./stack";
import { basemapUpstreams } from "./tiers/basemap";
import { ingestionUpstreams } from "./tiers/ingestion";
import { observabilityUpstreams } from "../../components/observability/settings";

export type { Upstream };

/**
 * Every upstream the placed tiers expose, by the name routes use in `to:`. Pure and static: known from config
 * alone, so bad routes fail before any resource is registered.
 */
export function upstreamCatalog(
  cfg: Partial<Pick<StackConfig, "storage" | "ingestion" | "basemap" | "observability">>,
): Record<string, Upstream> {
  return {
    ...(cfg.storage && dockerStorageUpstreams()),
    ...ingestionUpstreams(cfg),
    ...basemapUpstreams(cfg),
    ...(cfg.observability && observabilityUpstreams()),
  };
}
