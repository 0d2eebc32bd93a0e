/**
 * Parallel run (`stackport:cutover.<tier>.parallelRun`): during replicate, freeze and backfill a tier's consumers may
 * run on the `to` side against its copy, read-only, so the new side is exercised before `switch`. Which side a
 * consumer uses, and the rules the config alone can check. Pure.
 */
import { type ServiceDatabase, writesDatabase } from "../../components/ingestion/settings";
import { configKey } from "./keys";
import { type Cutover, PHASES, placementFor } from "./phases";
import { CUTOVER_TIERS, type CutoverTier } from "./tiers/cutover";

/** A cutover's settings that parallel run reads. */
export interface ParallelCutover extends Cutover {
  parallelRun?: boolean | undefined;
}

/** Whether the phase lets consumers run on the `to` side against its copy (before `switch`, with `parallelRun`). */
export function parallelRunning(cutover: ParallelCutover | undefined): boolean {
  return !!cutover?.parallelRun && PHASES.indexOf(cutover.phase) < PHASES.indexOf("switch");
}

/**
 * The side of a tier that a consumer placed on `consumerOn` uses: the serving side, or — in a parallel run — the
 * `to` side's copy when the consumer sits there.
 */
export function consumedSide(on: string, cutover: ParallelCutover | undefined, consumerOn?: string): string {
  if (parallelRunning(cutover) && consumerOn === cutover!.to) return cutover!.to;
  return placementFor(on, cutover).serving;
}

/** The consumers of a tier a stack places, with where they run and how they use it, by config path. */
function consumersOf(cfg: ParallelRunContext, tier: CutoverTier) {
  const out: { path: PropertyKey[]; on: string; writes: boolean }[] = [];
  const ingestion = cfg.ingestion;
  for (const [svc, s] of Object.entries(ingestion?.services ?? {})) {
    const use = s.connections[tier];
    if (use === undefined) continue;
    out.push({
      path: ["ingestion", "services", svc, "connections", tier],
      on: ingestion!.on,
      writes: tier === "database" ? writesDatabase(s.connections.database) : true,
    });
  }
  const basemap = cfg.basemap;
  if (basemap && (tier === "database" ? basemap.postgis : (basemap.pmtiles?.length ?? 0) > 0))
    out.push({
      path: ["basemap", tier === "database" ? "postgis" : "pmtiles"],
      on: basemap.on,
      // The import job loads tables into the database.
      writes: tier === "database" && basemap.import !== undefined,
    });
  return out;
}

interface ParallelRunContext {
  targets: Record<string, { kind: string }>;
  ingestion?:
    | {
        on: string;
        services: Record<
          string,
          { connections: { database?: ServiceDatabase | undefined; storage?: unknown } }
        >;
      }
    | undefined;
  basemap?: { on: string; postgis?: unknown; pmtiles?: unknown[] | undefined; import?: unknown } | undefined;
  cutover?: Partial<Record<CutoverTier, ParallelCutover | undefined>> | undefined;
}

/**
 * The rules of a parallel run the config alone can check, each named by its key: consumers on the `to` side only
 * read (the database copy as `app_reader`; storage consumers get read access there), and they all use one side.
 */
export function parallelRunIssues(cfg: ParallelRunContext): { key: string; message: string }[] {
  const issues: { key: string; message: string }[] = [];
  for (const tier of CUTOVER_TIERS) {
    const cutover = cfg.cutover?.[tier];
    if (!parallelRunning(cutover)) continue;
    const onCopy = consumersOf(cfg, tier).filter((c) => c.on === cutover!.to);
    for (const c of onCopy) {
      // Docker consumers get a read-only MinIO user on the copy; an ECS task role has no read-only bucket grant.
      if (tier === "storage" && cfg.targets[cutover!.to]?.kind === "aws")
        issues.push({
          key: configKey(c.path),
          message: `runs on '${cutover!.to}' (AWS) against the copy in phase ${cutover!.phase}, where its task role could write to buckets the backfill replaces: give it storage from switch on`,
        });
      if (tier === "database" && c.writes)
        issues.push({
          key: configKey(c.path),
          message: `writes to the database (app_writer, or the basemap's import), but in phase ${cutover!.phase} it runs on '${cutover!.to}' against the copy (stackport:cutover.database.parallelRun), which the backfill replaces: only read there (app_reader, no import) until switch`,
        });
    }
    const sides = new Set(consumersOf(cfg, tier).map((c) => c.on === cutover!.to));
    if (sides.size > 1)
      issues.push({
        key: configKey(["cutover", tier, "parallelRun"]),
        message: `consumers of stackport:${tier} run on both sides (${consumersOf(cfg, tier)
          .map((c) => `${configKey(c.path)} on '${c.on}'`)
          .join(", ")}); in a parallel run they all use the '${cutover!.to}' copy, or all the serving side`,
      });
  }
  return issues;
}
