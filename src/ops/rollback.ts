/**
 * `stackport rollback <stack> --to <version|time>`: Pulumi has no rollback command; the supported way back is to
 * roll forward to the program and configuration an earlier update recorded (the `pulumi stack history --json` entries, pulumi/pulumi `updateInfoJSON`):
 * pick that update from the stack history, check out its `git.head` in a separate worktree (the user's checkout
 * is never touched), `npm ci`, build, compare its `Pulumi.<stack>.yaml` with the configuration the update
 * recorded, check that no cutover phase is skipped, preview (saving an update plan), and `up` only when asked to —
 * held to that plan, with a message naming what it rolls back to.
 *
 * The decisions are pure functions; `executeRollback` runs them with injected git/npm runners and `StackOps`, so
 * tests never touch the real repository or a real CLI.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readStackFile, StackNotFoundError, type StackFile } from "../synth/stackFile";
import { recordedCutovers } from "../config/phases";
import { entryRef, isoTime, phaseOrderProblems, type HistoryEntry } from "./history";
import {
  parseUrn,
  summarizePreview,
  type EngineEvent,
  type PreviewResult,
  type StepMetadata,
} from "./review";
import type { PolicyRequest, StackOps } from "./stackOps";

/** A history entry with the configuration the update ran with (secrets without values: fetched without them). */
export interface RecordedEntry extends HistoryEntry {
  config?: Record<string, { value?: string; secret?: boolean; objectValue?: unknown }>;
}

// ---------------------------------------------------------------------------------------------------------
// Picking the entry

export type Pick = { entry: RecordedEntry } | { error: string };

export function pickEntry(history: RecordedEntry[], to: string): Pick {
  if (/^\d+$/.test(to)) {
    const version = Number(to);
    if (history.length > 0 && history.every((e) => e.version === 0)) {
      return {
        error:
          `this stack's backend records no update versions (file backend: every update is version 0); ` +
          `pass the start time shown by 'stackport history', e.g. --to ${isoTime(history[0]!.startTime)}`,
      };
    }
    const entry = history.find((e) => e.version === version);
    return entry
      ? { entry }
      : { error: `no update with version ${version} in the ${history.length} most recent` };
  }
  const time = new Date(to);
  if (!/^\d{4}-\d\d-\d\dT/.test(to) || Number.isNaN(time.getTime())) {
    return {
      error: `--to must be an update version or an ISO start time like 2026-03-01T08:30:00.000Z, not '${to}'`,
    };
  }
  const entry = history.find((e) => new Date(e.startTime).getTime() === time.getTime());
  return entry
    ? { entry }
    : { error: `no update started at ${time.toISOString()} ('stackport history' lists the start times)` };
}

/** Why an entry cannot be rolled back to; empty when it can. */
export function refusalReasons(entry: RecordedEntry): string[] {
  const reasons: string[] = [];
  if (entry.kind !== "update")
    reasons.push(`it is a ${entry.kind}, not an update: only an update deployed a program`);
  if (entry.result === "failed")
    reasons.push("it failed: its program and configuration never fully deployed");
  else if (entry.result !== "succeeded") reasons.push(`it has not finished (result: ${entry.result})`);
  const head = entry.environment["git.head"];
  const dirty = entry.environment["git.dirty"];
  if (!head) {
    reasons.push(
      "it recorded no git commit (git.head): it ran outside a git repository or as an inline Automation program, " +
        "so there is nothing to check out",
    );
  } else if (dirty === "true") {
    reasons.push(
      `it was deployed from a working tree with uncommitted changes (git.dirty=true): commit ${head.slice(0, 7)} is not what ran`,
    );
  } else if (dirty !== "false") {
    reasons.push("it did not record whether its working tree was clean (git.dirty)");
  }
  return reasons;
}

export function rollbackMessage(entry: RecordedEntry): string {
  const ref = entry.version > 0 ? `version ${entry.version}` : `started ${isoTime(entry.startTime)}`;
  return `rollback to ${entry.environment["git.head"]!.slice(0, 7)} (history entry ${ref}: ${entry.message.split("\n")[0]})`;
}

// ---------------------------------------------------------------------------------------------------------
// Configuration recorded vs. configuration in the commit

