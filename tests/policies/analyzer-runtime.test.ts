/**
 * The policy pack under Pulumi's real analyzer runtime: `policies/` started as the engine starts it
 * (`@pulumi/pulumi/cmd/run-policy-pack`, through ts-node on `index.ts`, in the pack's directory, with the stack's
 * config in `PULUMI_CONFIG`), configured with the stack's policy config file as the engine reconciles it, and
 * driven over gRPC with every shipped stack's plan: one `Analyze` per resource, one `AnalyzeStack`. Its violations
 * must be offline synth's (`evaluatePolicies`) except for the documented differences:
 * - synth-only rules (`synthOnly`) are not in the pack;
 * - the engine's message is the policy's description, a newline, then the rule's message;
 * - the engine does not expose `retainOnDelete` (`PolicyResourceOptions` has no such field), so
 *   `stateful-protected`'s "not retainOnDelete" finding is offline only.
 * The pack runs from the root's node_modules (`@pulumi/policy` is a root devDependency; `require.resolve` from
 * `policies/` finds them, as the language host's does), so the test needs no `policies/node_modules`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type PackLaunch,
  type EngineResource,
  type Diagnostic,
  RunningPolicyPack,
} from "../support/analyzerClient";
import { parsePolicyPackConfigFile, reconcilePolicyPackConfig } from "../support/analyzerClient";
import { allRules } from "../../policies/rules";
import { evaluatePolicies, stackPolicyConfig } from "../../src/synth/policy";
import type { RecordedResource } from "../../src/synth/recorder";
import { synthesize } from "../../src/synth/run";
import { listExampleStackFiles, listStacks, readStackFile, type StackFile } from "../../src/synth/stackFile";
import { ROOT } from "../harness";

const PACK_DIR = join(ROOT, "policies");
const START_TIMEOUT_MS = 30_000;
jest.setTimeout(90_000);

/** Where the language host finds the runner: `require.resolve` from the pack's directory. */
function runPolicyPackPath(): string {
  try {
    return require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK_DIR] });
  } catch {
    throw new Error(
      "@pulumi/pulumi/cmd/run-policy-pack cannot be resolved from policies/: run `npm ci` in the repository root",
    );
  }
}

const SYNTH_ONLY = new Set(allRules.filter((r) => r.synthOnly).map((r) => r.name));
const DESCRIPTION = new Map(allRules.map((r) => [r.name, r.description]));
const OFFLINE_ONLY_MESSAGE = /^not retainOnDelete:/;

interface Finding {
  policy: string;
  enforcementLevel: string;
  severity?: string;
  type: string;
  name: string;
  message: string;
}
const sorted = (f: Finding[]) => [...f].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** The plan as the engine holds it: the Stack resource at the root, parents and providers by URN. */
function engineResources(
  plan: RecordedResource[],
  file: StackFile,
): { stackUrn: string; resources: EngineResource[] } {
  const stackUrn = `urn:pulumi:${file.stack}::${file.project}::pulumi:pulumi:Stack::${file.project}-${file.stack}`;
  const byName = new Map(plan.map((r) => [r.name, r]));
  const providers = new Map(
    plan.filter((r) => r.type.startsWith("pulumi:providers:")).map((r) => [r.name, r]),
  );
  const stack: EngineResource = {
    urn: stackUrn,
    type: "pulumi:pulumi:Stack",
    name: `${file.project}-${file.stack}`,
    properties: {},
    protect: false,
    dependencies: [],
  };
  return {
    stackUrn,
    resources: [
      stack,
      ...plan.map((r): EngineResource => {
        const p = r.provider ? providers.get(r.provider) : undefined;
        return {
          urn: r.urn,
          type: r.type,
          name: r.name,
          properties: r.inputs,
          protect: r.protect,
          parent: r.parent ? byName.get(r.parent)?.urn : stackUrn,
          dependencies: r.dependsOn.map((n) => byName.get(n)?.urn).filter((u): u is string => Boolean(u)),
          ...(p && { provider: { urn: p.urn, type: p.type, name: p.name, properties: p.inputs } }),
        };
      }),
    ],
  };
}

/** An engine diagnostic as a synth violation: the description prefix checked and removed, the URN resolved. */
function toFinding(
  d: Diagnostic,
  byUrn: Map<string, EngineResource>,
  stackUrn: string,
  stack: string,
): Finding {
  const prefix = `${DESCRIPTION.get(d.policyName)}\n`;
  if (!d.message.startsWith(prefix))
    throw new Error(`${d.policyName}: message lacks the description prefix: ${d.message}`);
  const r = d.urn && d.urn !== stackUrn ? byUrn.get(d.urn) : undefined;
  if (d.urn && d.urn !== stackUrn && !r)
    throw new Error(`${d.policyName}: diagnostic for an unknown URN ${d.urn}`);
  return {
    policy: d.policyName,
    enforcementLevel: d.enforcementLevel,
    severity: d.severity,
    type: r?.type ?? "pulumi:pulumi:Stack",
    name: r?.name ?? stack,
    message: d.message.slice(prefix.length),
  };
}

/**
 * Starts the pack for a stack's preview (dry run) or update and, while it compiles, synthesizes the plan; then does
 * what the engine does with the pack: GetAnalyzerInfo, Configure with the reconciled stack policy config, Analyze
 * every resource (concurrently, as the engine's parallel steps do), AnalyzeStack once.
 */
