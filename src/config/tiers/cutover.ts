/**
 * `stackport:cutover` — a tier moving between two targets, one reviewed phase per `pulumi up`
 * (docs/runbooks/cutover-*.md). The phase → placement rules live in src/ops/cutover/phases.ts.
 */
import { z } from "zod";
import { PHASES } from "../../ops/cutover/phases";
import { keyName } from "../schema";

/** Tiers that can move between targets (the stateful ones carry their data across with copy/verify jobs). */
export const CUTOVER_TIERS = ["storage", "database"] as const;
export type CutoverTier = (typeof CUTOVER_TIERS)[number];

/** An address as the machine running `pulumi up` reaches it (an SSH tunnel, a VPN address, a published port). */
const reachable = z.strictObject({
  host: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name or IP address"),
  port: z.number().int().min(1).max(65535),
});

const tierCutover = z.strictObject({
  from: keyName,
  to: keyName,
  phase: z.enum(PHASES),
  /**
   * Where the copy and verification (run from the machine running `pulumi up`, with pg_dump/psql 15+ on PATH)
   * reach each side's database. Required by the phases that copy: replicate and backfill.
   */
  access: z.strictObject({ source: reachable, target: reachable }).optional(),
});
export type TierCutover = z.infer<typeof tierCutover>;

export const cutoverSchema = z.strictObject({
  storage: tierCutover.optional(),
  database: tierCutover.optional(),
});
export type CutoverConfig = z.infer<typeof cutoverSchema>;