/**
 * Plain config keys whose value in the commit's `Pulumi.<stack>.yaml` differs from what the update recorded
 * (e.g. `pulumi config set` run without committing, or a stack file outside git). Secret keys are skipped: the
 * history is read without secrets, so there is nothing to compare them with.
 */
export function configDrift(recorded: RecordedEntry["config"], stackFile: StackFile): string[] {
  if (!recorded) return [];
  const secret = new Set([
    ...stackFile.secretKeys,
    ...Object.keys(recorded).filter((k) => recorded[k]!.secret),
  ]);
  const keys = new Set([...Object.keys(recorded), ...Object.keys(stackFile.config)]);
  const drift: string[] = [];
  for (const key of [...keys].sort()) {
    if (secret.has(key)) continue;
    const then = recorded[key];
    const now = stackFile.config[key];
    if (!then) drift.push(`${key}: set in the commit, not recorded by the update`);
    else if (now === undefined) drift.push(`${key}: recorded by the update, missing in the commit`);
    else if (!sameValue(then, now)) drift.push(`${key}: the commit's value differs from the recorded one`);
  }
  return drift;
}

function sameValue(recorded: { value?: string; objectValue?: unknown }, now: string): boolean {
  if (recorded.value === now) return true;
  const parse = (s: string | undefined) => {
    try {
      return s === undefined ? undefined : JSON.parse(s);
    } catch {
      return undefined;
    }
  };
  const then = recorded.objectValue ?? parse(recorded.value);
  return then !== undefined && canonical(then) === canonical(parse(now));
}

const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(",")}]`
    : v && typeof v === "object"
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(",")}}`
      : JSON.stringify(v);

// ---------------------------------------------------------------------------------------------------------
// Data at risk in a preview

/** Resource types that hold data: deleting or replacing one loses (or strands) that data. */
export const STATEFUL_TYPES = new Set([
  "docker:index/volume:Volume",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketV2:BucketV2",
  "aws:rds/instance:Instance",
  "aws:rds/cluster:Cluster",
]);

/** Steps that destroy the old resource. (`discard` only forgets a retained one, so it is not here.) */
const DESTRUCTIVE = new Map([
  ["delete", "delete"],
  ["replace", "replace"],
  ["create-replacement", "replace"],
  ["delete-replaced", "replace"],
]);

export interface RiskyStep {
  op: "delete" | "replace";
  type: string;
  name: string;
  urn: string;
  protect: boolean;
  retainOnDelete: boolean;
}

type StateWithOptions = NonNullable<StepMetadata["old"]> & { protect?: boolean; retainOnDelete?: boolean };

/** Deletions and replacements of stateful or protected resources, one per resource. */
export function dataAtRisk(events: EngineEvent[]): RiskyStep[] {
  const byUrn = new Map<string, RiskyStep>();
  for (const e of events) {
    const step = e.resourcePreEvent?.metadata;
    const op = step && DESTRUCTIVE.get(step.op);
    if (!step || !op) continue;
    const old = (step.old ?? undefined) as StateWithOptions | undefined;
    const protect = old?.protect === true;
    if (!STATEFUL_TYPES.has(step.type) && !protect) continue;
    if (byUrn.has(step.urn)) continue;
    byUrn.set(step.urn, {
      op: op as RiskyStep["op"],
      type: step.type,
      name: parseUrn(step.urn).name,
      urn: step.urn,
      protect,
      retainOnDelete: old?.retainOnDelete === true,
    });
  }
  return [...byUrn.values()];
}

/** `database-data (docker:index/volume:Volume; protected, retained on delete)` */
export function riskSubject(r: RiskyStep): string {
  const flags = [r.protect && "protected", r.retainOnDelete && "retained on delete"].filter(Boolean);
  return `${r.name} (${r.type}${flags.length ? `; ${flags.join(", ")}` : ""})`;
}

export const describeRisk = (r: RiskyStep): string => `${r.op} ${riskSubject(r)}`;

// ---------------------------------------------------------------------------------------------------------
// Executing

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}
/** Runs a program (git, npm) with arguments in a directory. */
export type Runner = (args: string[], cwd: string) => Promise<RunResult>;

