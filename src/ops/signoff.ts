/**
 * `stackport signoff <stack>`: the milestone sign-off report, in Markdown. Data at risk (deletions and
 * replacements of stateful resources) comes first, then counts, changes by tier, policy results, a Mermaid
 * diagram of the stack and a checklist to sign.
 *
 * Two sources, one report:
 * - online: the events of a real `pulumi preview` with the policy pack (what the providers will really do);
 * - offline (`--offline --base <ref>`): the synth plans of the base ref and the working tree — no Pulumi CLI, so
 *   replacements decided by providers are not known; the report says so.
 * The builders are pure; `buildBasePlan` runs the base's own synth in a git worktree with injected runners.
 */
import { cutoverStepProblems } from "../config/phases";
import type { PlanDocument, Violation } from "../synth/render";
import { markdownCell } from "./history";
import { dataAtRisk, riskSubject, STATEFUL_TYPES, type Runner } from "./rollback";
import {
  changeDetail,
  diffPlans,
  summarizePreview,
  tierOf,
  TIERS,
  type EngineEvent,
  type PlanDiff,
  type PolicyFinding,
} from "./review";

type PlanResource = PlanDocument["resources"][number];

export interface SignoffInput {
  stack: string;
  /** The head's offline plan: always drawn; in offline mode also the source of changes and policy results. */
  head: PlanDocument;
  /** Online mode: every engine event of the real preview. */
  events?: EngineEvent[];
  /** Online mode: the preview itself failed (e.g. a mandatory violation makes the CLI exit non-zero). */
  previewFailure?: string;
  /** Offline mode: the base ref and its plan (undefined when the base could not synthesize this stack). */
  offline?: { baseRef: string; base?: PlanDocument; baseProblem?: string };
}

export interface SignoffReport {
  markdown: string;
  /** A mandatory policy violation or a failed preview: not ready to sign. */
  blocked: boolean;
  reasons: string[];
  /** Stateful resources deleted or replaced (or, offline, possibly replaced). */
  flagged: string[];
}

interface Change {
  tier: string;
  line: string;
}

interface Collected {
  source: string;
  flagged: string[];
  counts: [string, number][];
  changes: Change[];
  findings: PolicyFinding[];
  errors: string[];
  notes: string[];
}

