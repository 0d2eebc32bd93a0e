#!/usr/bin/env node
/**
 * `stackport <signoff|history|rollback> <stack> …`: the operations around `pulumi up`, over the Automation API.
 *
 * Exit codes: 0 done; 1 refused or not ready (a rollback refused, a sign-off with a mandatory violation); 2 could
 * not run (unknown stack, no Pulumi CLI, bad config, git/npm failure, --out not writable); 64 bad usage; 70 an
 * internal error (a bug: never 1, which scripts read as "not ready"). Errors are one readable
 * message, never a stack trace. Long work prints a progress line on stderr; reports go to stdout (or --out).
 */
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { isInputError } from "../config";
import { evaluatePolicies, safetyContext, stackPolicyConfig } from "../synth/policy";
import { planDocument, type PlanDocument, type SafetyContext } from "../synth/render";
import { synthesize } from "../synth/run";
import { readStackFile, StackNotFoundError } from "../synth/stackFile";
import {
  historyRows,
  PHASE_HISTORY_DEPTH,
  phaseOrderProblems,
  renderHistoryMarkdown,
  renderHistoryText,
} from "./history";
import type { EngineEvent } from "./review";
import { executeRollback, renderRollbackOutcome, type Runner } from "./rollback";
import { buildBasePlan, buildSignoffReport } from "./signoff";
import { automationStackOps, StackOpsError, type StackOps } from "./stackOps";

const USAGE = `usage: stackport <command> <stack> [options]

commands:
  signoff <stack>    the milestone sign-off report (Markdown) from a real preview with the policy pack
  history <stack>    the stack's updates: ref, result, git commit, dirty flag, message, changes
  rollback <stack>   redeploy the program and configuration an earlier update recorded

stackport <command> --help shows a command's options.`;

const HELP: Record<string, string> = {
  signoff: `usage: stackport signoff <stack> [--out <file.md>] [--full-diagram] [--policy-pack <dir>]... [--policy-pack-config <file>]...
       stackport signoff <stack> --offline --base <git-ref> [--out <file.md>] [--full-diagram]

Runs \`pulumi preview\` of <stack> with the policy pack (default: ./policies with the stack's policy config,
policies/config/<stack>.json, as synth uses)
and writes the sign-off report: data at risk (deletions and replacements of volumes, buckets, databases, log
groups, secrets), safety downgrades (protections the change switches off), policy results (new or existing, the
config used and its changes), risk and downtime, counts, a Mermaid diagram of the change, changes by tier,
component changes, and a checklist to sign.

--offline --base <ref>  no Pulumi CLI: compare the synth plans of <ref> (checked out in a temporary worktree,
                        npm ci, build) and the working tree; policy results from the offline rules.
--out <file>            write the report there instead of stdout (its directory must exist; checked first).
--full-diagram          also draw the whole stack (every resource, per tier) under "Whole stack".

A cutover phase is checked against the stack's history: the change may move it one step from the phase the last
successful update recorded (docs/runbooks/cutover-homelab-to-aws.md).

Exit 0 ready for review; 1 not ready to sign (a mandatory policy violation, a failed preview or a skipped cutover
phase); 2 could not run (unknown stack, configuration error, no Pulumi CLI, --out not writable); 64 bad usage; 70
an internal error.`,
  history: `usage: stackport history <stack> [--limit <n>] [--markdown]

Lists the stack's updates, newest first: ref (what rollback --to takes: the version, or the start time on a file
backend where every version is 0), start time, kind, result, git commit, dirty flag, changes, message.
Config values are never shown (the history is read without secrets).

--limit <n>   how many updates (default 20).
--markdown    a Markdown table instead of aligned text.`,
  rollback: `usage: stackport rollback <stack> --to <version|start time> [--yes] [--allow-data-loss]

Rolls forward to what an earlier update deployed: checks out its git commit in a temporary worktree (your
checkout is untouched), runs npm ci and the build there, checks that the commit's Pulumi.<stack>.yaml is the
configuration the update recorded, and previews, saving an update plan that \`up\` is then held to. Refuses
failed, unfinished and dirty updates, updates without a git commit, and a rollback that skips a cutover phase.

--to <ref>          the update, as \`stackport history\` shows it.
--yes               run \`pulumi up\` after the preview (message: "rollback to <commit> (history entry …)").
--allow-data-loss   proceed even when the preview deletes or replaces a volume, bucket, database or any
                    protected resource.`,
};

