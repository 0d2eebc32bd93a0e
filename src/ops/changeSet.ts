/**
 * One model of a change for the sign-off report, from either source: the offline plans of base and head
 * (`diffPlans`), or a real preview's engine events. Each changed resource gets its operation, its old → new values
 * (secrets never shown, long values shortened) and what the provider will do with it (src/ops/providerEffects.ts):
 * online, the engine's own replace/delete decision; offline, the provider table's prediction. Pure.
 */
import type { PlanDocument } from "../synth/render";
import { changeEffect, dataOf, factsSource, type EffectKind } from "./providerEffects";
import { diffPlans, parseUrn, summarizePreview, tierOf, type EngineEvent } from "./review";

type PlanResource = PlanDocument["resources"][number];

export type Operation = "added" | "changed" | "replaced" | "removed";

/** What happens to the resource and its data, in the report's words. */
export type Outcome =
  | { kind: "create" }
  | { kind: EffectKind; because: string[]; detail: string; downtime?: string; predicted: boolean }
  /** Deleted; `data` is what goes with it, when it holds any. */
  | { kind: "delete"; data?: string; detail: string }
  /** Removed from the program but retained: it stays, unmanaged. */
  | { kind: "left-behind"; data?: string; detail: string }
  /** Removed while protected: the engine refuses, so the update fails until it is unprotected. */
  | { kind: "blocked"; detail: string };

export interface ValueChange {
  field: string;
  before: string;
  after: string;
}

export interface ResourceChange {
  op: Operation;
  type: string;
  name: string;
  tier: string;
  /** The parent's logical name, when it has one. */
  parent?: string;
  /** A `stackport:*` component: its inputs are the program's config, not something deployed. */
  component: boolean;
  /** Changed inputs (and `(protect)`-style engine fields). */
  fields: string[];
  values: ValueChange[];
  protect: boolean;
  retainOnDelete: boolean;
  outcome: Outcome;
  /** Where the outcome's facts come from (provider schema, docs), when the table was used. */
  source?: string;
  /** What deleting or replacing it loses, for a data-bearing type. */
  data?: string;
}

/** A resource the diagram can hang a change from (its parent chain). */
export interface Ancestry {
  type: string;
  name: string;
  tier: string;
  parent?: string;
}

export interface ChangeSet {
  changes: ResourceChange[];
  /** Every resource of base and head by name, for the parent chains the diagram draws. */
  resources: Map<string, Ancestry>;
}

export const isComponent = (type: string) => type.startsWith("stackport:");

// ---------------------------------------------------------------------------------------------------------
// Values

/** Keys whose values are credentials, whatever the recorder knew. */
const SECRET_KEY =
  /pass(word|wd|phrase)?$|secret|token|private.?key|credential|api.?key|connection(string)?$/i;
/** `KEY=value` environment entries with a credential-looking key. */
const SECRET_ENV =
  /^([A-Za-z0-9_]*(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIALS?)[A-Za-z0-9_]*)=/i;
const MASK = "[secret]";
const MAX = 60;

