/**
 * The repository's import layers, checked: which of our files may import which (DEFAULT_RULES below), which
 * packages the library's entry files may load at run time, and no import cycles among our files.
 *
 * Imports are read with the TypeScript parser, so `import type`, `export … from`, `require("…")`, `import("…")`
 * and `typeof import("…")` all count, and a string that merely looks like an import (in a template, a comment)
 * does not.
 *
 * `npm run build && node bin/scripts/layers.js [root]` prints every violation and cycle and exits 1 if there is
 * any; tests/unit/layers.test.ts runs the same check on the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import * as ts from "typescript";

/**
 * A path relative to the repository root, taken as a prefix: "src/config/" is a folder, "src/index.ts" a file,
 * "@pulumi/aws" a package with its subpaths ("@pulumi/aws/s3", not "@pulumi/awsx"). Or a regex tested against
 * that path. In `allow` and `mayNotImport`, `$<name>` stands for the named group of the `from` regex that took
 * the file in.
 */
export type Pattern = string | RegExp;

export interface Rule {
  name: string;
  /** The files the rule speaks for. */
  from: Pattern[];
  /** Files matched by `from` that the rule does not speak for. */
  except?: Pattern[];
  /** Our files that `from` may not import. Type-only imports count: a layer is about what code knows of. */
  mayNotImport?: Pattern[];
  /**
   * Our files or packages that `from` may not load at run time, directly or through our own files. Only
   * static, non-type-only imports load: `import type`, `export type` and `import { type X }` are erased by the
   * compiler, and an `import()` runs later, when it is called. Every `require()` counts as a load.
   */
  mayNotLoad?: Pattern[];
  /** Targets that stay allowed although they match `mayNotImport` or `mayNotLoad`. */
  allow?: Pattern[];
  why: string;
}

/** Every one of our files; package specifiers never reach `mayNotImport`. */
const ANY_OF_OURS = /^/;

/** A tier's contract: the connection types other tiers and shared code may use. */
const CONTRACT = /^components\/[^/]+\/contract\.ts$/;

/** Any folder under components/; shared/ and targets/ are not tiers, so rule d excepts them. */
const TIER_FOLDER = /^components\/(?<tier>[^/]+)\//;

export const DEFAULT_RULES: Rule[] = [
  // a.
  {
    name: "library-knows-no-program",
    from: ["components/"],
    mayNotImport: ["src/", "policies/", "scripts/", "tests/", "examples/"],
    why: "components/ is a library; the program, the policy pack, scripts, tests and examples build on it, never the reverse",
  },
  // b–d look only inside components/: rule a already keeps the whole library away from everything else.
  // b.
  {
    name: "shared-is-the-base",
    from: ["components/shared/"],
    mayNotImport: ["components/"],
    allow: ["components/shared/", CONTRACT],
    why: "every component builds on components/shared/, so shared code may build on nothing but itself and the tiers' contracts (the vocabulary the jobs and services it runs for several tiers speak)",
  },
  {
    name: "contracts-are-vocabulary",
    from: [CONTRACT],
    mayNotImport: ["components/"],
    allow: ["components/shared/", CONTRACT],
    why: "a contract.ts is what tiers and shared code agree on; it may use shared code and other contracts, never an implementation",
  },
  // c.
  {
    name: "targets-know-no-tier",
    from: ["components/targets/"],
    mayNotImport: ["components/"],
    allow: ["components/shared/", "components/targets/"],
    why: "a target is where tiers run (a Docker host, an AWS placement); it knows nothing of what runs there",
  },
  // d. (And e: the entry files components/index.ts, docker.ts and aws.ts sit directly in components/, in no
  // tier folder, so this rule never speaks for them and they may re-export every tier.)
  {
    name: "tiers-meet-through-contracts",
    from: [TIER_FOLDER],
    except: ["components/shared/", "components/targets/"],
    mayNotImport: ["components/"],
    allow: [
      "components/shared/",
      "components/targets/",
      "components/$<tier>/",
      CONTRACT,
      /^components\/[^/]+\/settings\.ts$/,
    ],
    why: "a tier may use another tier only through its contract.ts (connection types) or settings.ts (public defaults and pure checks), so each tier's implementations can change on their own",
  },
  // f. The platform is still one file, src/platform.ts, on its way to a src/platform/ folder: both count.
  {
    name: "config-below-platform",
    from: ["src/config/"],
    mayNotImport: [
      "src/platform/",
      "src/platform.ts",
      "src/ops/",
      "src/synth/",
      "src/index.ts",
      "src/program.ts",
    ],
    why: "configuration is read and checked before anything is built from it, so it knows nothing of what uses it",
  },
  // g.
  {
    name: "platform-below-commands",
    from: ["src/platform/", "src/platform.ts"],
    mayNotImport: ["src/ops/", "src/synth/", "src/index.ts"],
    why: "the platform builds resources; the program entry and the synth and ops commands drive it, not the reverse",
  },
  // h.
  {
    name: "synth-below-ops",
    from: ["src/synth/"],
    mayNotImport: ["src/ops/"],
    why: "synth is the offline plan; ops (deploy, cutover, rollback) may use it, not the reverse",
  },
  // i.
  {
    name: "policies-stand-alone",
    from: ["policies/"],
    mayNotImport: [ANY_OF_OURS],
    allow: ["policies/"],
    why: "the policy pack is installed and run on its own (--policy-pack policies), so nothing outside policies/ is there",
  },
  // j.
  {
    name: "root-entry-loads-no-provider",
    from: ["components/index.ts"],
    mayNotLoad: ["@pulumi/aws", "@pulumi/docker"],
    why: "the root entry is contracts and shared types; importing it must not load a provider SDK",
  },
  {
    name: "docker-entry-loads-no-aws",
    from: ["components/docker.ts"],
    mayNotLoad: ["@pulumi/aws"],
    why: "a Docker-only program must not load @pulumi/aws, nor need it installed",
  },
];

