/**
 * The single fake-args builder for policy tests. It does not build args itself: it records a resource the way
 * `synth` does and hands it to the offline evaluator's own builder (src/synth/policy.ts), so tests run rules
 * exactly as `npm run synth` and — through the SDK's real `unknownCheckingProxy`, `notApplicable` that throws and
 * schema-default config — as the CrossGuard engine does. An SDK bump that changes the args breaks here only.
 */
import type { RecordedResource } from "../../src/synth/recorder";
import { UNKNOWN_MASK } from "../../src/synth/recorder";
import {
  type PolicyPackConfig,
  evaluateWithConfig,
  resourceValidationArgs,
  runResourceValidation,
} from "../../src/synth/policy";
import type { StackportRule } from "../../policies/rules";

/** An input value unknown at preview (what the recorder writes). */
export const UNKNOWN = UNKNOWN_MASK;

export interface ResourceCase {
  type: string;
  props: Record<string, unknown>;
  name?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
  /** @default "staging" */
  environment?: string;
  /** Policy config document (as in policies/config/<stack>.json). */
  config?: PolicyPackConfig;
  /** The explicit provider's type and inputs (e.g. AWS `defaultTags`). */
  provider?: { type: string; inputs: Record<string, unknown> };
}

export function recorded(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  extra: Partial<RecordedResource> = {},
): RecordedResource {
  return {
    type,
    name,
    urn: `urn:pulumi:test::stackport::${type}::${name}`,
    parent: null,
    custom: !type.startsWith("stackport:"),
    provider: null,
    inputs,
    protect: false,
    retainOnDelete: false,
    dependsOn: [],
    ...extra,
  };
}

/** Runs one resource rule on one resource: its violation messages, or why it was not applicable. */
export async function runRule(
  rule: StackportRule,
  c: ResourceCase,
): Promise<{ violations: string[]; notApplicable?: string }> {
  const resources: RecordedResource[] = [];
  if (c.provider) resources.push(recorded(c.provider.type, "test-provider", c.provider.inputs));
  const r = recorded(c.type, c.name ?? "r", c.props, {
    protect: c.protect ?? false,
    retainOnDelete: c.retainOnDelete ?? false,
    provider: c.provider ? "test-provider" : null,
  });
  resources.push(r);
  const ctx = { stack: "test", environment: c.environment ?? "staging", config: c.config ?? {}, resources };
  return runResourceValidation(rule, resourceValidationArgs(r, rule, ctx));
}

/** Runs rules over a whole recorded plan (stack rules, enforcement levels) with a config document. */
export function runPlan(
  resources: RecordedResource[],
  opts: { environment?: string; config?: PolicyPackConfig; rules?: StackportRule[] } = {},
) {
  return evaluateWithConfig(
    { stack: "test", environment: opts.environment ?? "staging", config: opts.config ?? {}, resources },
    opts.rules,
  );
}
