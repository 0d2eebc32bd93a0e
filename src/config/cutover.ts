/**
 * What a cutover in progress means for the rest of the platform — pure, from resolved config. The phase rules
 * themselves (where a tier runs, who serves, what is copied) are in src/config/phases.ts, the parallel run's in
 * src/config/parallelRun.ts.
 */
import { writesDatabase } from "../../components/ingestion/settings";
import { consumedSide, parallelRunning } from "./parallelRun";
import { type Phase, type TierPlacement, placementFor } from "./phases";
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
  // A parallel run's consumers only read the copy (read-only credentials): the freeze does not concern them.
  const onCopy = (tier: CutoverTier) =>
    cfg[tier] !== undefined &&
    consumedSide(cfg[tier]!.on, cfg.cutover?.[tier], cfg.ingestion?.on) !== placements[tier]?.serving;
  const databaseFrozen = (placements.database?.writesFrozen ?? false) && !onCopy("database");
  const storageFrozen = (placements.storage?.writesFrozen ?? false) && !onCopy("storage");
  return Object.entries(cfg.ingestion?.services ?? {})
    .filter(
      ([, s]) =>
        (databaseFrozen && writesDatabase(s.connections.database)) ||
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

/** A cutover in progress as reviewers read it: where it stands and what this update does about it. */
export interface CutoverSummary {
  tier: CutoverTier;
  from: string;
  to: string;
  phase: Phase;
  /** What `pulumi up` does in this phase, one short sentence each. */
  actions: string[];
  /** The runbook for this direction (relative to the repository root). */
  runbook: string;
}

/** Every cutover of the config, summarized for plans, the synth tree and sign-off reports. */
export function cutoverSummaries(cfg: ResolvedConfig): CutoverSummary[] {
  const placements = tierPlacements(cfg);
  const frozen = frozenServices(cfg);
  return CUTOVER_TIERS.flatMap((tier) => {
    const cutover = cfg.cutover?.[tier];
    const placement = placements[tier];
    if (!cutover || !placement) return [];
    const { from, to } = cutover;
    const external = cfg.targets[from]?.kind === "external";
    const actions = [
      external && placement.targets.includes(from)
        ? `${tier} runs on ${to} (as ${tierComponentName(tier, from, to)}); ${from} is external: stackport creates nothing there, it reads its connection from stackport:${tier}.external`
        : placement.targets.length === 2
          ? `${tier} runs on both ${from} and ${to} (the ${to} side as ${tierComponentName(tier, from, to)})`
          : `${tier} runs on ${to} only; the ${from} side leaves the program and its data is retained`,
      `traffic is served by ${placement.serving}`,
      ...(placement.writesFrozen
        ? [
            frozen.length
              ? `writes frozen: ${frozen.join(", ")} scaled to zero, their routes answer 503`
              : "writes frozen (no writer service in this stack)",
            ...(external ? [`stop the writers of ${from} yourself: stackport does not run them`] : []),
          ]
        : []),
      ...(parallelRunning(cutover)
        ? [`parallel run: consumers on ${to} read its copy (read-only until switch)`]
        : []),
      ...(tier === "storage" && placement.mirror ? [`objects mirrored ${from} → ${to} continuously`] : []),
      ...(placement.copy === "initial" && tier === "database"
        ? [`initial database copy ${from} → ${to}`]
        : []),
      ...(placement.copy === "final"
        ? [
            tier === "database"
              ? `final database copy ${from} → ${to}, then verification per table (a mismatch fails the update)`
              : `final object copy ${from} → ${to} with deletions, then verification per bucket (a mismatch fails the update)`,
          ]
        : []),
    ];
    const runbook = external
      ? tier === "database"
        ? "docs/runbooks/cutover-supabase-to-homelab.md"
        : "docs/runbooks/cutover-s3-to-minio.md"
      : cfg.targets[from]?.kind === "aws"
        ? "docs/runbooks/cutover-aws-to-homelab.md"
        : "docs/runbooks/cutover-homelab-to-aws.md";
    return [{ tier, from, to, phase: cutover.phase, actions, runbook }];
  });
}