const code = (s: string) => "`" + s.replace(/`/g, "'") + "`";

export function buildSignoffReport(input: SignoffInput): SignoffReport {
  const c = input.offline ? collectOffline(input.head, input.offline) : collectOnline(input.events ?? []);
  if (input.previewFailure) c.errors.push(input.previewFailure);
  const mandatory = c.findings.filter((f) => f.enforcementLevel === "mandatory");
  // A cutover moves one phase per update (docs/runbooks/cutover-*.md); offline, the base plan says where it stood.
  const phaseSkips = input.offline
    ? cutoverStepProblems(input.offline.base?.cutovers, input.head.cutovers)
    : [];
  const reasons = [
    ...(mandatory.length ? [`${mandatory.length} mandatory policy violation(s)`] : []),
    ...(c.errors.length ? [`${c.errors.length} preview error(s)`] : []),
    ...phaseSkips,
  ];
  const lines = [
    `# Sign-off: stack ${code(input.stack)}`,
    "",
    `Source: ${c.source}`,
    "",
    reasons.length
      ? `**Not ready to sign: ${reasons.join("; ")}.**`
      : `**Ready for review:** no mandatory policy violation${c.flagged.length ? `; **${c.flagged.length} stateful resource(s) at risk** (below)` : ""}.`,
    "",
    ...c.notes.flatMap((n) => [`> ${n}`, ""]),
    ...cutoverSection(input.head),
    "## Data at risk",
    "",
    ...(c.flagged.length
      ? c.flagged.map((f) => `- :warning: ${f}`)
      : ["No stateful resource (volume, bucket, database) is deleted or replaced."]),
    "",
    ...(c.errors.length ? ["## Preview errors", "", ...c.errors.map((e) => `- ${markdownCell(e)}`), ""] : []),
    "## Counts",
    "",
    "| change | resources |",
    "| --- | --- |",
    ...c.counts.map(([op, n]) => `| ${op} | ${n} |`),
    "",
    "## Changes by tier",
    "",
    ...renderByTier(c.changes),
    "## Policy results",
    "",
    ...renderFindings(c.findings),
    "## Stack diagram",
    "",
    "```mermaid",
    mermaidDiagram(input.head),
    "```",
    "",
    "## Sign-off checklist",
    "",
    ...checklist(input, c),
    "",
  ];
  return { markdown: lines.join("\n"), blocked: reasons.length > 0, reasons, flagged: c.flagged };
}

function collectOnline(events: EngineEvent[]): Collected {
  const preview = summarizePreview(events);
  const packs = events.find((e) => e.summaryEvent)?.summaryEvent as
    { PolicyPacks?: Record<string, string> } | undefined;
  const packList = Object.entries(packs?.PolicyPacks ?? {}).map(([name, version]) => `${name} ${version}`);
  const counts = preview.summary ?? countOps(preview.changes.map((ch) => ch.op));
  return {
    source: `a real \`pulumi preview\`${packList.length ? ` with the policy pack(s) ${packList.join(", ")}` : " (no policy pack reported)"}.`,
    flagged: dataAtRisk(events).map((r) => `**${r.op}** ${riskSubject(r)}`),
    counts: orderCounts(counts),
    changes: preview.changes.map((ch) => ({
      tier: ch.tier,
      line: `- ${ch.op} ${code(ch.name)} ${markdownCell(ch.type)}${changeDetail(ch, code)}`,
    })),
    findings: preview.violations,
    errors: preview.errors,
    notes: [],
  };
}

const isStateful = (r: Pick<PlanResource, "type" | "protect">) => STATEFUL_TYPES.has(r.type) || r.protect;

function collectOffline(head: PlanDocument, offline: NonNullable<SignoffInput["offline"]>): Collected {
  const diff: PlanDiff = diffPlans(offline.base, head);
  const flagged = [
    ...diff.removed
      .filter(isStateful)
      .map((r) => `**delete** ${r.name} (${r.type}${r.protect ? "; protected" : ""})`),
    ...diff.changed
      .filter((ch) => isStateful(ch.resource) || ch.fields.includes("(protect)"))
      .map(
        (ch) =>
          `**changed** ${ch.resource.name} (${ch.resource.type}): ${ch.fields.join(", ")} — may force a replacement; confirm with an online sign-off`,
      ),
  ];
  const notes = [
    "Offline report: built from synth plans, without the Pulumi CLI or providers. It shows what the program " +
      "registers differently, not what providers will do: run `stackport signoff` online before `pulumi up`.",
    ...(offline.baseProblem ? [`No base plan: ${offline.baseProblem}. Every resource shows as added.`] : []),
  ];
  const line = (verb: string, r: PlanResource, extra = "") => ({
    tier: tierOf(r),
    line: `- ${verb} ${code(r.name)} ${markdownCell(r.type)}${extra}`,
  });
  return {
    source: `offline synth plans of ${code(offline.baseRef)} (base) and the working tree (head).`,
    flagged,
    counts: [
      ["added", diff.added.length],
      ["removed", diff.removed.length],
      ["changed", diff.changed.length],
      ["unchanged", head.resources.length - diff.added.length - diff.changed.length],
    ],
    changes: [
      ...diff.removed.map((r) => line("removed", r)),
      ...diff.added.map((r) => line("added", r)),
      ...diff.changed.map((ch) => line("changed", ch.resource, ` — ${ch.fields.map(code).join(", ")}`)),
    ],
    findings: head.violations.map((v: Violation) => ({ ...v, pack: "stackport (offline)" })),
    errors: [],
    notes,
  };
}

const OP_ORDER = ["delete", "replace", "create", "update", "same"];
function orderCounts(counts: Record<string, number>): [string, number][] {
  const rank = (op: string) => (OP_ORDER.includes(op) ? OP_ORDER.indexOf(op) : OP_ORDER.length);
  return Object.entries(counts).sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}
function countOps(ops: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const op of ops) counts[op] = (counts[op] ?? 0) + 1;
  return counts;
}

function renderByTier(changes: Change[]): string[] {
  if (changes.length === 0) return ["No changes.", ""];
  const order = [...TIERS, "target", "other"] as string[];
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  const tiers = [...new Set(changes.map((ch) => ch.tier))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  return tiers.flatMap((tier) => {
    const lines = changes.filter((ch) => ch.tier === tier).map((ch) => ch.line);
    return [`### ${tier} (${lines.length})`, "", ...lines, ""];
  });
}

function renderFindings(findings: PolicyFinding[]): string[] {
  if (findings.length === 0) return ["No policy violations.", ""];
  const rank = (f: PolicyFinding) => (f.enforcementLevel === "mandatory" ? 0 : 1);
  return [
    "| level | severity | policy | resource | message |",
    "| --- | --- | --- | --- | --- |",
    ...[...findings]
      .sort((a, b) => rank(a) - rank(b) || a.policy.localeCompare(b.policy) || a.name.localeCompare(b.name))
      .map(
        (f) =>
          `| ${f.enforcementLevel === "mandatory" ? "**mandatory**" : f.enforcementLevel} | ${f.severity || "-"} | ${code(f.policy)} | ${code(f.name)} (${markdownCell(f.type)}) | ${markdownCell(f.message)} |`,
      ),
    "",
  ];
}

/** What each cutover in progress does in this update, so reviewers check the phase, not only the diff. */
function cutoverSection(head: PlanDocument): string[] {
  const cutovers = head.cutovers ?? [];
  if (cutovers.length === 0) return [];
  return [
    "## Cutover in progress",
    "",
    "| tier | from → to | phase | this update |",
    "| --- | --- | --- | --- |",
    ...cutovers.map(
      (cut) =>
        `| ${cut.tier} | ${code(cut.from)} → ${code(cut.to)} | ${code(cut.phase)} | ${markdownCell(cut.actions.join("; "))} |`,
    ),
    "",
  ];
}

function checklist(input: SignoffInput, c: Collected): string[] {
  const mandatory = c.findings.filter((f) => f.enforcementLevel === "mandatory").length;
  const advisory = c.findings.length - mandatory;
  return [
    c.flagged.length
      ? `- [ ] The ${c.flagged.length} stateful resource(s) at risk are intended, and a backup or snapshot of each was taken and restored once`
      : "- [ ] No data at risk: confirmed against the list above",
    `- [ ] Mandatory policy violations: ${mandatory ? `${mandatory} — fixed before \`pulumi up\`` : "none"}`,
    `- [ ] Advisory findings (${advisory}) read; each accepted or ticketed`,
    "- [ ] Every tier's changes match the milestone's intent (nothing unexpected in a tier the milestone does not touch)",
    ...(input.head.cutovers ?? []).map(
      (cut) =>
        `- [ ] Cutover of ${cut.tier} (${cut.from} → ${cut.to}): the \`${cut.phase}\` checklist of [the runbook](${cut.runbook}#${cut.phase}) ticked`,
    ),
    `- [ ] Rollback point noted: the current update's ref from \`stackport history ${input.stack}\``,
    ...(input.offline
      ? [`- [ ] Online sign-off run before \`pulumi up\`: \`stackport signoff ${input.stack}\``]
      : [`- [ ] \`pulumi up --stack ${input.stack}\` will run from this same commit`]),
    "",
    "Signed off by: ____________________ Date: ____________",
  ];
}

