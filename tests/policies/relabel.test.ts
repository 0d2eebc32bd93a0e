/**
 * One config line must not switch a stack's protections off unseen (#15): relabelling `stackport:environment` in a
 * copy of production or staging — under the stack's own name, or as a new stack with no policy config of its own —
 * yields mandatory violations, and the offline sign-off report lists the downgrade.
 */
import { buildSignoffReport } from "../../src/ops/signoff";
import { evaluatePolicies, safetyContext } from "../../src/synth/policy";
import { planDocument, renderTree } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile } from "../../src/synth/stackFile";
import { ROOT } from "../harness";
import { stackEnvironmentPinned } from "../../policies/rules/stack";
import { runPlan } from "./harness";

async function plan(stack: string, as: string, environment?: string) {
  const file = readStackFile(ROOT, stack);
  if (environment) file.config["stackport:environment"] = environment;
  const declared = file.config["stackport:environment"] ?? as;
  const recorded = await synthesize({ ...file, stack: as });
  const violations = await evaluatePolicies(recorded.resources, as, declared, ROOT);
  return planDocument(recorded, violations, safetyContext(ROOT, as, declared));
}

const mandatory = (doc: Awaited<ReturnType<typeof plan>>) =>
  doc.violations.filter((v) => v.enforcementLevel === "mandatory");

describe.each(["production", "staging"])("%s relabelled `environment: local`", (stack) => {
  it("under its own name: the pin and every protection rule fire, mandatory", async () => {
    const doc = await plan(stack, stack, "local");
    const policies = new Set(mandatory(doc).map((v) => v.policy));
    expect(policies).toContain("stack-environment-pinned");
    expect(policies).toContain("stateful-protected");
    if (stack === "production") expect(policies).toContain("aws-rds-deletion-protection");
    expect(mandatory(doc).find((v) => v.policy === "stack-environment-pinned")?.message).toMatch(
      new RegExp(`is 'local', but this stack's policy config pins '${stack}'`),
    );
    // The tree names both at its head, so the reader sees which policy judged which environment.
    expect(renderTree(doc, []).split("\n")[1]).toBe(
      `environment local; policy config policies/config/${stack}.json`,
    );
  });

  it("as a copy with no policy config of its own: rule defaults, not local.json, so still mandatory", async () => {
    const doc = await plan(stack, `${stack}-copy`, "local");
    expect(doc.safety?.policyConfig).toBeNull();
    const stateful = mandatory(doc).filter((v) => v.policy === "stateful-protected");
    expect(stateful.length).toBeGreaterThan(0);
  });

  it("the offline sign-off lists the downgrade: the environment and each unprotected resource", async () => {
    // One after the other: a synth sets the process's Pulumi runtime (config, mocks).
    const base = await plan(stack, stack);
    const head = await plan(stack, stack, "local");
    expect(mandatory(base)).toEqual([]);
    const report = buildSignoffReport({ stack, head, offline: { baseRef: "main", base } });
    const section = report.markdown.slice(
      report.markdown.indexOf("## Safety downgrades"),
      report.markdown.indexOf("\n## ", report.markdown.indexOf("## Safety downgrades") + 3),
    );
    expect(section).toContain(`\`stack\`: stackport:environment "${stack}" → "local"`);
    expect(section).toMatch(/protect true → false: a destroy or replacement deletes it/);
    if (stack === "production") {
      expect(section).toContain(
        "`database-instance (aws:rds/instance:Instance)`: deletionProtection true → false",
      );
      expect(section).toContain("skipFinalSnapshot false → true");
    }
    expect(report.blocked).toBe(true);
    expect(report.downgrades.length).toBeGreaterThan(1);
    expect(report.markdown).toContain("safety downgrade(s) is intended and approved");
  });
});

describe("the shipped stacks pin their environment", () => {
  it.each(["local", "staging", "production"])("%s passes its own pin", async (stack) => {
    const doc = await plan(stack, stack);
    expect(doc.violations.filter((v) => v.policy === "stack-environment-pinned")).toEqual([]);
    expect(doc.safety).toMatchObject({ environment: stack, policyConfig: `policies/config/${stack}.json` });
  });
});

describe("stack-environment-pinned", () => {
  const run = (environment: string, pin?: string) =>
    runPlan([], {
      environment,
      rules: [stackEnvironmentPinned],
      config: pin === undefined ? {} : { "stack-environment-pinned": { environment: pin } },
    });

  it("passes when unpinned or when the declared environment is the pinned one", async () => {
    expect(await run("local")).toEqual([]);
    expect(await run("production", "production")).toEqual([]);
  });

  it("is a mandatory violation, naming both, when they differ (either way round)", async () => {
    for (const [declared, pinned] of [
      ["local", "production"],
      ["production", "staging"],
    ]) {
      const [v, ...rest] = await run(declared!, pinned);
      expect(rest).toEqual([]);
      expect(v).toMatchObject({ policy: "stack-environment-pinned", enforcementLevel: "mandatory" });
      expect(v!.message).toContain(
        `stackport:environment is '${declared}', but this stack's policy config pins '${pinned}'`,
      );
    }
  });
});
