import type { PlanDocument } from "../../src/synth/render";

/** A plan document of the given resources and nothing else (no outputs, no violations), for the pure sign-off tests. */
export const planOf = (resources: PlanDocument["resources"]): PlanDocument => ({
  stack: "s",
  project: "stackport",
  summary: { resources: resources.length, byType: {} },
  resources,
  outputs: [],
  violations: [],
});