async function underEngine(file: StackFile, dryRun: boolean) {
  const launch: PackLaunch = {
    packDir: PACK_DIR,
    organization: "organization",
    project: file.project,
    stack: file.stack,
    config: file.config,
    secretKeys: file.secretKeys,
    dryRun,
    // The DIY backend's stack tags: no `stackport:environment` tag, so the pack reads the stack's config.
    tags: { "pulumi:project": file.project, "pulumi:runtime": "nodejs" },
    startTimeoutMs: START_TIMEOUT_MS,
  };
  const started = RunningPolicyPack.start(launch, runPolicyPackPath());
  starting.push(started);
  const plan = (await synthesize(file, { preview: dryRun })).resources;
  const pack = await started;
  const info = await pack.info();
  expect(info.name).toBe("stackport");
  expect(info.policies.map((p) => p.name).sort()).toEqual(
    allRules
      .filter((r) => !SYNTH_ONLY.has(r.name))
      .map((r) => r.name)
      .sort(),
  );
  const configFile = stackPolicyConfig(ROOT, file.stack);
  await pack.configure(
    reconcilePolicyPackConfig(info.policies, configFile ? parsePolicyPackConfigFile(configFile) : {}),
  );

  const { stackUrn, resources } = engineResources(plan, file);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  // A resource policy's diagnostic carries no URN (the SDK ignores reportViolation's): it is the analyzed resource's.
  const perResource = await Promise.all(
    resources.map(async (r) => (await pack.analyze(r)).map((d) => ({ ...d, urn: d.urn || r.urn }))),
  );
  const diags: Diagnostic[] = [...perResource.flat(), ...(await pack.analyzeStack(resources))];
  await pack.close();
  return { plan, engine: diags.map((d) => toFinding(d, byUrn, stackUrn, file.stack)) };
}

async function offline(file: StackFile, plan: RecordedResource[]): Promise<Finding[]> {
  const environment = file.config["stackport:environment"] ?? file.stack;
  return (await evaluatePolicies(plan, file.stack, environment, ROOT)).filter(
    (v) => !SYNTH_ONLY.has(v.policy) && !OFFLINE_ONLY_MESSAGE.test(v.message),
  );
}

const STACKS = [...listStacks(ROOT), ...listExampleStackFiles(ROOT)];
/** Every pack started, closed (killed) after the suite whatever happened; close() is idempotent. */
const starting: Promise<RunningPolicyPack>[] = [];
afterAll(async () => {
  for (const s of await Promise.allSettled(starting)) if (s.status === "fulfilled") await s.value.close();
});

describe.each(STACKS)("stack %s under the analyzer runtime", (stackRef) => {
  it.each([true, false])("reports synth's violations (dryRun=%s)", async (dryRun) => {
    const file = readStackFile(ROOT, stackRef);
    const { plan, engine } = await underEngine(file, dryRun);
    expect(sorted(engine)).toEqual(sorted(await offline(file, plan)));
  });
});

describe("violations the engine must see", () => {
  it("a relabelled environment is read from the stack's config (PULUMI_CONFIG) and pinned", async () => {
    const file = readStackFile(ROOT, "production");
    file.config["stackport:environment"] = "staging";
    const { plan, engine } = await underEngine(file, true);
    expect(engine.filter((f) => f.policy === "stack-environment-pinned")).toEqual([
      expect.objectContaining({
        enforcementLevel: "mandatory",
        type: "pulumi:pulumi:Stack",
        message: expect.stringContaining(
          "stackport:environment is 'staging', but this stack's policy config pins 'production'",
        ),
      }),
    ]);
    expect(sorted(engine)).toEqual(sorted(await offline(file, plan)));
  });

  it("unprotected volumes: the engine reports what synth reports, less the retainOnDelete finding", async () => {
    const file = readStackFile(ROOT, "staging");
    file.config["stackport:safety"] = JSON.stringify({ protect: false, retainOnDelete: false });
    const { plan, engine } = await underEngine(file, true);
    const stateful = engine.filter((f) => f.policy === "stateful-protected");
    expect(stateful.length).toBeGreaterThan(0);
    expect(
      stateful.every((f) => f.enforcementLevel === "mandatory" && /^not protected/.test(f.message)),
    ).toBe(true);
    expect(sorted(engine)).toEqual(sorted(await offline(file, plan)));
  });
});

describe("the pack's own install", () => {
  const lock = (dir: string) =>
    JSON.parse(readFileSync(join(dir, "package-lock.json"), "utf8")) as {
      packages: Record<string, { version?: string; dependencies?: object; devDependencies?: object }>;
    };

  it("policies/package-lock.json matches policies/package.json (what `npm ci` in policies/ requires)", () => {
    const manifest = JSON.parse(readFileSync(join(PACK_DIR, "package.json"), "utf8"));
    const root = lock(PACK_DIR).packages[""]!;
    expect({ dependencies: root.dependencies, devDependencies: root.devDependencies }).toEqual({
      dependencies: manifest.dependencies,
      devDependencies: manifest.devDependencies,
    });
  });

  it("pins the SDKs this suite runs the pack with (the root's, standing in for `npm ci` in policies/)", () => {
    const [pack, repo] = [lock(PACK_DIR).packages, lock(ROOT).packages];
    for (const sdk of ["node_modules/@pulumi/policy", "node_modules/@pulumi/pulumi"]) {
      expect(`${sdk}@${pack[sdk]?.version}`).toBe(`${sdk}@${repo[sdk]?.version}`);
    }
  });
});
