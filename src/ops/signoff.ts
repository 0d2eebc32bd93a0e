/**
 * `stackport signoff <stack>`: the milestone sign-off report, in Markdown, in the order a reviewer reads it:
 * the verdict (blocking reasons and data at risk together), data at risk (deleted, replaced, left behind unmanaged),
 * safety downgrades, policy results in context (config, its diff, rules run, violations new or existing), the risk
 * classification (what the provider will do: in place, restart, replacement, deletion; downtime), counts of
 * deployed resources, a diagram of the change, the changes with old → new values, component changes apart, and a
 * checklist that follows the classification.
 *
 * Two sources, one report:
 * - online: the events of a real `pulumi preview` with the policy pack (the engine's own replace/delete steps);
 * - offline (`--offline --base <ref>`): the synth plans of the base ref and the working tree — no Pulumi CLI, so
 *   what providers do is predicted from the provider table (src/ops/providerEffects.ts); the report says so.
 * The builders are pure; `buildBasePlan` runs the base's own synth in a git worktree with injected runners.
 */
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { cutoverStepProblems } from "../config/phases";
import type { PlanDocument, SafetyContext } from "../synth/render";
import { changeDiagram, LEGEND, mermaidText } from "./changeDiagram";
import {
  downtimeOf,
  isComponent,
  losesData,
  offlineChanges,
  onlineChanges,
  type ChangeSet,
  type ResourceChange,
} from "./changeSet";
import { markdownCell } from "./history";
import { markViolations, policyConfigDiff, rulesEvaluated } from "./policyContext";
import { safetyDowngrades, type SafetyDowngrade } from "./safety";
import { STATEFUL_TYPES, type Runner } from "./rollback";
import { summarizePreview, TIERS, type EngineEvent, type PolicyFinding } from "./review";

type PlanResource = PlanDocument["resources"][number];

export interface SignoffInput {
  stack: string;
  /** The head's offline plan: its policy context, parent chains; in offline mode also the source of changes. */
  head: PlanDocument;
  /** Online mode: every engine event of the real preview. */
  events?: EngineEvent[];
  /** Online mode: the preview itself failed (e.g. a mandatory violation makes the CLI exit non-zero). */
  previewFailure?: string;
  /** Online mode: phase skips against the stack's last successful update (history.ts phaseOrderProblems). */
  phaseProblems?: string[];
  /** Offline mode: the base ref and its plan (undefined when the base could not synthesize this stack). */
  offline?: { baseRef: string; base?: PlanDocument; baseProblem?: string };
  /** Append the whole stack's diagram (every resource), which the change diagram replaces by default. */
  fullDiagram?: boolean;
}

export interface SignoffReport {
  markdown: string;
  /** A mandatory policy violation or a failed preview: not ready to sign. */
  blocked: boolean;
  reasons: string[];
  /** Resources whose data is deleted or replaced (offline: possibly), or protected ones the update cannot delete. */
  flagged: string[];
  /** Resources removed from the program but retained: left behind, unmanaged. */
  unmanaged: string[];
  /** Protections the change switches off (src/ops/safety.ts). */
  downgrades: SafetyDowngrade[];
}

type Finding = PolicyFinding & { status: string };

interface Collected {
  source: string;
  set: ChangeSet;
  findings: Finding[];
  errors: string[];
  notes: string[];
  downgrades: SafetyDowngrade[];
  /** What the unchanged count is measured against: the head's deployed resources. */
  deployed: number;
  online: boolean;
}

