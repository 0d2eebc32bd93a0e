/**
 * PR review: turns a real `pulumi preview`'s streamed engine events (NDJSON, `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true
 * pulumi preview --json`; pulumi/pulumi `sdk/go/common/apitype/events.go`) and the offline plans of base and head (`npm run synth -- <stack>
 * --json`) into one Markdown comment: changes grouped by tier, a policy violations table, and the offline plan
 * diff. Pure functions; scripts/pr-comment.ts does the file I/O and the exit code.
 */
import { PLACED_TIERS } from "../config/checks";
import type { PlanDocument, Violation } from "../synth/render";
import { safetyDowngrades, type SafetyDowngrade, type SafetyResource, type SafetyView } from "./safety";

// ---------------------------------------------------------------------------------------------------------
// Engine events (apitype.EngineEvent; only the fields we read)

/** A resource's state before or after a step (apitype.StepEventStateMetadata; only the fields we read). */
export interface StepState {
  inputs?: Record<string, unknown>;
  parent?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
}

export interface StepMetadata {
  op: string;
  urn: string;
  type: string;
  old?: StepState | null;
  new?: StepState | null;
  diffs?: string[];
  /** The keys forcing a replacement (`replace` and its companion steps). */
  keys?: string[];
  /** Set on the step the program asked for (`replace`), not on the engine's companion steps. */
  logical?: boolean;
  detailedDiff?: Record<string, { kind?: string; diffKind?: string; inputDiff?: boolean }> | null;
  provider?: string;
}

export interface EngineEvent {
  sequence?: number;
  timestamp?: number;
  resourcePreEvent?: { metadata: StepMetadata; planning?: boolean };
  policyEvent?: {
    resourceUrn?: string;
    message: string;
    policyName: string;
    policyPackName: string;
    policyPackVersion?: string;
    enforcementLevel: string;
    severity?: string;
  };
  diagnosticEvent?: { urn?: string; message: string; severity: string; ephemeral?: boolean };
  summaryEvent?: {
    resourceChanges?: Record<string, number>;
    result?: string;
    durationSeconds?: number;
    /** Pack → version; PascalCase in the engine's JSON. A local pack's key is `name|local|path`. */
    PolicyPacks?: Record<string, string>;
  };
  errorEvent?: { error?: string };
  [other: string]: unknown;
}

/**
 * Parses NDJSON engine events. A line that does not start with `{` is CLI chatter on stdout (pulumi/pulumi#19775)
 * and is skipped; a line that starts with `{` but is not one JSON object is `broken` (a truncated stream, or the
 * pretty-printed single document `pulumi preview --json` prints without streaming).
 */
export function parseEngineEvents(ndjson: string): {
  events: EngineEvent[];
  skipped: number;
  broken: number;
} {
  const events: EngineEvent[] = [];
  let skipped = 0;
  let broken = 0;
  for (const line of ndjson.split(/\r?\n/)) {
    const t = line.trim();
    if (!t) continue;
    if (!t.startsWith("{")) {
      skipped++;
      continue;
    }
    try {
      events.push(JSON.parse(t) as EngineEvent);
    } catch {
      broken++;
    }
  }
  return { events, skipped, broken };
}

/** How to get events this module can read, for the messages below. */
export const STREAMING_HINT =
  "run the preview as `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi preview --json` (one engine event per line)";

/**
 * Why a parsed preview stream cannot be trusted, or undefined when it can: without the engine's closing
 * `summaryEvent` the preview did not finish (or was not streamed), and every policy event may be missing.
 */
export function previewStreamProblem(parsed: { events: EngineEvent[]; broken: number }): string | undefined {
  if (parsed.broken > 0)
    return `${parsed.broken} line(s) of the preview output are not engine events; ${STREAMING_HINT}`;
  if (!parsed.events.some((e) => e.summaryEvent))
    return `the preview output has no summaryEvent, so it did not finish or was not streamed; ${STREAMING_HINT}`;
  return undefined;
}

/** `urn:pulumi:<stack>::<project>::<parent$…$type>::<name>` → its type and name. */
export function parseUrn(urn: string): { type: string; name: string } {
  const parts = urn.split("::");
  const name = parts.slice(3).join("::") || urn;
  const qualified = parts[2] ?? "";
  return { type: qualified.split("$").pop() ?? qualified, name };
}

