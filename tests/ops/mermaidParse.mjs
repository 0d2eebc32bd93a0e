// Parses Mermaid diagrams with the real Mermaid library (a devDependency) and prints what its parser built, as JSON.
// Input on stdin: a JSON array of diagram sources. Output: one result per diagram, in order.
// Mermaid's flowchart parser sanitizes labels with DOMPurify, which needs a DOM: jsdom provides one. Layout and
// SVG rendering need a browser and are not run; the parse is what fails on bad syntax, ids and escapes.
import { readFileSync } from "node:fs";
import process from "node:process";
import { JSDOM } from "jsdom";

const { window } = new JSDOM("");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

const sources = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const text of sources) {
  try {
    await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    results.push({
      ok: true,
      type: diagram.type,
      vertices: [...db.getVertices().values()].map((v) => ({ id: v.id, classes: v.classes })),
      subgraphs: db.getSubGraphs().map((s) => ({ id: s.id, title: s.title, nodes: s.nodes })),
      classDefs: [...db.getClasses().keys()],
      edges: db.getEdges().map((e) => ({ start: e.start, end: e.end })),
    });
  } catch (e) {
    results.push({
      ok: false,
      error: String(e?.message ?? e)
        .split("\n")
        .slice(0, 4)
        .join("\n"),
    });
  }
}
process.stdout.write(JSON.stringify(results));
