/**
 * What every stackport rule shares: the metadata shape (name, description, severity, default enforcement level,
 * remediation text, the type tokens it applies to), the wrapper that turns a check into a
 * `ResourceValidationPolicy`, and the preview-unknown handling.
 *
 * Rules never go silent on an unknown value: the policy SDK's `UnknownValueError` (thrown by its property proxy
 * when a rule reads a value that is not known during preview) is caught and reported as a violation whose message
 * starts "cannot check: …", at the rule's own enforcement level. Left to the SDK, it would become an advisory
 * "can't run policy … during preview" note and a mandatory rule would pass unseen (@pulumi/policy 1.21.0 `server.ts`).
 *
 * Rules match on type tokens, so the pack needs no provider SDK.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import * as pulumi from "@pulumi/pulumi";
import * as policy from "@pulumi/policy";
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  Severity,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";

/** `@internal` in the SDK's typings (stripped from its .d.ts), present at runtime since 1.21.0. */
const UnknownValueError: new (...args: never[]) => Error = (policy as unknown as { UnknownValueError: never })
  .UnknownValueError;

export interface RuleMeta {
  /** Lower-case kebab name; what policy config files and violations use. */
  name: string;
  /** One sentence: what the rule requires. */
  description: string;
  severity: Severity;
  /** Default level; a stack's policy config (`policies/config/<stack>.json`) overrides it. */
  enforcementLevel: EnforcementLevel;
  /** What to change when the rule fires. */
  remediationSteps: string;
  /** Grouping for docs (`docker`, `aws-s3`, …). */
  area: string;
  /** Type tokens the rule inspects. */
  appliesTo: string[];
  configSchema?: PolicyConfigSchema;
  /**
   * Set when the rule runs in the offline synth gate only, with the reason. Such rules are left out of the
   * CrossGuard pack (policies/index.ts) because the engine cannot give them what they need.
   */
  synthOnly?: string;
}

export type StackportResourceRule = ResourceValidationPolicy & RuleMeta & { kind: "resource" };
export type StackportStackRule = StackValidationPolicy & RuleMeta & { kind: "stack" };
export type StackportRule = StackportResourceRule | StackportStackRule;

/** Thrown by a rule that meets a value it cannot inspect (a masked secret, an unparsable document). */
export class CannotCheck extends Error {}

export function isUnknownValueError(e: unknown): e is Error {
  return Boolean(UnknownValueError) && e instanceof UnknownValueError;
}

/** Runs a check; an unknown or uninspectable value becomes a "cannot check: …" violation instead of a pass. */
export function guarded(report: ReportViolation, fn: () => void, urn?: string): void {
  try {
    fn();
  } catch (e) {
    if (isUnknownValueError(e) || e instanceof CannotCheck) report(`cannot check: ${e.message}`, urn);
    else throw e;
  }
}

export type Check = (props: any, args: ResourceValidationArgs, report: ReportViolation) => void;

/** A resource rule: not applicable outside `meta.appliesTo`; unknowns reported, never passed. */
export function resourceRule(meta: RuleMeta, check: Check): StackportResourceRule {
  const types = new Set(meta.appliesTo);
  return {
    ...meta,
    kind: "resource",
    validateResource: (args, report) => {
      if (!types.has(args.type))
        args.notApplicable(`Policy only applies to resources of type ${meta.appliesTo.join(", ")}`);
      guarded(report, () => check(args.props, args, report));
    },
  };
}

export type StackCheck = (args: StackValidationArgs, report: ReportViolation) => void;

export function stackRule(meta: RuleMeta, check: StackCheck): StackportStackRule {
  return {
    ...meta,
    kind: "stack",
    validateStack: (args, report) => guarded(report, () => check(args, report)),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Stack context

/** Stack tag the offline evaluator sets to the `stackport:environment` of the stack file it evaluates. */
export const ENVIRONMENT_TAG = "stackport:environment";

/**
 * The environment the stack declares (`local` | `staging` | `production` | …): the `stackport:environment` stack tag
 * (set by the offline evaluator from the stack file), else the stack's `stackport:environment` config, which the
 * program reads (a policy pack runs with the stack's config, so `pulumi.Config` reads it), else the stack name.
 * Only the pin rule (`stack-environment-pinned`) reads it: a protection rule that depended on it could be switched
 * off by it.
 */
export function environmentOf(args: { stackTags?: ReadonlyMap<string, string> }): string {
  const tagged = args.stackTags?.get(ENVIRONMENT_TAG);
  if (tagged) return tagged;
  try {
    return new pulumi.Config("stackport").get("environment") ?? pulumi.getStack();
  } catch {
    return "unknown";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Value helpers (all read through the SDK's proxy, so an unknown throws where it is read)

export const STANDARD_LABELS = ["stackport.stack", "stackport.tier", "stackport.managed-by"] as const;

/** Docker `labels: [{label, value}]` as a map. */
export function dockerLabels(labels: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(labels)) return out;
  for (const l of labels) {
    if (l && typeof l === "object") out.set(String((l as any).label), String((l as any).value));
  }
  return out;
}

/** AWS `tags: {k: v}` as a map. */
export function awsTags(tags: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!tags || typeof tags !== "object") return out;
  for (const k of Object.keys(tags)) out.set(k, String((tags as any)[k]));
  return out;
}

export function asArray<T = any>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : v === undefined || v === null ? [] : [v as T];
}

/** A value offline synth masked as a secret. */
export const SECRET_MASK = "[secret]";

/** Parses a JSON document input (IAM policy, ECS container definitions); a masked or broken one cannot be checked. */
export function parseJsonDocument(value: unknown, what: string): any {
  if (value && typeof value === "object") return value;
  if (value === SECRET_MASK) throw new CannotCheck(`${what} is a secret, so its content is not visible here`);
  if (typeof value !== "string") return undefined;
  try {
    return JSON.parse(value);
  } catch {
    throw new CannotCheck(`${what} is not valid JSON`);
  }
}

/** Every value of a JSON-schema `default` among a policy's config properties (the engine fills these). */
export function schemaDefaults(schema: PolicyConfigSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(schema?.properties ?? {})) {
    if (p && typeof p === "object" && "default" in p) out[k] = (p as { default: unknown }).default;
  }
  return out;
}