/** Tier order in reports: the placed tiers, as the config declares them. */
export const TIERS = PLACED_TIERS;
const COMPONENT_TIERS: Record<string, string> = {
  ObjectStorage: "storage",
  Storage: "storage",
  Database: "database",
  Proxy: "proxy",
  Target: "target",
};

function labelTier(inputs: Record<string, unknown> | undefined): string | undefined {
  if (!inputs) return undefined;
  const labels = inputs["labels"];
  if (Array.isArray(labels)) {
    const l = labels.find((x) => x && (x as { label?: string }).label === "stackport.tier") as
      { value?: string } | undefined;
    if (l?.value) return l.value;
  }
  const tags = inputs["tags"];
  if (
    tags &&
    typeof tags === "object" &&
    typeof (tags as Record<string, unknown>)["stackport.tier"] === "string"
  ) {
    return (tags as Record<string, string>)["stackport.tier"];
  }
  return undefined;
}

/** A resource's tier: its `stackport.tier` label/tag, else its component type, else its name's first segment. */
export function tierOf(r: { type: string; name: string; inputs?: Record<string, unknown> }): string {
  const labelled = labelTier(r.inputs);
  if (labelled) return labelled;
  const m = /^stackport:[^:]+:(\w+)$/.exec(r.type);
  if (m && COMPONENT_TIERS[m[1]!]) return COMPONENT_TIERS[m[1]!]!;
  const first = r.name.split("-")[0]!;
  if ((TIERS as readonly string[]).includes(first)) return first;
  if (r.type.startsWith("pulumi:providers:") || r.type === "stackport:docker:Target") return "target";
  return "other";
}

export interface PreviewChange {
  op: string;
  type: string;
  name: string;
  tier: string;
  diffs: string[];
  /** For a replacement: the keys that force it. */
  replaceKeys: string[];
}

/** What changed in a resource, for a change line: ` — `a`, `b`; replaced because of `a`` (empty for none). */
export function changeDetail(c: PreviewChange, code: (s: string) => string): string {
  const parts = [
    ...(c.diffs.length ? [c.diffs.map(code).join(", ")] : []),
    ...(c.op === "replace" && c.replaceKeys.length
      ? [`replaced because of ${c.replaceKeys.map(code).join(", ")}`]
      : []),
  ];
  return parts.length ? ` — ${parts.join("; ")}` : "";
}

export interface PolicyFinding {
  policy: string;
  pack: string;
  enforcementLevel: string;
  severity: string;
  type: string;
  name: string;
  message: string;
}

export interface PreviewResult {
  changes: PreviewChange[];
  /**
   * What is deployed and what the update leaves, from the steps' old and new states (apitype.StepEventStateMetadata)
   * of every resource with a step other than `same`. The stack's environment and policy config are not in the
   * events, so only resources are compared from a preview.
   */
  sides: { base: SafetyView; head: SafetyView };
  violations: PolicyFinding[];
  errors: string[];
  summary?: Record<string, number>;
  result?: string;
  /** The policy packs the engine ran (the summaryEvent's), by name; `path` for a local pack. */
  policyPacks: PolicyPackRun[];
}

export interface PolicyPackRun {
  name: string;
  version: string;
  path?: string;
}

/**
 * The summaryEvent's `PolicyPacks` keys as packs: the engine keys a local pack `name|local|path` (pulumi/pulumi
 * `pkg/engine/update.go`, `LocalPolicyPack.NameForEvents`; split back by `GetLocalPolicyPackInfoFromEventName`),
 * a pack the service enforces by its name.
 */
export function policyPackRuns(packs: Record<string, string> | undefined): PolicyPackRun[] {
  return Object.entries(packs ?? {}).map(([key, version]) => {
    const parts = key.split("|");
    return parts.length === 3 && parts[1] === "local"
      ? { name: parts[0]!, version, path: parts[2]! }
      : { name: key, version };
  });
}

/** Normalises a CLI enforcement level (older CLIs and the Node types say "warning" for advisory). */
const level = (l: string) => (l === "warning" ? "advisory" : l);

/**
 * The steps the engine emits around a logical `replace` (pulumi/pulumi `pkg/resource/deploy/step.go`,
 * `IsReplacementStep`): a replacement previews as `create-replacement`, `replace` and `delete-replaced` (or
 * `delete-replaced` first, when deleting before replacing), all one change.
 */