/**
 * static: loaded when the importing file loads (`import`, `export … from`, `require()`); dynamic: `import()`,
 * loaded when called; type: erased by the compiler, never loaded.
 */
export type ImportKind = "static" | "dynamic" | "type";

export interface Import {
  from: string;
  /** One of our files (its path from the root), or a package specifier as written. */
  to: string;
  external: boolean;
  /** When a file imports the same target more than once, the kind that loads soonest. */
  kind: ImportKind;
}

export interface Graph {
  /** Our .ts files, paths from the root. */
  files: string[];
  imports: Import[];
}

export interface Violation {
  rule: string;
  why: string;
  from: string;
  to: string;
  /** `from`, the files in between for a `mayNotLoad` rule, then `to`. */
  chain: string[];
}

export interface LayerReport extends Graph {
  violations: Violation[];
  /** Each a loop of imports that ends where it starts. */
  cycles: string[][];
}

export function checkLayers(root: string, rules: Rule[] = DEFAULT_RULES): LayerReport {
  const graph = readGraph(root);
  const outgoing = importsByFile(graph);
  const violations = rules
    .flatMap((rule) => graph.files.flatMap((file) => violationsOf(rule, file, outgoing)))
    .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  return { ...graph, violations, cycles: findCycles(graph) };
}

/** One line per violation (`a.ts → b.ts: rule: why`) and per cycle (`cycle: a.ts → b.ts → a.ts`). */
export function formatFindings(report: LayerReport): string[] {
  return [
    ...report.violations.map((v) => `${v.chain.join(" → ")}: ${v.rule}: ${v.why}`),
    ...report.cycles.map((cycle) => `cycle: ${cycle.join(" → ")}`),
  ];
}

export function summaryLine(report: LayerReport): string {
  const count = (n: number, noun: string) => (n === 0 ? `no ${noun}s` : `${n} ${noun}${n === 1 ? "" : "s"}`);
  return `layers: ${count(report.files.length, "file")}, ${count(report.imports.length, "import")}, ${count(report.violations.length, "violation")}, ${count(report.cycles.length, "cycle")}`;
}

// ---- Reading the import graph ----

const SOURCE_FOLDERS = ["components", "src", "policies", "scripts", "examples"];
const SKIPPED_FOLDERS = new Set(["node_modules", "bin"]);
const RELATIVE = /^\.\.?(\/|$)/;

/** Our files and everything each imports: one Import per (file, target), packages included. */
export function readGraph(root: string): Graph {
  const files = SOURCE_FOLDERS.filter((folder) => existsSync(join(root, folder)))
    .flatMap((folder) => sourceFiles(root, folder))
    .sort();
  return { files, imports: files.flatMap((file) => importsOf(root, file)) };
}

