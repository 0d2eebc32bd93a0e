import * as pulumi from "@pulumi/pulumi";

export const MANAGED_BY = "stackport";

/**
 * `stackport.stateful=false` on a volume that holds only regenerated data (a cache): the stateful-protection policy
 * (policies/rules/stateful.ts, which keeps its own copy so the pack stands alone) lets it go unprotected.
 */
export const NOT_STATEFUL_LABEL = "stackport.stateful";

/** The labels (Docker) or tags (AWS) every resource carries: which stack, which tier, who manages it. */
export function standardLabels(tier: string): Record<string, string> {
  return {
    "stackport.stack": pulumi.getStack(),
    "stackport.tier": tier,
    "stackport.managed-by": MANAGED_BY,
  };
}

/** Docker's `labels` input shape. */
export function dockerLabels(tier: string, extra: Record<string, string> = {}) {
  return Object.entries({ ...standardLabels(tier), ...extra }).map(([label, value]) => ({ label, value }));
}