const REPLACEMENT_COMPANIONS = new Set([
  "create-replacement",
  "delete-replaced",
  "read-replacement",
  "discard-replaced",
  "remove-pending-replace",
  "import-replacement",
]);

/** A `read` only reads an existing resource into the state (`Resource.get`): nothing is changed, so it is no change. */
const READ_ONLY = new Set(["read"]);

export function summarizePreview(events: EngineEvent[]): PreviewResult {
  // One change per resource: its logical step, a companion step only standing in for a `replace` never seen.
  const byUrn = new Map<string, PreviewChange>();
  const deployed = new Map<string, SafetyResource>();
  const planned = new Map<string, SafetyResource>();
  const violations: PolicyFinding[] = [];
  const errors: string[] = [];
  let summary: Record<string, number> | undefined;
  let result: string | undefined;
  let policyPacks: PolicyPackRun[] = [];
  for (const e of events) {
    const step = e.resourcePreEvent?.metadata;
    if (step && step.op !== "same" && step.type !== "pulumi:pulumi:Stack") {
      const state = (s: StepState): SafetyResource => ({
        type: step.type,
        name: parseUrn(step.urn).name,
        inputs: s.inputs ?? {},
        protect: s.protect,
        retainOnDelete: s.retainOnDelete,
      });
      if (step.old && !deployed.has(step.urn)) deployed.set(step.urn, state(step.old));
      if (step.new) planned.set(step.urn, state(step.new));
      const companion = REPLACEMENT_COMPANIONS.has(step.op);
      const seen = byUrn.get(step.urn);
      if (!READ_ONLY.has(step.op) && (!seen || !companion)) {
        const { name } = parseUrn(step.urn);
        const inputs = step.new?.inputs ?? step.old?.inputs;
        byUrn.set(step.urn, {
          op: companion ? "replace" : step.op,
          type: step.type,
          name,
          tier: tierOf({ type: step.type, name, inputs }),
          diffs: step.diffs ?? seen?.diffs ?? [],
          replaceKeys: step.keys ?? seen?.replaceKeys ?? [],
        });
      }
    }
    const p = e.policyEvent;
    if (p) {
      const { type, name } = p.resourceUrn ? parseUrn(p.resourceUrn) : { type: "(stack)", name: "(stack)" };
      violations.push({
        policy: p.policyName,
        pack: p.policyPackName,
        enforcementLevel: level(p.enforcementLevel),
        severity: p.severity ?? "",
        type,
        name,
        // The engine prefixes the policy description and a newline (@pulumi/policy's analyzer server.ts): keep the rule's own message.
        message: p.message.split("\n").filter(Boolean).pop() ?? p.message,
      });
    }
    const d = e.diagnosticEvent;
    if (d && d.severity === "error" && !d.ephemeral) errors.push(d.message.trim());
    if (e.errorEvent?.error) errors.push(e.errorEvent.error.trim());
    if (e.summaryEvent) {
      summary = e.summaryEvent.resourceChanges;
      result = e.summaryEvent.result;
      policyPacks = policyPackRuns(e.summaryEvent.PolicyPacks);
    }
  }
  return {
    changes: [...byUrn.values()],
    sides: { base: { resources: [...deployed.values()] }, head: { resources: [...planned.values()] } },
    violations,
    errors,
    summary,
    result,
    policyPacks,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Offline plan diff

type PlanResource = PlanDocument["resources"][number];

export interface PlanDiff {
  added: PlanResource[];
  removed: PlanResource[];
  changed: { resource: PlanResource; fields: string[] }[];
}

const key = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

/** Resources added, removed or changed (inputs, protect, retainOnDelete, parent, provider) between two plans. */
export function diffPlans(
  base: Pick<PlanDocument, "resources"> | undefined,
  head: Pick<PlanDocument, "resources">,
): PlanDiff {
  const before = new Map((base?.resources ?? []).map((r) => [key(r), r]));
  const after = new Map(head.resources.map((r) => [key(r), r]));
  const diff: PlanDiff = { added: [], removed: [], changed: [] };
  for (const [k, r] of after) {
    const old = before.get(k);
    if (!old) {
      diff.added.push(r);
      continue;
    }
    const fields: string[] = [];
    const inputKeys = new Set([...Object.keys(old.inputs ?? {}), ...Object.keys(r.inputs ?? {})]);
    for (const f of [...inputKeys].sort()) {
      if (stable(old.inputs?.[f]) !== stable(r.inputs?.[f])) fields.push(f);
    }
    for (const f of ["protect", "retainOnDelete", "parent", "provider"] as const) {
      if (stable(old[f]) !== stable(r[f])) fields.push(`(${f})`);
    }
    if (fields.length) diff.changed.push({ resource: r, fields });
  }
  for (const [k, r] of before) if (!after.has(k)) diff.removed.push(r);
  return diff;
}

// ---------------------------------------------------------------------------------------------------------
// Markdown

/** Downgrades seen by the real preview (deployed → planned) and by the offline plans (base → head), once each. */
function reviewDowngrades({ preview, base, head }: ReviewInput): SafetyDowngrade[] {
  const found: SafetyDowngrade[] = [];
  if (preview) found.push(...safetyDowngrades(preview.sides.base, preview.sides.head));
  if (head && base) {
    found.push(
      ...safetyDowngrades(
        { resources: base.resources, context: base.safety },
        { resources: head.resources, context: head.safety },
      ),
    );
  }
  const seen = new Set<string>();
  return found.filter((d) => {
    const k = `${d.subject}\u0000${d.change}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

export const commentMarker = (stack: string) => `<!-- stackport-preview:${stack} -->`;

const md = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
const code = (s: string) => "`" + s.replace(/`/g, "'") + "`";

export interface ReviewInput {
  stack: string;
  /** The real preview's events; undefined when it did not run. */
  preview?: PreviewResult;
  /** Exit code of `pulumi preview`, when it ran. */
  previewExitCode?: number;
  head?: PlanDocument;
  base?: PlanDocument;
  /**
   * Stateful or protected resources the preview deletes or replaces, each once (`dataAtRisk` and `riskSubject`
   * of src/ops/rollback.ts, run on the same events by scripts/pr-comment.ts).
   */
  dataAtRisk?: { op: string; subject: string }[];
  /** The preview ran against throwaway empty state: every resource is a create, so no data can show at risk. */
  throwawayState?: boolean;
}

export interface Review {
  markdown: string;
  /** Mandatory violations from either source, or a failed preview/synth: the job must fail. */
  failed: boolean;
  reasons: string[];
}

function groupByTier<T extends { tier: string }>(items: T[]): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const i of items) groups.set(i.tier, [...(groups.get(i.tier) ?? []), i]);
  const order = (t: string) => {
    const i = [...TIERS, "target", "other"].indexOf(t);
    return i < 0 ? 99 : i;
  };
  return [...groups.entries()].sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
}

export function renderReview(input: ReviewInput): Review {
  const { stack, preview, head, base } = input;
  const reasons: string[] = [];
  const lines = [commentMarker(stack), `### stackport preview: \`${stack}\``, ""];

  // Violations: the real preview's policy events and the offline synth's, one table.
  const rows: (PolicyFinding & { source: string })[] = [
    ...(preview?.violations ?? []).map((v) => ({ ...v, source: "preview" })),
    ...(head?.violations ?? []).map((v: Violation) => ({ ...v, pack: "stackport", source: "synth" })),
  ];
  const mandatory = rows.filter((r) => r.enforcementLevel === "mandatory");
  if (mandatory.length) reasons.push(`${mandatory.length} mandatory policy violation(s)`);

  if (!head) reasons.push("the offline synth of the head produced no plan");
  if (
    input.previewExitCode !== undefined &&
    input.previewExitCode !== 0 &&
    preview &&
    !preview.violations.some((v) => v.enforcementLevel === "mandatory")
  ) {
    reasons.push(`pulumi preview exited ${input.previewExitCode}`);
  }
  if (preview?.errors.length) reasons.push(`${preview.errors.length} preview error(s)`);

  const downgrades = reviewDowngrades(input);
  const atRisk = (preview && input.dataAtRisk) || [];
  lines.push(
    (reasons.length
      ? `**Result: blocked** (${reasons.join("; ")})`
      : "**Result: ok** (no mandatory violation)") +
      (downgrades.length ? `; **${downgrades.length} safety downgrade(s)** to approve (below)` : "") +
      (atRisk.length ? `; **${atRisk.length} resource(s) with data at risk** (below)` : "") +
      (preview && input.throwawayState ? "; previewed against **throwaway state**" : ""),
    "",
  );
  for (const cut of head?.cutovers ?? []) {
    lines.push(
      `**Cutover** ${cut.tier} \`${cut.from}\` → \`${cut.to}\`, phase \`${cut.phase}\`: ${md(cut.actions.join("; "))}. Sign off with the phase's checklist in [the runbook](${cut.runbook}#${cut.phase}).`,
      "",
    );
  }

  lines.push("#### Safety downgrades", "");
  if (downgrades.length === 0) {
    lines.push("None: no protection is switched off.", "");
  } else {
    lines.push(...downgrades.map((d) => `- :warning: ${code(d.subject)}: ${md(d.change)}`), "");
  }

  lines.push("#### Data at risk", "");
  if (!preview) {
    lines.push("_The real preview did not run for this stack._", "");
  } else if (input.throwawayState) {
    lines.push(
      ":warning: _Previewed against throwaway empty state (no state backend is set up): every resource shows as a create, so no deletion or replacement can show here. Set up the state backend (docs/runbooks/signoff.md)._",
      "",
    );
  } else if (atRisk.length === 0) {
    lines.push("None: the preview deletes or replaces no stateful or protected resource.", "");
  } else {
    lines.push(...atRisk.map((r) => `- :warning: **${r.op}** ${code(r.subject)}`), "");
  }

  lines.push("#### Policy violations", "");
  if (rows.length === 0) {
    lines.push("None.", "");
  } else {
    lines.push(
      "| level | severity | policy | resource | message | from |",
      "| --- | --- | --- | --- | --- | --- |",
    );
    const rank = (l: string) => (l === "mandatory" ? 0 : 1);
    for (const r of [...rows].sort(
      (a, b) => rank(a.enforcementLevel) - rank(b.enforcementLevel) || a.policy.localeCompare(b.policy),
    )) {
      lines.push(
        `| ${r.enforcementLevel === "mandatory" ? "**mandatory**" : r.enforcementLevel} | ${r.severity || "-"} | ${code(r.policy)} | ${code(r.name)} (${md(r.type)}) | ${md(r.message)} | ${r.source} |`,
      );
    }
    lines.push("");
  }

  lines.push("#### Changes (pulumi preview), by tier", "");
  if (!preview) {
    lines.push("_The real preview did not run for this stack._", "");
  } else {
    if (preview.errors.length) {
      lines.push("Preview errors:", "", ...preview.errors.map((e) => `- ${md(e)}`), "");
    }
    if (preview.changes.length === 0) lines.push("No changes.", "");
    for (const [tier, changes] of groupByTier(preview.changes)) {
      lines.push(`<details open><summary><b>${tier}</b> (${changes.length})</summary>`, "");
      for (const c of changes) lines.push(`- ${c.op} ${code(c.name)} ${md(c.type)}${changeDetail(c, code)}`);
      lines.push("", "</details>", "");
    }
    if (preview.summary) {
      lines.push(
        `Summary: ${Object.entries(preview.summary)
          .map(([op, n]) => `${op} ${n}`)
          .join(", ")}`,
        "",
      );
    }
  }

  lines.push("#### Offline plan diff (base → head)", "");
  if (!head) {
    lines.push("_No head plan._", "");
  } else {
    if (!base)
      lines.push(
        "_No base plan (the base did not synthesize this stack): every resource shows as added._",
        "",
      );
    const diff = diffPlans(base, head);
    const tiered = [
      ...diff.added.map((r) => ({ tier: tierOf(r), line: `- added ${code(r.name)} ${md(r.type)}` })),
      ...diff.removed.map((r) => ({ tier: tierOf(r), line: `- removed ${code(r.name)} ${md(r.type)}` })),
      ...diff.changed.map((c) => ({
        tier: tierOf(c.resource),
        line: `- changed ${code(c.resource.name)} ${md(c.resource.type)}: ${c.fields.map(code).join(", ")}`,
      })),
    ];
    if (tiered.length === 0) lines.push("No differences.", "");
    for (const [tier, items] of groupByTier(tiered))
      lines.push(`**${tier}**`, "", ...items.map((i) => i.line), "");
    lines.push(
      `${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed; head has ${head.resources.length} resources.`,
      "",
    );
  }
  return { markdown: lines.join("\n"), failed: reasons.length > 0, reasons };
}
