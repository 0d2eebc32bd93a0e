/**
 * `stackport:cutover` — a tier moving between two targets, one reviewed phase per `pulumi up`
 * (docs/runbooks/cutover-*.md). The phase → placement rules live in src/ops/cutover/phases.ts.
 */
import { z } from "zod";
import { PHASES } from "../../ops/cutover/phases";
import { keyName } from "../schema";

/** Tiers that can move between targets (the stateful ones carry their data across with copy/verify jobs). */
export const CUTOVER_TIERS = ["storage", "database"] as const;

const tierCutover = z.strictObject({ from: keyName, to: keyName, phase: z.enum(PHASES) });
export type TierCutover = z.infer<typeof tierCutover>;

export const cutoverSchema = z.strictObject({
  storage: tierCutover.optional(),
  database: tierCutover.optional(),
});
export type CutoverConfig = z.infer<typeof cutoverSchema>;