interface Spec {
  flags: string[];
  options: string[];
  repeatable?: string[];
}

const SPECS: Record<string, Spec> = {
  signoff: {
    flags: ["--offline", "--full-diagram"],
    options: ["--out", "--base", "--policy-pack", "--policy-pack-config"],
    repeatable: ["--policy-pack", "--policy-pack-config"],
  },
  history: { flags: ["--markdown"], options: ["--limit"] },
  rollback: { flags: ["--yes", "--allow-data-loss"], options: ["--to"] },
};

interface Parsed {
  stack: string;
  flags: Set<string>;
  options: Map<string, string[]>;
}

class UsageError extends Error {}

function parse(verb: string, argv: string[]): Parsed {
  const spec = SPECS[verb]!;
  const positional: string[] = [];
  const flags = new Set<string>();
  const options = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (spec.flags.includes(arg)) flags.add(arg);
    else if (spec.options.includes(arg)) {
      const value = argv[++i];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`${arg} needs a value`);
      if (options.has(arg) && !spec.repeatable?.includes(arg)) throw new UsageError(`${arg} given twice`);
      options.set(arg, [...(options.get(arg) ?? []), value]);
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length !== 1) throw new UsageError(positional.length ? "one stack, please" : "which stack?");
  return { stack: positional[0]!, flags, options };
}

const one = (p: Parsed, option: string) => p.options.get(option)?.[0];

export interface CliDeps {
  /** The project directory (Pulumi.yaml, Pulumi.<stack>.yaml, policies/). */
  root: string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Rewrite the progress line in place (a terminal) or print one line per step (a log). */
  interactive: boolean;
  stackOps(workDir: string): StackOps;
  git: Runner;
  npm: Runner;
  node: Runner;
  /** A fresh path for a temporary git worktree. */
  worktreePath(): string;
  /** The working tree's offline plan, with the offline policy results. */
  headPlan(stack: string): Promise<PlanDocument>;
}

export async function main(argv: string[], deps: CliDeps = defaultDeps()): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === "--help" || verb === "-h" || verb === "help") {
    (verb ? deps.stdout : deps.stderr)(`${USAGE}\n`);
    return verb ? 0 : 64;
  }
  if (!SPECS[verb]) {
    deps.stderr(`stackport: unknown command '${verb}'\n\n${USAGE}\n`);
    return 64;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    deps.stdout(`${HELP[verb]}\n`);
    return 0;
  }
  let parsed: Parsed;
  try {
    parsed = parse(verb, rest);
    validate(verb, parsed);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    deps.stderr(`stackport ${verb}: ${e.message}\n\n${HELP[verb]}\n`);
    return 64;
  }
  const progress = progressLine(deps);
  try {
    if (verb === "history") return await history(parsed, deps);
    if (verb === "rollback") return await rollback(parsed, deps, progress.step);
    return await signoff(parsed, deps, progress.step);
  } catch (e) {
    progress.clear();
    if (
      e instanceof StackOpsError ||
      e instanceof StackNotFoundError ||
      isInputError(e) ||
      e instanceof GitError ||
      e instanceof OutputPathError
    ) {
      // Only sign-off has an offline mode; history and rollback read the backend through the CLI.
      const hint =
        e instanceof StackOpsError && e.noCli && verb === "signoff"
          ? `; \`stackport signoff ${parsed.stack} --offline --base <git-ref>\` works without it`
          : "";
      deps.stderr(`stackport ${verb}: ${(e as Error).message}${hint}\n`);
      return 2;
    }
    throw e;
  } finally {
    progress.clear();
  }
}

function validate(verb: string, p: Parsed): void {
  if (verb === "history") {
    const limit = one(p, "--limit");
    if (limit !== undefined && !/^[1-9]\d*$/.test(limit))
      throw new UsageError("--limit must be a positive number");
  }
  if (verb === "rollback" && !one(p, "--to")) throw new UsageError("--to <version|start time> is required");
  if (verb === "signoff") {
    const offline = p.flags.has("--offline");
    if (offline !== p.options.has("--base"))
      throw new UsageError("--offline and --base <git-ref> go together");
    if (offline && (p.options.has("--policy-pack") || p.options.has("--policy-pack-config"))) {
      throw new UsageError("--policy-pack applies to the online preview; --offline uses the offline rules");
    }
  }
}

