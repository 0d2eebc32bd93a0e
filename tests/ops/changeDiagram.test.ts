/**
 * The change diagram, parsed by the real Mermaid library (tests/ops/mermaidParse.mjs): it must be valid Mermaid
 * whatever the resource names, mark every operation with a defined class, draw removed resources, and stay within a
 * size a page can show for a production-size change (issue #17: the whole-stack tree had 210 nodes in one row).
 */
import { changeDiagram, MAX_PER_TIER, mermaidText, SPLIT_AT } from "../../src/ops/changeDiagram";
import { offlineChanges } from "../../src/ops/changeSet";
import type { PlanDocument } from "../../src/synth/render";
import { planOf } from "./plans";
import { parseMermaid, type ParsedDiagram } from "./mermaid";
import { productionChange } from "./productionChange";

type R = PlanDocument["resources"][number];
const res = (type: string, name: string, parent: string | null = null, inputs = {}): R => ({
  type,
  name,
  parent,
  provider: null,
  inputs,
  protect: false,
  retainOnDelete: false,
  dependsOn: [],
});

/** Every diagram parses, and every node's class is one the diagram defines (Mermaid accepts undefined ones). */
function parseAll(sources: string[]): ParsedDiagram[] {
  const parsed = parseMermaid(sources);
  parsed.forEach((p, i) => {
    expect({ diagram: sources[i], error: p.error }).toEqual({ diagram: sources[i], error: undefined });
    for (const v of p.vertices) for (const c of v.classes) expect(p.classDefs).toContain(c);
    expect(p.type).toBe("flowchart-v2");
  });
  return parsed;
}

let change: { base: PlanDocument; head: PlanDocument };
beforeAll(async () => {
  change = await productionChange();
}, 120_000);

describe("the production change of #17 (a service added, a bucket and a scheduled job removed, a bigger database)", () => {
  it("draws at most a few dozen nodes, each marked by operation, removed ones included, and parses in Mermaid", () => {
    const set = offlineChanges(change.base, change.head);
    const { diagrams, nodes } = changeDiagram(set.changes, set.resources);
    const parsed = parseAll(diagrams.map((d) => d.mermaid));
    const vertices = parsed.flatMap((p) => p.vertices);
    expect(vertices.length).toBe(nodes);
    expect(nodes).toBeLessThanOrEqual(36);
    // Each operation has its class; the removed bucket and job are drawn, the instance class change too.
    const classes = new Set(vertices.flatMap((v) => v.classes));
    for (const op of ["added", "changed", "replaced", "removed"]) expect(classes).toContain(op);
    const text = diagrams.map((d) => d.mermaid).join("\n");
    expect(text).toMatch(/\[\("storage-logs<br\/>s3 Bucket · removed[^"]*"\)\]:::removed/);
    expect(text).toMatch(/"ingestion-nightly<br\/>component Service · removed"\):::removed/);
    expect(text).toMatch(/\[\("database-instance<br\/>rds Instance · changed, restarts"\)\]:::changed/);
    // Tiers are groups: every node sits in one tier's subgraph.
    const grouped = parsed.flatMap((p) => p.subgraphs.flatMap((s) => s.nodes));
    expect(new Set(grouped)).toEqual(new Set(vertices.map((v) => v.id)));
  });

  it("folds many siblings into one node and draws the unchanged ancestors they hang from", () => {
    const set = offlineChanges(change.base, change.head);
    const text = changeDiagram(set.changes, set.resources)
      .diagrams.map((d) => d.mermaid)
      .join("\n");
    expect(text).toMatch(/\[\["10 added under ingestion-export<br\/>[^"]+"\]\]:::added/);
    expect(text).toMatch(/"observability<br\/>component Observability · unchanged"\):::context/);
  });

  it("a whole production stack added (a new stack) splits per tier and caps each tier", () => {
    const set = offlineChanges(undefined, change.head);
    expect(set.changes.length).toBeGreaterThan(190);
    const { diagrams, nodes } = changeDiagram(set.changes, set.resources);
    expect(nodes).toBeGreaterThan(SPLIT_AT);
    expect(diagrams.length).toBeGreaterThan(1);
    for (const p of parseAll(diagrams.map((d) => d.mermaid))) {
      expect(p.subgraphs.length).toBeLessThanOrEqual(2);
      expect(p.vertices.length).toBeLessThanOrEqual(MAX_PER_TIER + 2);
    }
    expect(diagrams.map((d) => d.mermaid).join("\n")).toMatch(/"… and \d+ more<br\/>see Changes by tier"/);
  });
});

describe("names that are Mermaid syntax", () => {
  it("escapes quotes, markup and keywords in names and tiers", () => {
    const nasty = ['say "hi"', "end", "a<br>b", "#1 & `x`", "subgraph", "style"];
    const head = planOf([
      res("stackport:aws:Database", "database"),
      ...nasty.map((n) => res("aws:s3/bucket:Bucket", n, "database", { tags: { "stackport.tier": "end" } })),
    ]);
    const set = offlineChanges(planOf([]), head);
    const { diagrams } = changeDiagram(set.changes, set.resources);
    const [p] = parseAll(diagrams.map((d) => d.mermaid));
    expect(p!.vertices).toHaveLength(nasty.length + 1);
    expect(p!.subgraphs.map((s) => s.title).sort()).toEqual(["database", "end"]);
    expect(mermaidText('a"b<c>#`&')).toBe("a#34;b#60;c#62;#35;#96;#38;");
  });

  it("parses nothing for no change", () => {
    expect(changeDiagram([], new Map()).diagrams).toEqual([]);
  });
});
