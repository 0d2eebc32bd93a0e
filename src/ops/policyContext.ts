/**
 * Policy results in context, for the sign-off report: which policy config the stack is checked with, what a change
 * does to that config (every edit, tightening too; safety.ts lists the relaxations as downgrades), how many rules ran
 * under it, and whether each violation is new with this change or was there before. Pure.
 */
import { allRules } from "../../policies/rules";
import { resolveEnforcementLevel, type PolicyPackConfig } from "../synth/policy";
import type { SafetyContext, Violation } from "../synth/render";

/** Rules the pack has, and those the config leaves enabled (every level but `disabled`). */
export function rulesEvaluated(policy: SafetyContext["policy"] | undefined): {
  enabled: number;
  total: number;
  disabled: string[];
} {
  const config = (policy ?? {}) as PolicyPackConfig;
  const disabled = allRules
    .filter((r) => resolveEnforcementLevel(r, config) === "disabled")
    .map((r) => r.name);
  return { enabled: allRules.length - disabled.length, total: allRules.length, disabled };
}

const show = (v: unknown) => (v === undefined ? "unset" : JSON.stringify(v));

/** Every key of the policy config that differs between base and head: `key: old → new`. */
export function policyConfigDiff(base: SafetyContext | undefined, head: SafetyContext | undefined): string[] {
  if (!base || !head) return [];
  const lines: string[] = [];
  if (base.policyConfig !== head.policyConfig)
    lines.push(
      `file: ${base.policyConfig ?? "none (rule defaults)"} → ${head.policyConfig ?? "none (rule defaults)"}`,
    );
  const keys = [...new Set([...Object.keys(base.policy), ...Object.keys(head.policy)])].sort();
  for (const k of keys) {
    const b = show(base.policy[k]);
    const a = show(head.policy[k]);
    if (b !== a) lines.push(`${k}: ${b} → ${a}`);
  }
  return lines;
}

export type ViolationStatus = "new" | "existing";

const key = (v: Pick<Violation, "policy" | "type" | "name" | "message">) =>
  `${v.policy}\u0000${v.type}\u0000${v.name}\u0000${v.message}`;

/** Each head violation marked `existing` when the base had the same policy, resource and message, else `new`. */
export function markViolations<T extends Violation>(
  head: T[],
  base: Violation[] | undefined,
): (T & { status: ViolationStatus })[] {
  const before = new Set((base ?? []).map(key));
  return head.map((v) => ({ ...v, status: before.has(key(v)) ? "existing" : "new" }));
}