async function history(p: Parsed, deps: CliDeps): Promise<number> {
  const entries = await deps
    .stackOps(deps.root)
    .history(p.stack, { pageSize: Number(one(p, "--limit") ?? 20) });
  const rows = historyRows(entries);
  deps.stdout(`${p.flags.has("--markdown") ? renderHistoryMarkdown(rows) : renderHistoryText(rows)}\n`);
  return 0;
}

async function rollback(p: Parsed, deps: CliDeps, progress: (line: string) => void): Promise<number> {
  const outcome = await executeRollback(
    {
      stack: p.stack,
      to: one(p, "--to")!,
      yes: p.flags.has("--yes"),
      allowDataLoss: p.flags.has("--allow-data-loss"),
    },
    {
      ops: deps.stackOps(deps.root),
      opsIn: (dir) => deps.stackOps(dir),
      git: deps.git,
      npm: deps.npm,
      repoRoot: deps.root,
      worktreePath: deps.worktreePath,
      progress,
      // Today's rules, not the recorded commit's: a rollback must pass the policy a new update would.
      policy: {
        policyPacks: defaultPolicyPack(deps.root),
        policyPackConfigs: defaultPolicyConfig(deps.root, p.stack),
      },
    },
  );
  deps.stdout(`${renderRollbackOutcome(p.stack, outcome)}\n`);
  return outcome.status === "refused" ? 1 : outcome.status === "failed" ? 2 : 0;
}

async function signoff(p: Parsed, deps: CliDeps, progress: (line: string) => void): Promise<number> {
  const out = one(p, "--out");
  const fullDiagram = p.flags.has("--full-diagram");
  // Before the minute of work, not after it.
  if (out) assertWritableFile(out);
  progress(`offline plan of ${p.stack} (working tree)`);
  const head = await deps.headPlan(p.stack);
  const baseRef = one(p, "--base");
  let report;
  if (baseRef) {
    const { base, problem } = await buildBasePlan(baseRef, p.stack, {
      ...deps,
      repoRoot: deps.root,
      progress,
      safetyAt: (checkout) => stackSafety(checkout, p.stack),
    }).catch((e: unknown) => {
      throw new GitError(`base ${baseRef}: ${(e as Error).message}`);
    });
    report = buildSignoffReport({
      stack: p.stack,
      head,
      offline: { baseRef, base, baseProblem: problem },
      fullDiagram,
    });
  } else {
    const packs = p.options.get("--policy-pack") ?? defaultPolicyPack(deps.root);
    const configs =
      p.options.get("--policy-pack-config") ??
      (p.options.has("--policy-pack") ? [] : defaultPolicyConfig(deps.root, p.stack));
    // The phase a cutover is at is what the stack's last successful update recorded: no step may be skipped.
    progress(`history of ${p.stack} (cutover phase order)`);
    const phaseProblems = phaseOrderProblems(
      await deps.stackOps(deps.root).history(p.stack, { pageSize: PHASE_HISTORY_DEPTH }),
      readStackFile(deps.root, p.stack).project,
      head.cutovers,
    );
    const events: EngineEvent[] = [];
    let steps = 0;
    progress(`pulumi preview of ${p.stack}${packs.length ? ` with ${packs.join(", ")}` : ""}`);
    let previewFailure: string | undefined;
    try {
      await deps.stackOps(deps.root).preview(p.stack, {
        policyPacks: packs,
        policyPackConfigs: configs,
        onEvent: (e) => {
          events.push(e);
          if (e.resourcePreEvent) progress(`pulumi preview of ${p.stack}: ${++steps} resource step(s)`);
        },
      });
    } catch (e) {
      // A mandatory violation makes the preview fail: the events up to there are exactly what to report.
      if (!(e instanceof StackOpsError) || events.length === 0) throw e;
      previewFailure = e.message.split("\n").slice(0, 3).join(" ");
    }
    report = buildSignoffReport({ stack: p.stack, head, events, previewFailure, phaseProblems, fullDiagram });
  }
  if (out) writeFileSync(out, report.markdown);
  else deps.stdout(report.markdown);
  const verdict = report.blocked ? `not ready to sign: ${report.reasons.join("; ")}` : "ready for review";
  const risk = report.flagged.length ? `; ${report.flagged.length} stateful resource(s) at risk` : "";
  deps.stderr(`stackport signoff: ${out ? `report written to ${out}: ` : ""}${verdict}${risk}\n`);
  return report.blocked ? 1 : 0;
}