export interface RollbackRequest {
  stack: string;
  to: string;
  /** Run `up` after the preview. Without it the rollback stops after showing the preview. */
  yes: boolean;
  /** Proceed even when the preview deletes or replaces a stateful or protected resource. */
  allowDataLoss: boolean;
}

export interface RollbackDeps {
  /** Stack operations in the user's project (history). */
  ops: StackOps;
  /** Stack operations in the checked-out worktree (preview, up). */
  opsIn(workDir: string): StackOps;
  git: Runner;
  npm: Runner;
  /** The user's repository (where `git worktree add` runs). */
  repoRoot: string;
  /** A fresh, non-existent path for the worktree. */
  worktreePath(): string;
  /** The repository's policy pack and the stack's policy config: the preview and the update run under them. */
  policy: PolicyRequest;
  progress(line: string): void;
}

export interface RollbackOutcome {
  /** refused: a decision said no; failed: a step (git, npm) broke; nothing was changed in either case. */
  status: "refused" | "failed" | "previewed" | "rolled-back";
  reasons: string[];
  entry?: RecordedEntry;
  preview?: PreviewResult;
  risky: RiskyStep[];
  message?: string;
}

/** How many history entries a rollback searches for its target. */
export const ROLLBACK_HISTORY_DEPTH = 500;

export async function executeRollback(req: RollbackRequest, deps: RollbackDeps): Promise<RollbackOutcome> {
  const refuse = (reasons: string[], extra: Partial<RollbackOutcome> = {}): RollbackOutcome => ({
    status: "refused",
    reasons,
    risky: [],
    ...extra,
  });
  deps.progress(`reading the history of ${req.stack}`);
  const history = (await deps.ops.history(req.stack, {
    pageSize: ROLLBACK_HISTORY_DEPTH,
  })) as RecordedEntry[];
  const picked = pickEntry(history, req.to);
  if ("error" in picked) return refuse([picked.error]);
  const { entry } = picked;
  const refusals = refusalReasons(entry);
  if (refusals.length)
    return refuse(
      refusals.map((r) => `update ${entryRef(entry)}: ${r}`),
      { entry },
    );

  const commit = entry.environment["git.head"]!;
  const dir = deps.worktreePath();
  deps.progress(`checking out ${commit.slice(0, 7)} in ${dir}`);
  const added = await deps.git(["worktree", "add", "--detach", dir, commit], deps.repoRoot);
  if (added.code !== 0) {
    return {
      status: "failed",
      reasons: [
        `cannot check out ${commit} (${firstLine(added.stderr)}); is it in this clone? try git fetch`,
      ],
      entry,
      risky: [],
    };
  }
  try {
    return await inWorktree(req, deps, entry, dir, history);
  } finally {
    await deps.git(["worktree", "remove", "--force", dir], deps.repoRoot);
  }
}

async function inWorktree(
  req: RollbackRequest,
  deps: RollbackDeps,
  entry: RecordedEntry,
  dir: string,
  history: RecordedEntry[],
): Promise<RollbackOutcome> {
  const commit = entry.environment["git.head"]!.slice(0, 7);
  const step = async (args: string[]) => {
    deps.progress(`npm ${args.join(" ")} (${commit})`);
    const r = await deps.npm(args, dir);
    if (r.code !== 0)
      throw new StepFailed(`npm ${args.join(" ")} failed in the ${commit} worktree: ${firstLine(r.stderr)}`);
  };
  let stackFile: StackFile;
  try {
    await step(["ci", "--no-audit", "--no-fund"]);
    // The program is precompiled (Pulumi.yaml main: bin/…): without a build, pulumi would run stale or no code.
    if (hasScript(dir, "build")) await step(["run", "build"]);
    stackFile = readStackFile(dir, req.stack);
  } catch (e) {
    if (e instanceof StepFailed) return { status: "failed", reasons: [e.message], entry, risky: [] };
    if (e instanceof StackNotFoundError) {
      return { status: "refused", reasons: [`commit ${commit}: ${e.message}`], entry, risky: [] };
    }
    throw e;
  }
  const drift = configDrift(entry.config, stackFile);
  if (drift.length) {
    return {
      status: "refused",
      reasons: [
        `commit ${commit}'s Pulumi.${req.stack}.yaml is not the configuration update ${entryRef(entry)} recorded:`,
        ...drift.map((d) => `  ${d}`),
      ],
      entry,
      risky: [],
    };
  }

  // A rollback moves a cutover like any update: from the phase the last successful update deployed, one step.
  const target = recordedCutovers(entry.config, stackFile.project);
  const phaseSkips =
    typeof target === "string"
      ? [`cannot check the cutover phase order: update ${entryRef(entry)}'s ${target}`]
      : phaseOrderProblems(history, stackFile.project, target);
  if (phaseSkips.length) {
    return {
      status: "refused",
      reasons: [`rolling back to update ${entryRef(entry)} would skip a cutover phase:`, ...phaseSkips],
      entry,
      risky: [],
    };
  }

  // The update plan the preview saves, and `up` is held to: what was previewed (and signed off) is what runs.
  // Private: the plan file holds the stack's config.
  const planDir = mkdtempSync(join(tmpdir(), "stackport-plan-"));
  try {
    return await previewAndUp(req, deps, entry, dir, join(planDir, "plan.json"));
  } finally {
    rmSync(planDir, { recursive: true, force: true });
  }
}

