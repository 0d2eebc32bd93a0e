/**
 * Offline policy evaluation: runs every stackport rule (policies/rules) on a recorded plan, the way the
 * CrossGuard engine would during `pulumi preview --policy-pack policies --policy-pack-config
 * policies/config/<stack>.json`, without the engine and without constructing a `PolicyPack`.
 *
 * Runtime-faithful where it matters (@pulumi/policy 1.21.0 `server.ts` and `policy.ts`: resource vs stack validation, unknowns in preview, config):
 * - props go through the SDK's own `unknownCheckingProxy`; "[unknown]" inputs (preview unknowns) become the SDK's
 *   unknown sentinel first, so a rule reading one meets the same `UnknownValueError` it would meet in a preview;
 * - `notApplicable` throws, as the SDK's does; `getConfig` returns schema defaults + the stack's config values;
 * - enforcement: per-policy config > `all` > rule default > pack default ("advisory"); `disabled` skips; a
 *   violation under `remediate` is reported as `mandatory`.
 * Differences: props are the recorded inputs (no provider Check defaults); stack rules see inputs, not outputs;
 * `opts.retainOnDelete` is passed (the engine does not expose it).
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import * as policySdk from "@pulumi/policy";
import type {
  EnforcementLevel,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  StackValidationArgs,
} from "@pulumi/policy";
import { allRules, type StackportRule } from "../../policies/rules";
import { ENVIRONMENT_TAG, schemaDefaults } from "../../policies/rules/common";
import { UNKNOWN_MASK, type RecordedResource } from "./recorder";
import type { SafetyContext, Violation } from "./render";

const sdk = policySdk as unknown as { unknownCheckingProxy(o: unknown): Record<string, unknown> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const UNKNOWN_SENTINEL: string = require("@pulumi/policy/proxy").unknownStringValue;

/** The CLI's `--policy-pack-config` file format (pulumi/pulumi `pkg/resource/analyzer/config.go`). */
export type PolicyPackConfig = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "advisory";
const LEVELS = new Set(["advisory", "mandatory", "remediate", "disabled"]);

export function policyConfigPath(root: string, name: string): string {
  return join(root, "policies", "config", `${name}.json`);
}

/**
 * The policy config a stack is checked with — by synth, sign-off and the PR workflow alike
 * (`node bin/scripts/policy-config.js <stack>`): `policies/config/<stack>.json`, else none (every rule at its
 * default level, which is the strict one for protections).
 *
 * Never the config of the stack's `stackport:environment`: the environment is one line of the stack file, and
 * finding the policy by it would let that line relax the policy too (a production copy relabelled `local` would be
 * checked with `local.json`). A stack's relaxations live in its own file, where a reviewer sees them change.
 */
export function stackPolicyConfig(root: string, stack: string): string | undefined {
  const path = policyConfigPath(root, stack);
  return existsSync(path) ? path : undefined;
}

/**
 * The stack's safety context for its plan: its declared environment and the policy config it is checked with.
 * The config is read as written (not validated), so a base ref's file with rules this code no longer has still reads.
 */
export function safetyContext(root: string, stack: string, environment: string): SafetyContext {
  const path = stackPolicyConfig(root, stack);
  let policy: SafetyContext["policy"] = {};
  if (path) {
    try {
      const doc: unknown = JSON.parse(readFileSync(path, "utf8"));
      if (doc && typeof doc === "object" && !Array.isArray(doc)) policy = doc as SafetyContext["policy"];
    } catch {
      // Unreadable: loadPolicyConfig reports it where the config is used.
    }
  }
  return { environment, policyConfig: path ? relative(root, path) : null, policy };
}