/** The value with every secret replaced by `[secret]`. */
export function redact(value: unknown, key = ""): unknown {
  if (key && SECRET_KEY.test(key) && value !== undefined && value !== null && value !== "") return MASK;
  if (typeof value === "string") {
    const env = SECRET_ENV.exec(value);
    return env ? `${env[1]}=${MASK}` : value;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

const shorten = (s: string, max = MAX) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
const compact = (v: unknown): string =>
  v === undefined
    ? "unset"
    : shorten(typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? "unset"));
const isObject = (v: unknown): v is Record<string, unknown> =>
  Boolean(v) && typeof v === "object" && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * One input's old → new, readable in a line: scalars as they are; objects and lists as what was added, removed and
 * changed in them (`+export, −nightly, ~api`), never their whole JSON; long strings by length.
 */
export function describeValue(field: string, before: unknown, after: unknown): ValueChange {
  const b = redact(before, field);
  const a = redact(after, field);
  if (b === MASK || a === MASK) return { field, before: MASK, after: MASK };
  if (isObject(b) && isObject(a)) {
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
    const parts = keys.flatMap((k) =>
      !(k in b) ? [`+${k}`] : !(k in a) ? [`−${k}`] : same(b[k], a[k]) ? [] : [`~${k}`],
    );
    return { field, before: `${Object.keys(b).length} keys`, after: listed(parts) };
  }
  if (Array.isArray(b) && Array.isArray(a) && [...b, ...a].every((x) => typeof x !== "object")) {
    const added = a.filter((x) => !b.some((y) => same(x, y))).map((x) => `+${compact(x)}`);
    const removed = b.filter((x) => !a.some((y) => same(x, y))).map((x) => `−${compact(x)}`);
    if (added.length + removed.length)
      return { field, before: `${b.length} items`, after: listed([...added, ...removed]) };
  }
  if (typeof b === "string" && typeof a === "string" && Math.max(a.length, b.length) > MAX)
    return { field, before: `${b.length} chars`, after: `${a.length} chars` };
  return { field, before: compact(b), after: compact(a) };
}

const listed = (parts: string[], max = 6) =>
  parts.length > max ? `${parts.slice(0, max).join(", ")}, … ${parts.length - max} more` : parts.join(", ");

function values(before: PlanResource | undefined, after: PlanResource | undefined, fields: string[]) {
  return fields.map((f) => {
    const m = /^\((\w+)\)$/.exec(f);
    const get = (r: PlanResource | undefined) =>
      m ? (r as Record<string, unknown> | undefined)?.[m[1]!] : r?.inputs?.[f];
    return describeValue(f, get(before), get(after));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Outcomes

function removal(type: string, protect: boolean, retainOnDelete: boolean): Outcome {
  const data = dataOf(type);
  if (protect)
    return {
      kind: "blocked",
      detail:
        "protected: the engine refuses to delete it and the update fails; unprotect it first (`pulumi state unprotect`)" +
        (retainOnDelete ? ", then it is left behind, unmanaged" : ", then it is deleted"),
    };
  if (retainOnDelete)
    return {
      kind: "left-behind",
      data,
      detail: `left behind, unmanaged${data ? `, with ${data}` : ""}: it stays in the account, nothing manages or cleans it any more`,
    };
  return { kind: "delete", data, detail: data ? `deleted, with ${data}` : "deleted" };
}

function predicted(type: string, fields: string[], inputs: Record<string, unknown>): Outcome {
  const e = changeEffect(type, fields, inputs);
  return { ...e, predicted: true };
}

// ---------------------------------------------------------------------------------------------------------
// Offline: two plans

export function offlineChanges(base: PlanDocument | undefined, head: PlanDocument): ChangeSet {
  const diff = diffPlans(base, head);
  const before = new Map((base?.resources ?? []).map((r) => [`${r.type}::${r.name}`, r]));
  const change = (r: PlanResource, op: Operation, rest: Partial<ResourceChange>): ResourceChange => ({
    op,
    type: r.type,
    name: r.name,
    tier: tierOf(r),
    parent: r.parent ?? undefined,
    component: isComponent(r.type),
    fields: [],
    values: [],
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    outcome: { kind: "create" },
    source: factsSource(r.type),
    data: dataOf(r.type),
    ...rest,
  });
  const changes = [
    ...diff.removed.map((r) =>
      change(r, "removed", { outcome: removal(r.type, r.protect, r.retainOnDelete) }),
    ),
    ...diff.added.map((r) => change(r, "added", {})),
    ...diff.changed.map(({ resource: r, fields }) => {
      const old = before.get(`${r.type}::${r.name}`);
      const outcome = predicted(r.type, fields, r.inputs ?? {});
      return change(r, outcome.kind === "replace" ? "replaced" : "changed", {
        fields,
        values: values(old, r, fields),
        protect: old?.protect ?? r.protect,
        retainOnDelete: old?.retainOnDelete ?? r.retainOnDelete,
        outcome,
      });
    }),
  ];
  return { changes, resources: ancestry([...(base?.resources ?? []), ...head.resources]) };
}

function ancestry(resources: PlanResource[]): Map<string, Ancestry> {
  const map = new Map<string, Ancestry>();
  for (const r of resources)
    map.set(r.name, { type: r.type, name: r.name, tier: tierOf(r), parent: r.parent ?? undefined });
  return map;
}

// ---------------------------------------------------------------------------------------------------------
// Online: a real preview's steps

const OPS: Record<string, Operation> = {
  create: "added",
  // Adopted into the stack: it exists already and is not created.
  import: "added",
  update: "changed",
  replace: "replaced",
  delete: "removed",
  // Forgotten by the stack's state (pulumi/pulumi `step.go` DiscardStep): the resource itself stays.
  discard: "removed",
};

export function onlineChanges(events: EngineEvent[], head: PlanDocument): ChangeSet {
  const preview = summarizePreview(events);
  // The steps' own states: old and new inputs, the parent and the protections the engine acts on.
  const steps = new Map<string, { old?: StepState; new?: StepState; urn: string }>();
  for (const e of events) {
    const s = e.resourcePreEvent?.metadata;
    if (!s || s.op === "same") continue;
    const seen = steps.get(`${s.type}::${parseUrn(s.urn).name}`);
    steps.set(`${s.type}::${parseUrn(s.urn).name}`, {
      urn: s.urn,
      old: seen?.old ?? (s.old as StepState | undefined) ?? undefined,
      new: (s.new as StepState | undefined) ?? seen?.new,
    });
  }
  const resources = ancestry(head.resources);
  const changes = preview.changes.flatMap((ch): ResourceChange[] => {
    const op = OPS[ch.op];
    if (!op) return [];
    const step = steps.get(`${ch.type}::${ch.name}`);
    const parentUrn = step?.new?.parent ?? step?.old?.parent;
    // The step's parent; else the head plan's (the same program), for steps recorded without one.
    const parent =
      parentUrn && !parentUrn.includes("::pulumi:pulumi:Stack::")
        ? parseUrn(parentUrn).name
        : parentUrn
          ? undefined
          : resources.get(ch.name)?.parent;
    if (!resources.has(ch.name))
      resources.set(ch.name, { type: ch.type, name: ch.name, tier: ch.tier, parent });
    const protect = step?.old?.protect ?? step?.new?.protect ?? false;
    const retainOnDelete = step?.old?.retainOnDelete ?? step?.new?.retainOnDelete ?? false;
    const oldInputs = step?.old?.inputs ?? {};
    const newInputs = step?.new?.inputs ?? {};
    const fields =
      ch.op === "replace" && ch.replaceKeys.length
        ? [...new Set([...ch.diffs, ...ch.replaceKeys])]
        : ch.diffs;
    let outcome: Outcome;
    if (op === "added") outcome = { kind: "create" };
    else if (ch.op === "discard")
      outcome = {
        kind: "left-behind",
        data: dataOf(ch.type),
        detail: "discarded: the stack forgets it, nothing is deleted; it stays, unmanaged",
      };
    else if (op === "removed") outcome = removal(ch.type, protect, retainOnDelete);
    else if (op === "replaced")
      outcome = {
        kind: "replace",
        because: ch.replaceKeys,
        detail: "the provider replaces it (real preview)",
        predicted: false,
      };
    else {
      // The engine said update: in place. The table only adds whether what runs restarts.
      const e = changeEffect(ch.type, fields, newInputs);
      outcome =
        e.kind === "restart"
          ? { ...e, predicted: false }
          : { kind: "in-place", because: fields, detail: "in place (real preview)", predicted: false };
    }
    return [
      {
        op,
        type: ch.type,
        name: ch.name,
        tier: ch.tier,
        parent,
        component: isComponent(ch.type),
        fields,
        values: fields.map((f) => describeValue(f, oldInputs[f], newInputs[f])),
        protect,
        retainOnDelete,
        outcome,
        source: factsSource(ch.type),
        data: dataOf(ch.type),
      },
    ];
  });
  return { changes, resources };
}

interface StepState {
  inputs?: Record<string, unknown>;
  parent?: string;
  protect?: boolean;
  retainOnDelete?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Classification for the report

/** The data this change deletes or replaces (a data-bearing or protected resource), for "Data at risk". */
export function losesData(c: ResourceChange): boolean {
  if (c.component) return false;
  const stateful = Boolean(c.data) || c.protect;
  if (c.outcome.kind === "delete") return stateful;
  return (
    stateful &&
    (c.outcome.kind === "replace" || c.outcome.kind === "may-replace" || c.outcome.kind === "unknown")
  );
}

/** Stops or restarts something running: a restart, or the replacement of something that runs. */
export function downtimeOf(c: ResourceChange): string | undefined {
  if (c.component) return undefined;
  const o = c.outcome;
  if (o.kind === "restart") return o.downtime;
  if (o.kind === "replace" && c.type === "docker:index/container:Container")
    return "the container is down between its removal and its replacement";
  return undefined;
}