async function previewAndUp(
  req: RollbackRequest,
  deps: RollbackDeps,
  entry: RecordedEntry,
  dir: string,
  plan: string,
): Promise<RollbackOutcome> {
  const commit = entry.environment["git.head"]!.slice(0, 7);
  const ops = deps.opsIn(dir);
  const events: EngineEvent[] = [];
  deps.progress(`pulumi preview of ${req.stack} at ${commit}`);
  await ops.preview(req.stack, { ...deps.policy, plan, onEvent: (e) => events.push(e) });
  const preview = summarizePreview(events);
  const risky = dataAtRisk(events);
  const base = { entry, preview, risky };
  if (risky.length && !req.allowDataLoss) {
    return {
      status: "refused",
      reasons: [
        "the preview deletes or replaces resources that hold data:",
        ...risky.map((r) => `  ${describeRisk(r)}`),
        "take a backup and re-run with --allow-data-loss if that is intended",
      ],
      ...base,
    };
  }
  if (!req.yes) return { status: "previewed", reasons: ["re-run with --yes to apply this preview"], ...base };
  const message = rollbackMessage(entry);
  deps.progress(`pulumi up of ${req.stack}: ${message}`);
  await ops.up(req.stack, { message, ...deps.policy, plan });
  return { status: "rolled-back", reasons: [], message, ...base };
}

class StepFailed extends Error {}

function hasScript(dir: string, script: string): boolean {
  const path = join(dir, "package.json");
  if (!existsSync(path)) return false;
  const pkg = JSON.parse(readFileSync(path, "utf8")) as { scripts?: Record<string, string> };
  return Boolean(pkg.scripts?.[script]);
}

const firstLine = (s: string) => s.trim().split("\n")[0] || "no output";

/** The outcome for a terminal: what was picked, what the preview changes, the verdict. */
export function renderRollbackOutcome(stack: string, o: RollbackOutcome): string {
  const lines: string[] = [];
  if (o.entry) {
    lines.push(
      `target: update ${entryRef(o.entry)} of ${stack} — commit ${o.entry.environment["git.head"]?.slice(0, 7) ?? "-"}, "${o.entry.message.split("\n")[0]}"`,
    );
  }
  if (o.preview) {
    lines.push("", "preview:");
    if (o.preview.changes.length === 0) lines.push("  no changes");
    for (const c of o.preview.changes)
      lines.push(`  ${c.op.padEnd(8)} ${c.tier.padEnd(13)} ${c.name} (${c.type})`);
  }
  if (o.risky.length) lines.push("", "data at risk:", ...o.risky.map((r) => `  ! ${describeRisk(r)}`));
  lines.push("");
  if (o.status === "rolled-back") lines.push(`rolled back: ${o.message}`);
  else if (o.status === "previewed") lines.push("preview only: nothing was changed", ...o.reasons);
  else lines.push(`${o.status}:`, ...o.reasons.map((r) => (r.startsWith("  ") ? r : `  ${r}`)));
  return lines.join("\n");
}