class OutputPathError extends Error {}

/** `--out`: its directory exists and is writable, and it is not itself a directory. */
function assertWritableFile(path: string): void {
  const dir = dirname(resolve(path));
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    accessSync(dir, constants.W_OK);
  } catch {
    throw new OutputPathError(`--out ${path}: directory ${dir} does not exist or is not writable`);
  }
  if (existsSync(path) && statSync(path).isDirectory())
    throw new OutputPathError(`--out ${path}: is a directory; give a file name`);
}

const defaultPolicyPack = (root: string) =>
  existsSync(join(root, "policies", "PulumiPolicy.yaml")) ? [join(root, "policies")] : [];
/** The stack's policy config, found as synth finds it (`policies/config/<stack>.json`), for the default pack. */
function defaultPolicyConfig(root: string, stack: string): string[] {
  if (!defaultPolicyPack(root).length) return [];
  const path = stackPolicyConfig(root, readStackFile(root, stack).stack);
  return path ? [path] : [];
}

function progressLine(deps: Pick<CliDeps, "stderr" | "interactive">) {
  let shown = false;
  return {
    step(line: string) {
      if (deps.interactive) {
        deps.stderr(`\r\x1b[2K… ${line}`);
        shown = true;
      } else if (!/: \d+ resource step\(s\)$/.test(line)) {
        // In a log, one line per phase; per-event counters would flood it.
        deps.stderr(`stackport: ${line}\n`);
      }
    },
    clear() {
      if (shown) deps.stderr("\r\x1b[2K");
      shown = false;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Real dependencies

class GitError extends Error {}

function spawnRunner(command: string): Runner {
  return (args, cwd) =>
    new Promise((resolve) => {
      const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", (e) => resolve({ code: 127, stdout, stderr: `${command}: ${e.message}` }));
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}

async function offlineHeadPlan(root: string, stack: string): Promise<PlanDocument> {
  const stackFile = readStackFile(root, stack);
  const plan = await synthesize(stackFile);
  const environment = stackFile.config[`${stackFile.project}:environment`] ?? stackFile.stack;
  return planDocument(
    plan,
    await evaluatePolicies(plan.resources, stackFile.stack, environment, root),
    safetyContext(root, stackFile.stack, environment),
  );
}

/** A checkout's safety context for a stack, as synth records it; undefined when its stack file cannot be read. */
function stackSafety(checkout: string, stack: string): SafetyContext | undefined {
  try {
    const stackFile = readStackFile(checkout, stack);
    const environment = stackFile.config[`${stackFile.project}:environment`] ?? stackFile.stack;
    return safetyContext(checkout, stackFile.stack, environment);
  } catch {
    return undefined;
  }
}

export function defaultDeps(root = process.cwd()): CliDeps {
  const git = spawnRunner("git");
  return {
    root,
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    interactive: Boolean(process.stderr.isTTY),
    stackOps: (workDir) => automationStackOps({ workDir }),
    git: async (args, cwd) => {
      const r = await git(args, cwd);
      if (r.code === 127) throw new GitError("git is not installed or not on PATH");
      return r;
    },
    npm: spawnRunner("npm"),
    node: spawnRunner(process.execPath),
    worktreePath: () => {
      // git wants a path that does not exist yet; its fresh parent is removed when the command ends.
      const parent = mkdtempSync(join(tmpdir(), "stackport-worktree-"));
      process.once("exit", () => rmSync(parent, { recursive: true, force: true }));
      return join(parent, "tree");
    },
    headPlan: (stack) => offlineHeadPlan(root, stack),
  };
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit once stdout has drained: a piped plan is larger than one pipe buffer.
    (code) => process.stdout.write("", () => process.exit(code)),
    (e: unknown) => {
      process.stderr.write(`stackport failed unexpectedly: ${e instanceof Error ? e.message : String(e)}\n`);
      // Not 1: that is "not ready to sign" / "refused", which a script must be able to tell from a crash.
      process.exit(70);
    },
  );
}