const code = (s: string) => "`" + s.replace(/`/g, "'") + "`";
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function buildSignoffReport(input: SignoffInput): SignoffReport {
  const c = input.offline
    ? collectOffline(input.head, input.offline)
    : collectOnline(input.events ?? [], input.head);
  if (input.previewFailure) c.errors.push(input.previewFailure);
  const mandatory = c.findings.filter((f) => f.enforcementLevel === "mandatory");
  // A cutover moves one phase per update (docs/runbooks/cutover-*.md); offline, the base plan says where it stood,
  // online the config the stack's last successful update recorded.
  const phaseSkips = input.offline
    ? cutoverStepProblems(input.offline.base?.cutovers, input.head.cutovers)
    : (input.phaseProblems ?? []);
  const reasons = [
    ...(mandatory.length ? [`${mandatory.length} mandatory policy violation(s)`] : []),
    ...(c.errors.length ? [`${c.errors.length} preview error(s)`] : []),
    ...phaseSkips,
  ];
  const deployed = c.set.changes.filter((ch) => !ch.component);
  const atRisk = deployed.filter((ch) => losesData(ch) || ch.outcome.kind === "blocked");
  const leftBehind = deployed.filter((ch) => ch.outcome.kind === "left-behind");
  const lines = [
    `# Sign-off: stack ${code(input.stack)}`,
    "",
    `Source: ${c.source}`,
    "",
    headline(reasons, atRisk.length, leftBehind.length, c.downgrades.length),
    "",
    ...c.notes.flatMap((n) => [`> ${n}`, ""]),
    ...cutoverSection(input.head),
    "## Data at risk",
    "",
    ...dataSection(atRisk, leftBehind),
    "",
    "## Safety downgrades",
    "",
    ...(c.downgrades.length
      ? c.downgrades.map((d) => `- :warning: ${code(d.subject)}: ${markdownCell(d.change)}`)
      : [
          "No protection is switched off (environment, protect/retainOnDelete, protective inputs, policy levels).",
        ]),
    "",
    ...(c.errors.length ? ["## Preview errors", "", ...c.errors.map((e) => `- ${markdownCell(e)}`), ""] : []),
    "## Policy results",
    "",
    ...policySection(input, c),
    "## Risk",
    "",
    ...riskSection(deployed, c.online),
    "## Counts",
    "",
    ...countsSection(c),
    "## Change diagram",
    "",
    ...diagramSection(c.set),
    "## Changes by tier",
    "",
    ...renderByTier(deployed),
    "## Component changes",
    "",
    ...componentSection(c.set.changes.filter((ch) => ch.component)),
    "## Sign-off checklist",
    "",
    ...checklist(input, c, { atRisk, leftBehind, deployed }),
    "",
    ...(input.fullDiagram ? wholeStack(input.head) : []),
  ];
  return {
    markdown: lines.join("\n"),
    blocked: reasons.length > 0,
    reasons,
    flagged: atRisk.map(flagLine),
    unmanaged: leftBehind.map((ch) => `${ch.name} (${ch.type})`),
    downgrades: c.downgrades,
  };
}

/** The verdict, and what is at risk whatever the verdict: a blocked report must not hide the data at risk. */
function headline(reasons: string[], atRisk: number, leftBehind: number, downgrades: number): string {
  const risk = [
    atRisk ? `**${plural(atRisk, "resource")} with data at risk**` : "no data at risk",
    ...(leftBehind ? [`**${plural(leftBehind, "resource")} left behind unmanaged**`] : []),
    ...(downgrades ? [`**${downgrades} safety downgrade(s)**`] : []),
  ].join("; ");
  return reasons.length
    ? `**Not ready to sign: ${reasons.join("; ")}.** Also: ${risk} (below).`
    : `**Ready for review:** no mandatory policy violation; ${risk}${atRisk + leftBehind + downgrades ? " (below)" : ""}.`;
}

function flagLine(ch: ResourceChange): string {
  const verb = ch.op === "removed" ? "delete" : ch.op === "replaced" ? "replace" : "changed";
  const flags = [ch.protect && "protected", ch.retainOnDelete && "retained on delete"].filter(Boolean);
  const subject = `${ch.name} (${ch.type}${flags.length ? `; ${flags.join(", ")}` : ""})`;
  return ch.op === "changed"
    ? `**changed** ${subject}: ${ch.fields.join(", ")} — may force a replacement; confirm with an online sign-off`
    : `**${verb}** ${subject}`;
}

// ---------------------------------------------------------------------------------------------------------
// Sources

function collectOnline(events: EngineEvent[], head: PlanDocument): Collected {
  const preview = summarizePreview(events);
  // By name: a local pack's key in the summaryEvent also carries `|local|<path>`.
  const packList = preview.policyPacks.map((p) => `${p.name} ${p.version}`);
  const set = onlineChanges(events, head);
  const ops = new Map(set.changes.map((ch) => [ch.name, ch.op]));
  return {
    source: `a real \`pulumi preview\`${packList.length ? ` with the policy pack(s) ${packList.join(", ")}` : " (no policy pack reported)"}.`,
    set,
    // Online there is no base plan: a violation on a resource the preview leaves alone was there before.
    findings: preview.violations.map((v) => ({
      ...v,
      status: !ops.has(v.name) ? "existing" : ops.get(v.name) === "added" ? "new" : "on a changed resource",
    })),
    errors: preview.errors,
    notes: [],
    downgrades: safetyDowngrades(preview.sides.base, preview.sides.head),
    deployed: head.resources.filter((r) => !isComponent(r.type)).length,
    online: true,
  };
}

function collectOffline(head: PlanDocument, offline: NonNullable<SignoffInput["offline"]>): Collected {
  const notes = [
    "Offline report: built from synth plans, without the Pulumi CLI or providers. What each provider will do is " +
      "predicted from its schema (the provider table); run `stackport signoff` online before `pulumi up`.",
    ...(offline.baseProblem ? [`No base plan: ${offline.baseProblem}. Every resource shows as added.`] : []),
  ];
  return {
    source: `offline synth plans of ${code(offline.baseRef)} (base) and the working tree (head).`,
    set: offlineChanges(offline.base, head),
    findings: markViolations(
      head.violations.map((v) => ({ ...v, pack: "stackport (offline)" })),
      offline.base?.violations,
    ),
    errors: [],
    notes,
    downgrades: offline.base
      ? safetyDowngrades(
          { resources: offline.base.resources, context: offline.base.safety },
          { resources: head.resources, context: head.safety },
        )
      : [],
    deployed: head.resources.filter((r) => !isComponent(r.type)).length,
    online: false,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Sections

const subject = (ch: ResourceChange) => {
  const flags = [ch.protect && "protected", ch.retainOnDelete && "retained on delete"].filter(Boolean);
  return `${code(ch.name)} (${ch.type}${flags.length ? `; ${flags.join(", ")}` : ""})`;
};

function dataSection(atRisk: ResourceChange[], leftBehind: ResourceChange[]): string[] {
  if (atRisk.length + leftBehind.length === 0)
    return [
      "No resource holding data (volume, bucket, database, log group, secret, snapshot) is deleted, replaced or left behind.",
    ];
  return [
    ...atRisk.map((ch) => {
      const o = ch.outcome;
      const verb =
        ch.op === "removed"
          ? o.kind === "blocked"
            ? "cannot delete"
            : "delete"
          : ch.op === "replaced"
            ? "replace"
            : "may replace";
      const what =
        o.kind === "blocked" || o.kind === "delete"
          ? o.detail
          : `${"detail" in o ? o.detail : ""}${ch.data ? ` — ${ch.data} would be lost` : ""}`;
      return `- :warning: **${verb}** ${subject(ch)}: ${markdownCell(what)}`;
    }),
    ...leftBehind.map(
      (ch) =>
        `- :warning: **left behind** ${subject(ch)}: ${markdownCell(ch.outcome.kind === "left-behind" ? ch.outcome.detail : "")}`,
    ),
  ];
}

function policySection(input: SignoffInput, c: Collected): string[] {
  const safety = input.head.safety;
  const base = input.offline?.base?.safety;
  const rules = rulesEvaluated(safety?.policy);
  const config = safety
    ? safety.policyConfig
      ? code(safety.policyConfig)
      : "none: every rule at its default level"
    : "unknown (the head plan does not record it)";
  const diff = policyConfigDiff(base, safety);
  const lines = [
    `Policy config: ${config}${c.online && safety ? " (the preview's default; `--policy-pack-config` replaces it)" : ""}.`,
    "",
    `Rules evaluated: ${rules.enabled} of the pack's ${rules.total}${rules.disabled.length ? ` (disabled by the config: ${rules.disabled.map(code).join(", ")})` : ""}.`,
    "",
    ...(input.offline
      ? base
        ? diff.length
          ? [`The change edits the policy config (base → head):`, "", ...diff.map((d) => `- ${code(d)}`), ""]
          : ["The policy config is the same as the base's.", ""]
        : ["The base's policy config is unknown (no base plan, or one from before plans recorded it).", ""]
      : []),
  ];
  if (c.findings.length === 0) return [...lines, "No policy violations.", ""];
  const rank = (f: Finding) => (f.enforcementLevel === "mandatory" ? 0 : 1);
  const statuses = [...new Set(c.findings.map((f) => f.status))].sort();
  const meaning: Record<string, string> = c.online
    ? { new: "on added resources", existing: "on resources the change leaves alone" }
    : { new: "not in the base plan", existing: "already in the base plan" };
  return [
    ...lines,
    `${plural(c.findings.length, "violation")}: ${statuses
      .map((s) => {
        const n = c.findings.filter((f) => f.status === s).length;
        return `${n} ${s}${meaning[s] ? ` (${meaning[s]})` : ""}`;
      })
      .join(", ")}.`,
    "",
    "| status | level | severity | policy | resource | message |",
    "| --- | --- | --- | --- | --- | --- |",
    ...[...c.findings]
      .sort(
        (a, b) =>
          rank(a) - rank(b) ||
          Number(b.status === "new") - Number(a.status === "new") ||
          a.policy.localeCompare(b.policy) ||
          a.name.localeCompare(b.name),
      )
      .map(
        (f) =>
          `| ${f.status === "new" ? "**new**" : f.status} | ${f.enforcementLevel === "mandatory" ? "**mandatory**" : f.enforcementLevel} | ${f.severity || "-"} | ${code(f.policy)} | ${code(f.name)} (${markdownCell(f.type)}) | ${markdownCell(f.message)} |`,
      ),
    "",
  ];
}

const RISK_ROWS: [string, (ch: ResourceChange) => boolean][] = [
  ["deletes data", (ch) => ch.outcome.kind === "delete" && Boolean(ch.data)],
  ["deleted (no data)", (ch) => ch.outcome.kind === "delete" && !ch.data],
  ["cannot be deleted (protected)", (ch) => ch.outcome.kind === "blocked"],
  ["left behind, unmanaged", (ch) => ch.outcome.kind === "left-behind"],
  ["replaced", (ch) => ch.outcome.kind === "replace"],
  ["may be replaced", (ch) => ch.outcome.kind === "may-replace"],
  ["in place, with a restart", (ch) => ch.outcome.kind === "restart"],
  ["in place", (ch) => ch.outcome.kind === "in-place"],
  ["not classified (provider decides)", (ch) => ch.outcome.kind === "unknown"],
  ["created", (ch) => ch.outcome.kind === "create"],
];

function riskSection(deployed: ResourceChange[], online: boolean): string[] {
  if (deployed.length === 0) return ["Nothing deployed changes.", ""];
  const rows = RISK_ROWS.map(([label, test]) => [label, deployed.filter(test)] as const).filter(
    ([, l]) => l.length,
  );
  const downtime = deployed.flatMap((ch) => {
    const d = downtimeOf(ch);
    return d ? [`- ${code(ch.name)} (${ch.type}): ${markdownCell(d)}`] : [];
  });
  const sources = [
    ...new Set(
      deployed
        .filter((ch) => ch.outcome.kind !== "create")
        .map((ch) => ch.source)
        .filter(Boolean),
    ),
  ] as string[];
  return [
    online
      ? "What the engine will do, from the preview's steps (restarts from the provider table):"
      : "What the providers will do, predicted from their schemas (the provider table):",
    "",
    "| what happens | resources |",
    "| --- | --- |",
    ...rows.map(
      ([label, list]) =>
        `| ${label} | ${list.length}: ${markdownCell(
          list
            .slice(0, 4)
            .map((ch) => code(ch.name))
            .join(", "),
        )}${list.length > 4 ? ", …" : ""} |`,
    ),
    "",
    ...(downtime.length
      ? ["Downtime:", "", ...downtime]
      : ["Downtime: none expected (no restart, reboot or replacement of something running)."]),
    "",
    ...(sources.length
      ? [
          "<details><summary>Sources of the classification</summary>",
          "",
          ...sources.sort().map((s) => `- ${s}`),
          "",
          "</details>",
          "",
        ]
      : []),
  ];
}

function countsSection(c: Collected): string[] {
  const deployed = c.set.changes.filter((ch) => !ch.component);
  const components = c.set.changes.filter((ch) => ch.component);
  const n = (op: string) => deployed.filter((ch) => ch.op === op).length;
  const unchanged = c.deployed - n("added") - n("changed") - n("replaced");
  const cn = (op: string) => components.filter((ch) => ch.op === op).length;
  return [
    `Deployed resources (stackport components apart)${c.online ? "" : "; replacements predicted"}:`,
    "",
    "| operation | resources |",
    "| --- | --- |",
    `| added | ${n("added")} |`,
    `| replaced | ${n("replaced")} |`,
    `| changed | ${n("changed")} |`,
    `| removed | ${n("removed")} |`,
    `| unchanged | ${Math.max(unchanged, 0)} |`,
    "",
    components.length
      ? `Components (their inputs are configuration, nothing deployed): ${cn("added")} added, ${cn("changed") + cn("replaced")} changed, ${cn("removed")} removed (under Component changes).`
      : "Components: none changes.",
    "",
  ];
}

function diagramSection(set: ChangeSet): string[] {
  const { diagrams } = changeDiagram(set.changes, set.resources);
  if (diagrams.length === 0) return ["Nothing changes.", ""];
  return [
    ...diagrams.flatMap((d) => [
      ...(d.tier ? [`### ${d.tier}`, ""] : []),
      "```mermaid",
      d.mermaid,
      "```",
      "",
    ]),
    LEGEND,
    "",
  ];
}

const OUTCOME_TEXT = (ch: ResourceChange): string => {
  const o = ch.outcome;
  switch (o.kind) {
    case "create":
      return "";
    case "replace":
      return o.predicted
        ? `replaced (predicted: ${o.because.map(code).join(", ")} forces it): ${o.detail}`
        : `replaced${o.because.length ? ` because of ${o.because.map(code).join(", ")}` : ""}`;
    case "restart":
      return o.detail;
    case "in-place":
      return o.detail;
    case "may-replace":
      return o.detail;
    case "unknown":
      return "effect not classified offline (not in the provider table): the online sign-off shows it";
    default:
      return o.detail;
  }
};

function changeLine(ch: ResourceChange): string {
  const outcome = OUTCOME_TEXT(ch);
  const shown = ch.values.slice(0, 6).map((v) => `${code(v.field)} ${code(v.before)} → ${code(v.after)}`);
  const more = ch.values.length > 6 ? [`… ${ch.values.length - 6} more`] : [];
  const detail = [...(outcome ? [outcome] : []), ...(shown.length ? [[...shown, ...more].join(", ")] : [])];
  return `- ${ch.op} ${code(ch.name)} ${markdownCell(ch.type)}${detail.length ? ` — ${detail.join("; ")}` : ""}`;
}

function renderByTier(changes: ResourceChange[]): string[] {
  if (changes.length === 0) return ["No changes.", ""];
  const order = [...TIERS, "target", "other"] as string[];
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  const opRank = { removed: 0, replaced: 1, changed: 2, added: 3 };
  const tiers = [...new Set(changes.map((ch) => ch.tier))].sort(
    (a, b) => rank(a) - rank(b) || a.localeCompare(b),
  );
  return tiers.flatMap((tier) => {
    const inTier = changes
      .filter((ch) => ch.tier === tier)
      .sort((a, b) => opRank[a.op] - opRank[b.op] || a.name.localeCompare(b.name));
    return [`### ${tier} (${inTier.length})`, "", ...inTier.map(changeLine), ""];
  });
}

function componentSection(components: ResourceChange[]): string[] {
  if (components.length === 0) return ["No component's configuration changes.", ""];
  return [
    "Their inputs are the stack's configuration; what they deploy is counted above.",
    "",
    ...components.map((ch) => {
      const shown = ch.values.map((v) => `${code(v.field)} ${code(v.before)} → ${code(v.after)}`);
      return `- ${ch.op === "replaced" ? "changed" : ch.op} ${code(ch.name)} ${markdownCell(ch.type)}${shown.length ? ` — ${shown.join(", ")}` : ""}`;
    }),
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

function checklist(
  input: SignoffInput,
  c: Collected,
  k: { atRisk: ResourceChange[]; leftBehind: ResourceChange[]; deployed: ResourceChange[] },
): string[] {
  const mandatory = c.findings.filter((f) => f.enforcementLevel === "mandatory").length;
  const advisory = c.findings.filter((f) => f.enforcementLevel !== "mandatory");
  const lost = k.atRisk.filter((ch) => ch.outcome.kind !== "blocked");
  const blocked = k.atRisk.filter((ch) => ch.outcome.kind === "blocked");
  const restarts = k.deployed.filter((ch) => downtimeOf(ch));
  const unknown = k.deployed.filter(
    (ch) => ch.outcome.kind === "unknown" || ch.outcome.kind === "may-replace",
  );
  const names = (l: ResourceChange[]) => l.map((ch) => code(ch.name)).join(", ");
  return [
    ...(lost.length
      ? [
          `- [ ] The data of ${names(lost)} is meant to go, and a backup or snapshot of each was taken and restored once`,
        ]
      : []),
    ...(blocked.length
      ? [
          `- [ ] ${names(blocked)}: unprotecting (\`pulumi state unprotect\`) is approved by the stack's owner, or the removal is dropped`,
        ]
      : []),
    ...(k.leftBehind.length
      ? [
          `- [ ] ${names(k.leftBehind)}: left behind unmanaged on purpose; an owner and a clean-up (or import) ticket exist`,
        ]
      : []),
    ...(lost.length + blocked.length + k.leftBehind.length === 0
      ? ["- [ ] No data at risk: confirmed against the lists above"]
      : []),
    ...(restarts.length
      ? [`- [ ] The downtime of ${names(restarts)} (restart, reboot or failover) is scheduled and announced`]
      : []),
    ...(c.downgrades.length
      ? [
          `- [ ] Each of the ${c.downgrades.length} safety downgrade(s) is intended and approved by the stack's owner`,
        ]
      : []),
    `- [ ] Mandatory policy violations: ${mandatory ? `${mandatory} — fixed before \`pulumi up\`` : "none"}`,
    `- [ ] Advisory findings (${advisory.length}, ${advisory.filter((f) => f.status === "new").length} new) read; each new one accepted or ticketed`,
    "- [ ] Every tier's changes match the milestone's intent (nothing unexpected in a tier the milestone does not touch)",
    ...(unknown.length && !input.offline
      ? []
      : unknown.length
        ? [
            `- [ ] The ${unknown.length} change(s) the provider table cannot classify are checked in the online sign-off`,
          ]
        : []),
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

function wholeStack(head: PlanDocument): string[] {
  return [
    "## Whole stack",
    "",
    `<details><summary>Every resource of the head plan (${head.resources.length})</summary>`,
    "",
    "```mermaid",
    mermaidDiagram(head),
    "```",
    "",
    "</details>",
    "",
  ];
}

// ---------------------------------------------------------------------------------------------------------
// The whole stack (opt-in: `fullDiagram`)

/** Mermaid node ids allow letters, digits and `_`; a prefix keeps ids like `end` from being keywords. */
const nodeId = (name: string) => `n_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
const isStateful = (r: Pick<PlanResource, "type" | "protect">) => STATEFUL_TYPES.has(r.type) || r.protect;

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
  const lines = ["graph TD", `  stack(["stack ${mermaidText(plan.stack)}"])`];
  for (const r of plan.resources) {
    const id = ids.get(r)!;
    const text = `${mermaidText(r.name)}<br/><small>${mermaidText(r.type)}</small>`;
    const component = r.type.startsWith("stackport:");
    lines.push(`  ${id}${component ? `(["${text}"])` : `["${text}"]`}${isStateful(r) ? ":::stateful" : ""}`);
    lines.push(`  ${(r.parent && byName.get(r.parent)) || "stack"} --> ${id}`);
  }
  lines.push("  classDef stateful stroke-width:3px,stroke-dasharray:4 2");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// The base plan (offline mode)

/** The files `buildBasePlan` reads and links to reuse an install (node:fs by default; tests inject). */
export interface InstallFiles {
  read(path: string): Buffer | undefined;
  exists(path: string): boolean;
  symlink(target: string, path: string): void;
}

const nodeFiles: InstallFiles = {
  read: (path) => (existsSync(path) ? readFileSync(path) : undefined),
  exists: existsSync,
  symlink: (target, path) => symlinkSync(target, path, "dir"),
};

export interface BasePlanDeps {
  git: Runner;
  npm: Runner;
  node: Runner;
  repoRoot: string;
  worktreePath(): string;
  progress(line: string): void;
  /** The stack's safety context in a checkout (its stack file's environment, its policy config); undefined if unreadable. */
  safetyAt(checkout: string): SafetyContext | undefined;
  files?: InstallFiles;
}

/**
 * Whether the base can use the working tree's installed dependencies: its package-lock.json is byte-identical to
 * the working tree's and the working tree has a node_modules. `npm ci` installs exactly the lockfile, so it would
 * install the same packages again (35–50 s).
 */
function sameInstall(dir: string, deps: BasePlanDeps): boolean {
  const files = deps.files ?? nodeFiles;
  const mine = files.read(join(deps.repoRoot, "package-lock.json"));
  const theirs = files.read(join(dir, "package-lock.json"));
  return Boolean(mine && theirs && mine.equals(theirs) && files.exists(join(deps.repoRoot, "node_modules")));
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
    const steps: string[][] = [["run", "build"]];
    if (sameInstall(dir, deps)) {
      // A symlink, not a copy: `git worktree remove` unlinks it without following it (the checkout's stays).
      (deps.files ?? nodeFiles).symlink(join(deps.repoRoot, "node_modules"), join(dir, "node_modules"));
      deps.progress(
        `reusing the working tree's node_modules: ${ref} has the same package-lock.json (no npm ci)`,
      );
    } else steps.unshift(["ci", "--no-audit", "--no-fund"]);
    for (const args of steps) {
      deps.progress(`npm ${args.join(" ")} (${ref})`);
      const r = await deps.npm(args, dir);
      if (r.code !== 0)
        return { problem: `npm ${args.join(" ")} failed at ${ref}: ${r.stderr.trim().split("\n")[0]}` };
    }
    deps.progress(`synth ${stack} at ${ref}`);
    const synth = await deps.node(["bin/src/synth/cli.js", stack, "--json"], dir);
    // Exit 1 is a plan with mandatory violations: still the base to compare with.
    if (synth.code !== 0 && synth.code !== 1)
      return { problem: `synth of ${stack} at ${ref} failed: ${synth.stderr.trim().split("\n")[0]}` };
    let doc: PlanDocument;
    try {
      doc = JSON.parse(synth.stdout) as PlanDocument;
    } catch {
      return { problem: `synth of ${stack} at ${ref} failed: ${synth.stderr.trim().split("\n")[0]}` };
    }
    if (!Array.isArray(doc.resources)) return { problem: `synth at ${ref} printed no plan` };
    // A base from before plans carried their safety context: read it from the base's own files.
    return { base: { ...doc, safety: doc.safety ?? deps.safetyAt(dir) } };
  } finally {
    await deps.git(["worktree", "remove", "--force", dir], deps.repoRoot);
  }
}
