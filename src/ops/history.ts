/**
 * `stackport history`: a stack's updates as a table. Pure: history entries in, rows and text out.
 *
 * On the file (DIY) backend every entry has `version: 0` (pulumi/pulumi `pkg/backend/diy/store.go`: the file backend's history files carry no update version), so an entry is
 * identified by its start time there; on Pulumi Cloud by its version. The `ref` column is exactly what
 * `stackport rollback --to` accepts. Config values are never shown: the history is fetched without secrets, and
 * a table is no place for configuration anyway.
 */
import {
  deployedPhaseProblems,
  recordedCutovers,
  type RecordedConfigValue,
  type TierCutover,
} from "../config/phases";

/** The fields of an Automation API `UpdateSummary` (or the CLI's JSON) that the table uses. */
export interface HistoryEntry {
  version: number;
  kind: string;
  startTime: Date | string;
  message: string;
  environment: Record<string, string>;
  result: string;
  resourceChanges?: Record<string, number>;
  /** The configuration the update ran with (secrets without values: the history is read without them). */
  config?: Record<string, RecordedConfigValue>;
}

export interface HistoryRow {
  /** What `rollback --to` takes: the version, or the ISO start time when the backend records no versions. */
  ref: string;
  started: string;
  kind: string;
  result: string;
  /** Short git commit, or "-" when the update recorded none. */
  commit: string;
  /** "yes" / "no", or "?" when the update did not record it. */
  dirty: string;
  message: string;
  changes: string;
}

/** The order a reviewer reads changes in: what is destroyed first. */
const CHANGE_ORDER = ["delete", "replace", "create", "update", "same"];

export const isoTime = (t: Date | string): string => (t instanceof Date ? t : new Date(t)).toISOString();

/** The reference `rollback --to` understands for this entry. */
export const entryRef = (e: HistoryEntry): string =>
  e.version > 0 ? String(e.version) : isoTime(e.startTime);

export function formatChanges(changes: Record<string, number> | undefined): string {
  if (!changes) return "-";
  const ops = Object.keys(changes)
    .filter((op) => changes[op]! > 0)
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return ops.length ? ops.map((op) => `${op} ${changes[op]}`).join(", ") : "-";
}

const rank = (op: string) => {
  const i = CHANGE_ORDER.indexOf(op);
  return i < 0 ? CHANGE_ORDER.length : i;
};

const dirtyFlag = (value: string | undefined) => (value === "true" ? "yes" : value === "false" ? "no" : "?");

export function historyRows(entries: HistoryEntry[]): HistoryRow[] {
  return entries.map((e) => ({
    ref: entryRef(e),
    started: isoTime(e.startTime),
    kind: e.kind,
    result: e.result,
    commit: e.environment["git.head"]?.slice(0, 7) ?? "-",
    dirty: dirtyFlag(e.environment["git.dirty"]),
    message: e.message.split(/\r?\n/)[0]!.trim() || "-",
    changes: formatChanges(e.resourceChanges),
  }));
}

const COLUMNS: [keyof HistoryRow, string][] = [
  ["ref", "ref (--to)"],
  ["started", "started (UTC)"],
  ["kind", "kind"],
  ["result", "result"],
  ["commit", "commit"],
  ["dirty", "dirty"],
  ["changes", "changes"],
  ["message", "message"],
];

/** Columns padded for a terminal; the started column is dropped when it repeats the ref (file backend). */
export function renderHistoryText(rows: HistoryRow[]): string {
  if (rows.length === 0) return "no updates recorded for this stack";
  const columns = COLUMNS.filter(([key]) => key !== "started" || rows.some((r) => r.ref !== r.started));
  const widths = columns.map(([key, title]) => Math.max(title.length, ...rows.map((r) => r[key].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [
    line(columns.map(([, title]) => title)),
    ...rows.map((r) => line(columns.map(([key]) => r[key]))),
  ].join("\n");
}

export const markdownCell = (s: string) => s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");

export function renderHistoryMarkdown(rows: HistoryRow[]): string {
  if (rows.length === 0) return "_No updates recorded for this stack._";
  return [
    `| ${COLUMNS.map(([, title]) => title).join(" | ")} |`,
    `| ${COLUMNS.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${COLUMNS.map(([key]) => markdownCell(r[key])).join(" | ")} |`),
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Cutover phase order, online

/** How many history entries the online phase check searches for the last successful update. */
export const PHASE_HISTORY_DEPTH = 100;

/**
 * The online cutover phase check (src/config/phases.ts): the cutovers `next` deploys against those the stack's
 * newest successful update recorded in its config — what its resources are now; a refresh or a failed update
 * deployed no phase. Refusals name both phases and the runbook; empty when the order holds.
 */
export function phaseOrderProblems(
  history: HistoryEntry[],
  project: string,
  next: readonly (TierCutover & { runbook?: string })[] | undefined,
): string[] {
  const last = history.find((e) => e.kind === "update" && e.result === "succeeded");
  const what = last
    ? `its last successful update, ${entryRef(last)}, commit ${last.environment["git.head"]?.slice(0, 7) ?? "-"}`
    : "no successful update in its history";
  const deployed = last ? recordedCutovers(last.config, project) : [];
  if (typeof deployed === "string")
    return [`cannot check the cutover phase order against ${what}: ${deployed}`];
  return deployedPhaseProblems({ what, cutovers: deployed }, next);
}
