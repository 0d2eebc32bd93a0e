/**
 * What a cutover in progress means for the rest of the platform — pure, from resolved config. The phase rules
 * themselves (where a tier runs, who serves, what is copied) are in src/ops/cutover/phases.ts.
 */
import { type TierPlacement, placementFor } from "../ops/cutover/phases";
import type { ResolvedConfig } from "./resolve";
import { CUTOVER_TIERS, type CutoverTier } from "./tiers/cutover";

/** Where each cutover-capable tier runs this update (a plain tier: its `on` target only). */
export function tierPlacements(cfg: ResolvedConfig): Partial<Record<CutoverTier, TierPlacement>> {
  const out: Partial<Record<CutoverTier, TierPlacement>> = {};
  for (const tier of CUTOVER_TIERS) {
    const placed = cfg[tier];
    if (placed) out[tier] = placementFor(placed.on, cfg.cutover?.[tier]);
  }
  return out;
}

/**
 * Services that write to a tier whose writes are frozen: scaled to zero for the phase, their routes in
 * maintenance. Database writers hold `app_writer`; any service given buckets may write objects.
 */
export function frozenServices(cfg: ResolvedConfig): string[] {
  const placements = tierPlacements(cfg);
  const databaseFrozen = placements.database?.writesFrozen ?? false;
  const storageFrozen = placements.storage?.writesFrozen ?? false;
  return Object.entries(cfg.ingestion?.services ?? {})
    .filter(
      ([, s]) =>
        (databaseFrozen && s.connections.database === "app_writer") ||
        (storageFrozen && s.connections.storage !== undefined),
    )
    .map(([name]) => name)
    .sort();
}

/** Proxy routes to frozen services, which answer "maintenance" during the freeze. */
export function maintenanceRoutes(cfg: ResolvedConfig): string[] {
  const frozen = new Set(frozenServices(cfg));
  return Object.entries(cfg.proxy?.routes ?? {})
    .filter(([, r]) => frozen.has(r.to))
    .map(([name]) => name)
    .sort();
}

/** The component name of a tier on a target: the tier's own name where it is placed `on`, else `<tier>-<target>`. */
export function tierComponentName(tier: string, on: string, target: string): string {
  return target === on ? tier : `${tier}-${target}`;
}
