/**
 * A Mermaid picture of a change, not of the stack: only the resources that change, and the resources they hang from
 * (their parent chain, drawn grey), grouped by tier, each marked by operation in its label and its colour. Removed
 * resources are drawn too. It stays readable at page width for a production-size change:
 * - many siblings with the same operation (a new service's dozen children) fold into one node that counts them;
 * - each tier shows at most `MAX_PER_TIER` nodes, the rest as one "… and N more" node;
 * - past `SPLIT_AT` nodes, one diagram per tier instead of one for all.
 * Pure; tests parse the output with the real Mermaid library.
 */
import type { Ancestry, Operation, ResourceChange } from "./changeSet";
import { TIERS } from "./review";

export const MAX_PER_TIER = 12;
export const SPLIT_AT = 30;
/** More siblings than this with one parent and operation fold into one node. */
const FOLD_OVER = 3;

type Kind = Operation | "context" | "more";

interface Node {
  id: string;
  tier: string;
  kind: Kind;
  label: string[];
  shape: "box" | "component" | "data" | "group";
  parent?: string;
  /** Priority when a tier is capped: lower stays. */
  rank: number;
}

export const OPERATION_CLASSES: Record<Kind, string> = {
  added: "fill:#dafbe1,stroke:#1a7f37,color:#0f5323",
  changed: "fill:#fff8c5,stroke:#9a6700,color:#4d2d00",
  replaced: "fill:#ffe2cc,stroke:#bc4c00,stroke-width:3px,color:#762c00",
  removed: "fill:#ffebe9,stroke:#cf222e,stroke-dasharray:6 3,color:#82071e",
  context: "fill:#f6f8fa,stroke:#8c959f,color:#57606a",
  more: "fill:#ffffff,stroke:#8c959f,stroke-dasharray:2 2,color:#57606a",
};

/** The Markdown legend printed under the diagram(s). */
export const LEGEND =
  "Legend: green **added**, amber **changed** (in place), orange thick border **replaced**, red dashed **removed** " +
  "(still drawn), grey: unchanged, shown because changed resources hang from it. Rounded: a stackport component; " +
  "cylinder: holds data (volume, bucket, database, log group, secret, snapshot); double-bordered: several " +
  "siblings with one operation. Each label also names its operation.";

/**
 * Mermaid text in a quoted label: `"` ends it and `#`, `<`, `>`, `&` and backticks are markup, so each is written as
 * Mermaid's `#code;` entity (which the renderer turns back into the character).
 */