function sourceFiles(root: string, folder: string): string[] {
  return readdirSync(join(root, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) ? [] : sourceFiles(root, path);
    return entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

const LOADS_SOONER: Record<ImportKind, number> = { type: 0, dynamic: 1, static: 2 };

function importsOf(root: string, file: string): Import[] {
  const byTarget = new Map<string, Import>();
  for (const { text, kind } of specifiersIn(file, readFileSync(join(root, file), "utf8"))) {
    const external = !RELATIVE.test(text);
    const to = external ? text : resolveRelative(root, file, text);
    const earlier = byTarget.get(to);
    if (!earlier || LOADS_SOONER[kind] > LOADS_SOONER[earlier.kind])
      byTarget.set(to, { from: file, to, external, kind });
  }
  return [...byTarget.values()];
}

/**
 * `./x` is `./x.ts` or `./x/index.ts`, or `./x` itself when it names a file (`./data.json`). A specifier that
 * resolves to nothing keeps its path, so the rules still see where it points.
 */
function resolveRelative(root: string, file: string, specifier: string): string {
  const path = posix.join(posix.dirname(file), specifier);
  const candidates = [`${path}.ts`, `${path}/index.ts`, path];
  return candidates.find((candidate) => isFile(join(root, candidate))) ?? path;
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

interface Specifier {
  text: string;
  kind: ImportKind;
}

function specifiersIn(fileName: string, text: string): Specifier[] {
  const found: Specifier[] = [];
  const visit = (node: ts.Node): void => {
    const specifier = specifierOf(node);
    if (specifier) found.push(specifier);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest));
  return found;
}

function specifierOf(node: ts.Node): Specifier | undefined {
  if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier))
    return { text: node.moduleSpecifier.text, kind: importLoads(node.importClause) ? "static" : "type" };
  if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
    return { text: node.moduleSpecifier.text, kind: exportLoads(node) ? "static" : "type" };
  if (
    ts.isImportEqualsDeclaration(node) &&
    ts.isExternalModuleReference(node.moduleReference) &&
    ts.isStringLiteral(node.moduleReference.expression)
  )
    return { text: node.moduleReference.expression.text, kind: node.isTypeOnly ? "type" : "static" };
  if (
    ts.isImportTypeNode(node) &&
    ts.isLiteralTypeNode(node.argument) &&
    ts.isStringLiteral(node.argument.literal)
  )
    return { text: node.argument.literal.text, kind: "type" };
  if (ts.isCallExpression(node) && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
    const text = node.arguments[0].text;
    if (node.expression.kind === ts.SyntaxKind.ImportKeyword) return { text, kind: "dynamic" };
    if (ts.isIdentifier(node.expression) && node.expression.text === "require")
      return { text, kind: "static" };
  }
  return undefined;
}

/**
 * Whether the compiler keeps an import: `import "x"` runs x; `import type …` and an import whose every named
 * binding is `type` (or that has none, `import {} from "x"`) are erased. An import whose bindings are only used
 * as types is erased too, but telling that takes the type checker: it counts as a load here.
 */
function importLoads(clause: ts.ImportClause | undefined): boolean {
  if (!clause) return true;
  if (clause.isTypeOnly) return false;
  const named = clause.namedBindings;
  const onlyTypes =
    !clause.name && named && ts.isNamedImports(named) && named.elements.every((e) => e.isTypeOnly);
  return !onlyTypes;
}

/** `export type … from`, and `export { type A, type B } from` (or `export {} from`), are erased. */
function exportLoads(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return false;
  const clause = node.exportClause;
  return !(clause && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly));
}

// ---- Rules ----

function importsByFile(graph: Graph): Map<string, Import[]> {
  const byFile = new Map<string, Import[]>(graph.files.map((file) => [file, []]));
  for (const edge of graph.imports) byFile.get(edge.from)!.push(edge);
  return byFile;
}

function violationsOf(rule: Rule, file: string, outgoing: Map<string, Import[]>): Violation[] {
  const groups = scopeOf(rule, file);
  if (!groups) return [];
  const forbidden = (to: string, patterns: Pattern[] = []) =>
    patterns.some((p) => matches(to, p, groups)) && !(rule.allow ?? []).some((p) => matches(to, p, groups));
  const imported = outgoing
    .get(file)!
    .filter((edge) => !edge.external && forbidden(edge.to, rule.mayNotImport))
    .map((edge) => [file, edge.to]);
  const loaded = [...loadChains(file, outgoing)].filter(([to]) => forbidden(to, rule.mayNotLoad));
  return [...imported, ...loaded.map(([, chain]) => chain)].map((chain) => ({
    rule: rule.name,
    why: rule.why,
    from: file,
    to: chain.at(-1)!,
    chain,
  }));
}