// ---------------------------------------------------------------------------------------------------------
// Mermaid

/** Mermaid node ids allow letters, digits and `_`; a prefix keeps ids like `end` from being keywords. */
const nodeId = (name: string) => `n_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
const label = (s: string) => s.replace(/"/g, "#quot;");

/** `graph TD` of the plan's parent tree: the stack → components → their children; stateful resources marked. */
export function mermaidDiagram(plan: Pick<PlanDocument, "stack" | "resources">): string {
  const ids = new Map<PlanResource, string>();
  const byName = new Map<string, string>();
  const used = new Set<string>(["stack"]);
  for (const r of plan.resources) {
    let id = nodeId(r.name);
    for (let i = 2; used.has(id); i++) id = `${nodeId(r.name)}_${i}`;
    used.add(id);
    ids.set(r, id);
    if (!byName.has(r.name)) byName.set(r.name, id);
  }
  const lines = ["graph TD", `  stack(["stack ${label(plan.stack)}"])`];
  for (const r of plan.resources) {
    const id = ids.get(r)!;
    const text = `${label(r.name)}<br/><small>${label(r.type)}</small>`;
    const component = r.type.startsWith("stackport:");
    lines.push(`  ${id}${component ? `(["${text}"])` : `["${text}"]`}${isStateful(r) ? ":::stateful" : ""}`);
    lines.push(`  ${(r.parent && byName.get(r.parent)) || "stack"} --> ${id}`);
  }
  lines.push("  classDef stateful stroke-width:3px,stroke-dasharray:4 2");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// The base plan (offline mode)

export interface BasePlanDeps {
  git: Runner;
  npm: Runner;
  node: Runner;
  repoRoot: string;
  worktreePath(): string;
  progress(line: string): void;
}

/**
 * The base ref's own offline plan: its program, its config, its synth — in a separate worktree (the user's
 * checkout is never touched). A base that cannot synthesize the stack (new stack, broken config) is reported,
 * not fatal: the report then shows every resource as added.
 */
export async function buildBasePlan(
  ref: string,
  stack: string,
  deps: BasePlanDeps,
): Promise<{ base?: PlanDocument; problem?: string }> {
  const dir = deps.worktreePath();
  deps.progress(`checking out ${ref} in ${dir}`);
  const added = await deps.git(["worktree", "add", "--detach", dir, ref], deps.repoRoot);
  if (added.code !== 0) throw new Error(`cannot check out '${ref}': ${added.stderr.trim().split("\n")[0]}`);
  try {
    for (const args of [
      ["ci", "--no-audit", "--no-fund"],
      ["run", "build"],
    ]) {
      deps.progress(`npm ${args.join(" ")} (${ref})`);
      const r = await deps.npm(args, dir);
      if (r.code !== 0)
        return { problem: `npm ${args.join(" ")} failed at ${ref}: ${r.stderr.trim().split("\n")[0]}` };
    }
    deps.progress(`synth ${stack} at ${ref}`);
    const synth = await deps.node(["bin/src/synth/cli.js", stack, "--json"], dir);
    if (synth.code !== 0)
      return { problem: `synth of ${stack} at ${ref} failed: ${synth.stderr.trim().split("\n")[0]}` };
    const doc = JSON.parse(synth.stdout) as PlanDocument;
    return Array.isArray(doc.resources) ? { base: doc } : { problem: `synth at ${ref} printed no plan` };
  } finally {
    await deps.git(["worktree", "remove", "--force", dir], deps.repoRoot);
  }
}