export const mermaidText = (s: string) => s.replace(/[#"<>&`]/g, (ch) => `#${ch.charCodeAt(0)};`);

/** `aws:rds/instance:Instance` → `rds Instance`; `docker:index/volume:Volume` → `Volume`; components → `component Database`. */
export function shortType(type: string): string {
  const [pkg, module = "", cls = type] = type.split(":");
  if (pkg === "stackport") return `component ${cls}`;
  if (pkg === "pulumi") return "provider";
  const mod = module.split("/")[0]!;
  return mod && mod !== "index" ? `${mod} ${cls}` : cls;
}

const TIER_ORDER = [...TIERS, "target", "other"] as string[];
const tierRank = (t: string) => (TIER_ORDER.includes(t) ? TIER_ORDER.indexOf(t) : TIER_ORDER.length);

function opWord(c: ResourceChange): string {
  const o = c.outcome;
  if (o.kind === "left-behind") return "removed, left behind";
  if (o.kind === "blocked") return "removed, blocked: protected";
  if (o.kind === "restart") return "changed, restarts";
  if (o.kind === "replace" && o.predicted) return "replaced (predicted)";
  return c.op;
}

function rankOf(c: ResourceChange): number {
  if (c.data && (c.op === "removed" || c.op === "replaced")) return 1;
  if (c.op === "replaced" || c.op === "removed") return 2;
  if (c.data) return 3;
  return c.component ? 4 : 5;
}

/** The nodes of a change: changed resources, folded siblings, and the ancestors they hang from. */
function nodesOf(changes: ResourceChange[], resources: Map<string, Ancestry>): Node[] {
  const ids = new Map<string, string>();
  let next = 0;
  const idOf = (key: string) => {
    if (!ids.has(key)) ids.set(key, `r${++next}`);
    return ids.get(key)!;
  };
  const changed = new Map(changes.map((c) => [c.name, c]));
  const hasChangedChild = new Set(changes.map((c) => c.parent).filter((p): p is string => Boolean(p)));
  // Fold: leaves that hold no data, grouped by parent and operation.
  const groups = new Map<string, ResourceChange[]>();
  for (const c of changes) {
    if (c.data || c.component || hasChangedChild.has(c.name)) continue;
    const k = `${c.parent ?? ""}\u0000${c.op}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const folded = new Set<string>();
  const nodes: Node[] = [];
  for (const [k, members] of groups) {
    if (members.length <= FOLD_OVER) continue;
    for (const m of members) folded.add(m.name);
    const types = [...new Set(members.map((m) => shortType(m.type)))];
    const first = members[0]!;
    nodes.push({
      id: idOf(`group:${k}`),
      tier: first.tier,
      kind: first.op,
      shape: "group",
      parent: first.parent,
      rank: 6,
      label: [
        `${members.length} ${first.op}${first.parent ? ` under ${first.parent}` : ""}`,
        types.length > 2 ? `${types.slice(0, 2).join(", ")}, …` : types.join(", "),
      ],
    });
  }
  for (const c of changes) {
    if (folded.has(c.name)) continue;
    nodes.push({
      id: idOf(c.name),
      tier: c.tier,
      kind: c.op,
      shape: c.component ? "component" : c.data ? "data" : "box",
      parent: c.parent,
      rank: rankOf(c),
      label: [c.name, `${shortType(c.type)} · ${opWord(c)}`],
    });
  }
  // Ancestors: the parent chain of every node, drawn as context when unchanged.
  const present = new Set(nodes.map((n) => n.id));
  for (const n of [...nodes]) {
    let parent = n.parent;
    while (parent && !changed.has(parent) && !present.has(idOf(parent))) {
      const a = resources.get(parent);
      if (!a) break;
      present.add(idOf(parent));
      nodes.push({
        id: idOf(parent),
        tier: a.tier,
        kind: "context",
        shape: a.type.startsWith("stackport:") ? "component" : "box",
        parent: a.parent,
        rank: 0,
        label: [a.name, `${shortType(a.type)} · unchanged`],
      });
      parent = a.parent;
    }
  }
  // Edges point at ids: resolve each node's parent name to its node id.
  return nodes.map((n) => ({
    ...n,
    parent: n.parent && present.has(idOf(n.parent)) ? idOf(n.parent) : undefined,
  }));
}

/** At most MAX_PER_TIER nodes per tier: ancestors first, then data and destructive changes; the rest counted. */
function capped(nodes: Node[]): Node[] {
  const out: Node[] = [];
  for (const tier of [...new Set(nodes.map((n) => n.tier))]) {
    const inTier = nodes.filter((n) => n.tier === tier).sort((a, b) => a.rank - b.rank);
    if (inTier.length <= MAX_PER_TIER) {
      out.push(...inTier);
      continue;
    }
    const kept = inTier.slice(0, MAX_PER_TIER - 1);
    out.push(...kept, {
      id: `more_${out.length}`,
      tier,
      kind: "more",
      shape: "box",
      rank: 9,
      label: [`… and ${inTier.length - kept.length} more`, "see Changes by tier"],
    });
  }
  const ids = new Set(out.map((n) => n.id));
  return out.map((n) => (n.parent && !ids.has(n.parent) ? { ...n, parent: undefined } : n));
}

/** Label lines longer than this are cut: a node's width is its longest line, and the page is ~900 px wide. */
const LINE = 48;
const cut = (s: string) => (s.length > LINE ? `${s.slice(0, LINE - 1)}…` : s);

function nodeLine(n: Node): string {
  const text = `"${n.label.map((l) => mermaidText(cut(l))).join("<br/>")}"`;
  const shaped =
    n.shape === "component"
      ? `(${text})`
      : n.shape === "data"
        ? `[(${text})]`
        : n.shape === "group"
          ? `[[${text}]]`
          : `[${text}]`;
  return `${n.id}${shaped}:::${n.kind}`;
}

function render(nodes: Node[]): string {
  const lines = ["flowchart LR"];
  const tiers = [...new Set(nodes.map((n) => n.tier))].sort(
    (a, b) => tierRank(a) - tierRank(b) || a.localeCompare(b),
  );
  tiers.forEach((tier, i) => {
    lines.push(`  subgraph tier${i}["${mermaidText(tier)}"]`, "    direction LR");
    for (const n of nodes.filter((x) => x.tier === tier)) lines.push(`    ${nodeLine(n)}`);
    lines.push("  end");
  });
  for (const n of nodes) if (n.parent) lines.push(`  ${n.parent} --> ${n.id}`);
  const used = new Set(nodes.map((n) => n.kind));
  for (const [kind, style] of Object.entries(OPERATION_CLASSES))
    if (used.has(kind as Kind)) lines.push(`  classDef ${kind} ${style}`);
  return lines.join("\n");
}

export interface ChangeDiagram {
  /** One Mermaid source per diagram: one for the whole change, or one per tier when large. */
  diagrams: { tier?: string; mermaid: string }[];
  /** Nodes drawn in all. */
  nodes: number;
}

/** The change's diagram(s); none when nothing changes. */
export function changeDiagram(changes: ResourceChange[], resources: Map<string, Ancestry>): ChangeDiagram {
  if (changes.length === 0) return { diagrams: [], nodes: 0 };
  const nodes = capped(nodesOf(changes, resources));
  if (nodes.length <= SPLIT_AT) return { diagrams: [{ mermaid: render(nodes) }], nodes: nodes.length };
  // Per tier: the tier's nodes and the ancestors they hang from, wherever those are.
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const tiers = [...new Set(nodes.map((n) => n.tier))].sort(
    (a, b) => tierRank(a) - tierRank(b) || a.localeCompare(b),
  );
  const diagrams = tiers.flatMap((tier) => {
    const own = nodes.filter((n) => n.tier === tier);
    if (own.every((n) => n.kind === "context")) return [];
    const chain = new Map(own.map((n) => [n.id, n]));
    for (const n of own)
      for (let p = n.parent && byId.get(n.parent); p && !chain.has(p.id); p = p.parent && byId.get(p.parent))
        chain.set(p.id, p);
    return [{ tier, mermaid: render([...chain.values()]) }];
  });
  return { diagrams, nodes: nodes.length };
}