/**
 * The named groups of the `from` pattern that takes `file` in (none for a prefix), or undefined when the rule
 * does not speak for `file`.
 */
function scopeOf(rule: Rule, file: string): Record<string, string> | undefined {
  if ((rule.except ?? []).some((p) => matches(file, p))) return undefined;
  for (const pattern of rule.from) {
    if (typeof pattern !== "string") {
      const match = pattern.exec(file);
      if (match) return match.groups ?? {};
    } else if (matches(file, pattern)) return {};
  }
  return undefined;
}

function matches(path: string, pattern: Pattern, groups: Record<string, string> = {}): boolean {
  if (typeof pattern !== "string") return pattern.test(path);
  const prefix = pattern.replace(/\$<(\w+)>/g, (_, name: string) => groups[name] ?? "");
  return path === prefix || path.startsWith(prefix.endsWith("/") ? prefix : `${prefix}/`);
}

/**
 * Everything `entry` loads at run time, through static imports of our own files, each with the shortest chain
 * of imports that loads it.
 */
function loadChains(entry: string, outgoing: Map<string, Import[]>): Map<string, string[]> {
  const chains = new Map<string, string[]>([[entry, [entry]]]);
  // Breadth first: `queue` grows while it is walked, so the first chain found to a target is a shortest one.
  const queue = [entry];
  for (const file of queue) {
    for (const edge of outgoing.get(file) ?? []) {
      if (edge.kind !== "static" || chains.has(edge.to)) continue;
      chains.set(edge.to, [...chains.get(file)!, edge.to]);
      if (!edge.external) queue.push(edge.to);
    }
  }
  chains.delete(entry);
  return chains;
}

// ---- Cycles ----

/** Every strongly connected set of our files (or a file importing itself), as one loop through all of them. */
export function findCycles(graph: Graph): string[][] {
  const ours = new Set(graph.files);
  const targets = new Map(graph.files.map((file) => [file, new Set<string>()]));
  for (const edge of graph.imports) if (ours.has(edge.to)) targets.get(edge.from)!.add(edge.to);
  const next = (file: string) => [...targets.get(file)!].sort();
  return stronglyConnected(graph.files, next)
    .filter((component) => component.length > 1 || next(component[0]!).includes(component[0]!))
    .map((component) => loopThrough(component, next))
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
}

type Next = (file: string) => string[];

/** Tarjan's algorithm. */
function stronglyConnected(files: string[], next: Next): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const to of next(file)) {
      if (!index.has(to)) visit(to);
      if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, low.get(to)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    components.push(component);
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return components;
}

/**
 * A loop through every file of a strongly connected component, each step a real import: from the first file
 * alphabetically, on to the nearest file not yet in the loop, and so on, then back to the start. A tangle of
 * more than one loop passes some files twice.
 */
function loopThrough(component: string[], next: Next): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const loop = [start];
  const unvisited = new Set(component.filter((file) => file !== start));
  while (unvisited.size > 0) {
    const steps = shortestSteps(loop.at(-1)!, (file) => unvisited.has(file), members, next);
    for (const file of steps) unvisited.delete(file);
    loop.push(...steps);
  }
  loop.push(...shortestSteps(loop.at(-1)!, (file) => file === start, members, next));
  return loop;
}

/** The files after `from`, at least one, on a shortest path within `members` to a file that meets `goal`. */
function shortestSteps(
  from: string,
  goal: (file: string) => boolean,
  members: Set<string>,
  next: Next,
): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [from];
  for (const file of queue) {
    for (const to of next(file)) {
      if (!members.has(to) || cameFrom.has(to)) continue;
      cameFrom.set(to, file);
      if (goal(to)) return pathBack(to, from, cameFrom);
      queue.push(to);
    }
  }
  throw new Error(`no import path from ${from} within its own strongly connected component`);
}

function pathBack(to: string, from: string, cameFrom: Map<string, string>): string[] {
  const path = [to];
  for (let at = cameFrom.get(to)!; at !== from; at = cameFrom.get(at)!) path.unshift(at);
  return path;
}

if (require.main === module) {
  // Compiled to bin/scripts/: the repository root is two levels up, unless another root is given.
  const report = checkLayers(process.argv[2] ?? join(__dirname, "..", ".."));
  const findings = formatFindings(report);
  process.stdout.write([...findings, summaryLine(report)].join("\n") + "\n");
  process.exitCode = findings.length > 0 ? 1 : 0;
}