/** A policy config file, checked as the CLI would; no file means every rule at its default level. */
export function loadPolicyConfig(path: string | undefined): PolicyPackConfig {
  if (!path) return {};
  const shown = relative(process.cwd(), path) || path;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${shown}: not valid JSON (${(e as Error).message})`);
  }
  return validatePolicyConfig(parsed, shown);
}

/** Checks a config document the way the CLI would refuse it: unknown policy names and levels are errors. */
export function validatePolicyConfig(doc: unknown, where = "policy config"): PolicyPackConfig {
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    throw new Error(`${where}: must be a JSON object`);
  const names = new Set(allRules.map((r) => r.name));
  for (const [key, value] of Object.entries(doc)) {
    if (key !== "all" && !names.has(key)) throw new Error(`${where}: unknown policy '${key}'`);
    const level =
      typeof value === "string" ? value : (value as { enforcementLevel?: unknown })?.enforcementLevel;
    if (level !== undefined && !LEVELS.has(String(level))) {
      throw new Error(
        `${where}: ${key}: enforcement level '${String(level)}' is not one of ${[...LEVELS].join(", ")}`,
      );
    }
  }
  return doc as PolicyPackConfig;
}

/** Effective level of a rule under a config: per-policy > `all` > the rule's default > the pack's default. */
export function resolveEnforcementLevel(
  rule: Pick<StackportRule, "name" | "enforcementLevel">,
  config: PolicyPackConfig,
  packDefault: EnforcementLevel = PACK_ENFORCEMENT_LEVEL,
): EnforcementLevel {
  const own = config[rule.name];
  const ownLevel = typeof own === "string" ? own : own?.enforcementLevel;
  const all = config["all"];
  const allLevel = typeof all === "string" ? all : all?.enforcementLevel;
  return ownLevel ?? allLevel ?? rule.enforcementLevel ?? packDefault;
}

/** What `args.getConfig()` returns: schema defaults, then the config file's properties (minus enforcementLevel). */
export function ruleConfig(
  rule: Pick<StackportRule, "name" | "configSchema">,
  config: PolicyPackConfig,
): Record<string, unknown> {
  const own = config[rule.name];
  const values: Record<string, unknown> = own && typeof own === "object" ? { ...own } : {};
  delete values["enforcementLevel"];
  return { ...schemaDefaults(rule.configSchema), ...values };
}

/** Recorded inputs with "[unknown]" replaced by the SDK's unknown sentinel, recursively. */
export function toPolicyProps(value: unknown): unknown {
  if (value === UNKNOWN_MASK) return UNKNOWN_SENTINEL;
  if (Array.isArray(value)) return value.map(toPolicyProps);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) out[k] = toPolicyProps(obj[k]);
    return out;
  }
  return value;
}

export class NotApplicable extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "not applicable");
  }
}

export interface EvaluationContext {
  stack: string;
  environment: string;
  project?: string;
  config: PolicyPackConfig;
  /** Every recorded resource, to find providers and dependencies. */
  resources: RecordedResource[];
}

function stackTags(ctx: EvaluationContext): Map<string, string> {
  return new Map([
    [ENVIRONMENT_TAG, ctx.environment],
    ["pulumi:project", ctx.project ?? "stackport"],
  ]);
}

interface PlanIndex {
  resources: RecordedResource[];
  length: number;
  byName: Map<string, RecordedResource>;
  providerByName: Map<string, RecordedResource>;
}

/** Name → resource and name → provider of a context's plan, built once per evaluation (not per rule × resource). */
const planIndexes = new WeakMap<EvaluationContext, PlanIndex>();

function planIndex(ctx: EvaluationContext): PlanIndex {
  const cached = planIndexes.get(ctx);
  if (cached && cached.resources === ctx.resources && cached.length === ctx.resources.length) return cached;
  const byName = new Map<string, RecordedResource>();
  const providerByName = new Map<string, RecordedResource>();
  // The first match wins, as with `find`.
  for (const p of ctx.resources) {
    if (!byName.has(p.name)) byName.set(p.name, p);
    if (!providerByName.has(p.name) && p.type.startsWith("pulumi:providers:")) providerByName.set(p.name, p);
  }
  const index = { resources: ctx.resources, length: ctx.resources.length, byName, providerByName };
  planIndexes.set(ctx, index);
  return index;
}

function throwNotApplicable(reason?: string): never {
  throw new NotApplicable(reason);
}

/** The engine's resource options for a recorded resource, with the defaults of what an offline plan lacks. */
function engineOptions(r: RecordedResource) {
  return {
    protect: r.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
  };
}

/** `isType`/`asType` of a recorded resource: a resource class matches by its `__pulumiType`. */
function typeGuards(type: string, props: unknown) {
  return {
    isType: (cls: { __pulumiType?: string }) => cls?.__pulumiType === type,
    asType: (cls: { __pulumiType?: string }) => (cls?.__pulumiType === type ? props : undefined),
  };
}

/** The `ResourceValidationArgs` the engine would pass for a recorded resource (+ `opts.retainOnDelete`). */
export function resourceValidationArgs(
  r: RecordedResource,
  rule: Pick<StackportRule, "name" | "configSchema">,
  ctx: EvaluationContext,
): ResourceValidationArgs {
  const props = sdk.unknownCheckingProxy(toPolicyProps(r.inputs));
  const idx = planIndex(ctx);
  const parent = r.parent ? idx.byName.get(r.parent) : undefined;
  const providerRec = r.provider ? idx.providerByName.get(r.provider) : undefined;
  const args: ResourceValidationArgs = {
    type: r.type,
    props,
    urn: r.urn,
    name: r.name,
    opts: {
      ...engineOptions(r),
      retainOnDelete: r.retainOnDelete,
      ...(parent && { parent: parent.urn }),
    } as ResourceValidationArgs["opts"],
    stackTags: stackTags(ctx),
    ...(typeGuards(r.type, props) as Pick<ResourceValidationArgs, "isType" | "asType">),
    getConfig: (<T extends object>() =>
      ruleConfig(rule, ctx.config) as T) as ResourceValidationArgs["getConfig"],
    notApplicable: throwNotApplicable,
  };
  if (providerRec) {
    args.provider = {
      type: providerRec.type,
      props: sdk.unknownCheckingProxy(toPolicyProps(providerRec.inputs)),
      urn: providerRec.urn,
      name: providerRec.name,
    };
  }
  return args;
}

/** Runs one resource rule's validations; `notApplicable` is set when the rule declined the resource. */
export async function runResourceValidation(
  rule: StackportRule,
  args: ResourceValidationArgs,
): Promise<{ violations: string[]; notApplicable?: string }> {
  const violations: string[] = [];
  const report: ReportViolation = (message: string) => void violations.push(message);
  if (rule.kind !== "resource" || !rule.validateResource) return { violations };
  for (const fn of [rule.validateResource].flat()) {
    try {
      await fn(args, report);
    } catch (e) {
      if (e instanceof NotApplicable) return { violations, notApplicable: e.reason ?? "" };
      throw e;
    }
  }
  return { violations };
}

/** The `StackValidationArgs` for a recorded plan (props are inputs; dependencies resolved from `dependsOn`). */
export function stackValidationArgs(
  rule: Pick<StackportRule, "name" | "configSchema">,
  ctx: EvaluationContext,
): StackValidationArgs {
  const byName = new Map<string, PolicyResource>();
  const list: PolicyResource[] = ctx.resources.map((r) => {
    const props = sdk.unknownCheckingProxy(toPolicyProps(r.inputs));
    const pr = {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: engineOptions(r),
      dependencies: [] as PolicyResource[],
      propertyDependencies: {},
      ...typeGuards(r.type, props),
    } as unknown as PolicyResource;
    byName.set(r.name, pr);
    return pr;
  });
  ctx.resources.forEach((r, i) => {
    const pr = list[i]! as { dependencies: PolicyResource[]; parent?: PolicyResource };
    pr.dependencies = r.dependsOn.map((n) => byName.get(n)).filter((d): d is PolicyResource => Boolean(d));
    if (r.parent && byName.has(r.parent)) pr.parent = byName.get(r.parent);
  });
  return {
    resources: list,
    stackTags: stackTags(ctx),
    getConfig: (<T extends object>() =>
      ruleConfig(rule, ctx.config) as T) as StackValidationArgs["getConfig"],
    notApplicable: throwNotApplicable,
  };
}

/**
 * Runs every rule on a recorded plan with the stack's enforcement config (`policies/config/<stack>.json`; a
 * missing file means rule defaults). Pure apart from reading that file; no engine, no processes.
 */
export async function evaluatePolicies(
  resources: RecordedResource[],
  stack: string,
  environment: string,
  root: string,
  rules: StackportRule[] = allRules,
): Promise<Violation[]> {
  const ctx: EvaluationContext = {
    stack,
    environment,
    config: loadPolicyConfig(stackPolicyConfig(root, stack)),
    resources,
  };
  return evaluateWithConfig(ctx, rules);
}

/** `evaluatePolicies` with the config given (tests, or a config not on disk). */
export async function evaluateWithConfig(
  ctx: EvaluationContext,
  rules: StackportRule[] = allRules,
): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const rule of rules) {
    const configured = resolveEnforcementLevel(rule, ctx.config);
    if (configured === "disabled") continue;
    const level = configured === "remediate" ? "mandatory" : configured;
    const push = (r: { type: string; name: string }, message: string) =>
      out.push({
        policy: rule.name,
        enforcementLevel: level,
        severity: rule.severity,
        type: r.type,
        name: r.name,
        message,
      });

    if (rule.kind === "stack") {
      const messages: { message: string; urn?: string }[] = [];
      try {
        await rule.validateStack(
          stackValidationArgs(rule, ctx),
          (message, urn) => void messages.push({ message, urn }),
        );
      } catch (e) {
        if (!(e instanceof NotApplicable)) throw e;
      }
      for (const m of messages) {
        const r = ctx.resources.find((x) => x.urn === m.urn) ?? {
          type: "pulumi:pulumi:Stack",
          name: ctx.stack,
        };
        push(r, m.message);
      }
      continue;
    }
    const types = new Set(rule.appliesTo);
    for (const r of ctx.resources) {
      if (!types.has(r.type)) continue; // the server's cheap type filter; the rule would decline anyway
      const { violations } = await runResourceValidation(rule, resourceValidationArgs(r, rule, ctx));
      for (const message of violations) push(r, message);
    }
  }
  return out;
}

/** True when any violation blocks (what makes `synth` and the PR gate exit non-zero). */
export function hasMandatory(violations: Violation[]): boolean {
  return violations.some((v) => v.enforcementLevel === "mandatory");
}
