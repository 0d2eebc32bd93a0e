/** Metadata lint for every rule, and the config files' shape (pulumi/compliance-policies' metadata lint). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { allRules } from "../../policies/rules";
import {
  loadPolicyConfig,
  resolveEnforcementLevel,
  stackPolicyConfig,
  validatePolicyConfig,
} from "../../src/synth/policy";
import { listStacks } from "../../src/synth/stackFile";
import { main as policyConfigMain } from "../../scripts/policy-config";

const ROOT = join(__dirname, "..", "..");

describe.each(allRules.map((r) => [r.name, r] as const))("%s metadata", (_name, rule) => {
  it("has a lower-case kebab name the SDK accepts and that is not reserved", () => {
    expect(rule.name).toMatch(/^[a-z0-9-]+$/);
    expect(rule.name).not.toBe("all");
  });
  it("has a description that is one sentence", () => {
    expect(rule.description).toMatch(/^[A-Z`].*[.]$/);
    expect(rule.description.length).toBeLessThan(160);
  });
  it("sets severity, a default level, remediation text, an area and the types it applies to", () => {
    expect(["low", "medium", "high", "critical"]).toContain(rule.severity);
    expect(["advisory", "mandatory", "remediate", "disabled"]).toContain(rule.enforcementLevel);
    expect(rule.remediationSteps.trim().length).toBeGreaterThan(10);
    expect(rule.area).toMatch(/^[a-z0-9-]+$/);
    expect(rule.appliesTo.length).toBeGreaterThan(0);
  });
  it("does not declare enforcementLevel in its config schema (the SDK refuses it)", () => {
    expect(Object.keys(rule.configSchema?.properties ?? {})).not.toContain("enforcementLevel");
  });
});

it("rule names are unique", () => {
  const names = allRules.map((r) => r.name);
  expect(new Set(names).size).toBe(names.length);
});

describe("policies/config", () => {
  const files = readdirSync(join(ROOT, "policies", "config")).filter((f) => f.endsWith(".json"));
  it.each(files)("%s names only existing policies and valid levels", (f) => {
    expect(() =>
      validatePolicyConfig(JSON.parse(readFileSync(join(ROOT, "policies", "config", f), "utf8")), f),
    ).not.toThrow();
  });
  it.each(files)("%s names only rules the engine runs (it ignores any other key, silently)", (f) => {
    const inPack = new Set(allRules.filter((r) => !r.synthOnly).map((r) => r.name));
    const doc = JSON.parse(readFileSync(join(ROOT, "policies", "config", f), "utf8")) as object;
    expect(Object.keys(doc).filter((key) => key !== "all" && !inPack.has(key))).toEqual([]);
  });
  it("the synth-only secrets rule gates staging and production, and only advises locally", () => {
    const rule = allRules.find((r) => r.name === "docker-no-plain-secret-envs")!;
    expect(rule.synthOnly).toBeTruthy();
    const levelIn = (stack: string) =>
      resolveEnforcementLevel(rule, loadPolicyConfig(stackPolicyConfig(ROOT, stack)));
    expect(["local", "staging", "production"].map(levelIn)).toEqual(["advisory", "mandatory", "mandatory"]);
  });
  it("scripts/policy-config prints the file the PR workflow passes to the real preview, as synth finds it", () => {
    expect(policyConfigMain(["local"], ROOT)).toEqual({ code: 0, out: "policies/config/local.json\n" });
    // The example's stack has its own file: the real preview gates it at the levels synth did.
    expect(policyConfigMain(["examples/aws-staging/Pulumi.aws-staging.yaml"], ROOT)).toEqual({
      code: 0,
      out: "policies/config/aws-staging.json\n",
    });
    expect(policyConfigMain(["nope"], ROOT)).toMatchObject({
      code: 2,
      out: expect.stringMatching(/no stack file/),
    });
  });
  it("has a config for every shipped stack and for production", () => {
    const stacks = new Set([...listStacks(ROOT), "local", "staging", "production"]);
    for (const s of stacks) expect(files).toContain(`${s}.json`);
  });
  it("makes every rule mandatory in production", () => {
    const doc = JSON.parse(readFileSync(join(ROOT, "policies", "config", "production.json"), "utf8"));
    expect(doc.all).toBe("mandatory");
  });
});

describe("the pack entry point", () => {
  const src = readFileSync(join(ROOT, "policies", "index.ts"), "utf8");
  it("builds the PolicyPack from allRules and is the only PolicyPack constructor", () => {
    expect(src).toMatch(/new PolicyPack\("stackport"/);
    expect(src).toMatch(/allRules/);
    const rules = readdirSync(join(ROOT, "policies", "rules")).map((f) =>
      readFileSync(join(ROOT, "policies", "rules", f), "utf8"),
    );
    expect(rules.some((s) => /new PolicyPack/.test(s))).toBe(false);
  });
  it("has a package.json with a version and the policy SDK, and a nodejs PulumiPolicy.yaml", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "policies", "package.json"), "utf8"));
    expect(pkg.name).toBe("stackport-policies");
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(pkg.dependencies["@pulumi/policy"]).toBe("^1.21.0");
    expect(pkg.dependencies["@pulumi/pulumi"]).toBeDefined();
    expect(readFileSync(join(ROOT, "policies", "PulumiPolicy.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
  });
});
