import { spawnSync } from "node:child_process";
import { join } from "node:path";

export interface ParsedDiagram {
  ok: boolean;
  error?: string;
  type?: string;
  vertices: { id: string; classes: string[] }[];
  subgraphs: { id: string; title: string; nodes: string[] }[];
  classDefs: string[];
  edges: { start: string; end: string }[];
}

/**
 * Parses diagrams with the real Mermaid library (devDependencies `mermaid` and `jsdom`, installed by `npm ci`),
 * in a child process: Mermaid is ESM-only and needs a DOM. The child is killed after 60 s.
 */
export function parseMermaid(sources: string[]): ParsedDiagram[] {
  const r = spawnSync(process.execPath, [join(__dirname, "mermaidParse.mjs")], {
    input: JSON.stringify(sources),
    encoding: "utf8",
    timeout: 60_000,
    killSignal: "SIGKILL",
    cwd: join(__dirname, "..", ".."),
  });
  if (r.status !== 0)
    throw new Error(
      `the Mermaid parser did not run (is the devDependency 'mermaid' installed? npm ci installs it): ${r.error?.message ?? r.stderr}`,
    );
  return JSON.parse(r.stdout) as ParsedDiagram[];
}
