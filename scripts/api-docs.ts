/**
 * Generates the library's API reference, docs/api/, from the TSDoc of its package entries (package.json `exports`:
 * `stackport`, `stackport/docker`, `stackport/aws`): one page per entry, every exported symbol grouped by kind, and
 * an index. `node bin/scripts/api-docs.js` writes the pages and prints the findings below; tests/unit/api-docs.test.ts
 * fails when the committed pages are not what this renders, or when the findings change.
 *
 * It reads the sources with the TypeScript parser only — no type checker, so no provider SDK's declarations are
 * loaded (parsing takes a fraction of a second; Prettier's formatting of the pages most of the rest). Types are shown as written in the source, and a name in them links to
 * its section when the name resolves (through the file's imports) to a symbol one of the entries exports.
 *
 * Two lists of findings come with it:
 * - `lintComponents`: gaps in the components' TSDoc and escape hatches (an args property without a doc comment, an
 *   optional one without `@default`, a component without `@example`, without a public `nodes`, or whose args have
 *   no `transform`);
 * - `leakedTypes`: types of ours that the public API names but no entry exports.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, posix } from "node:path";
import * as ts from "typescript";
// The standalone build: Prettier's main entry loads its formatters with `import()`, which Jest's VM refuses.
import type { Options as PrettierOptions, Plugin as PrettierPlugin } from "prettier";
import * as prettier from "prettier/standalone";
import * as estreePlugin from "prettier/plugins/estree";
import * as markdownPlugin from "prettier/plugins/markdown";
import * as typescriptPlugin from "prettier/plugins/typescript";

/** Where the pages go, relative to the repository root. Everything in it is generated. */
export const API_DOCS_DIR = "docs/api";
const INDEX_PAGE = "README.md";
/** An inline type longer than this has its nested object types shortened to `{ … }`. */
const MAX_INLINE_TYPE = 100;
/** A constant whose initializer is longer than this many lines is shown by its type only. */
const MAX_VALUE_LINES = 30;
const WIDTH = 110;

// ---------------------------------------------------------------------------------------------------------------
// The entries and their exports

export interface Entry {
  /** The import specifier: `stackport`, `stackport/docker`. */
  pkg: string;
  /** The entry's source, relative to the repository root: `components/docker.ts`. */
  file: string;
  /** Its page in docs/api/. */
  page: string;
}

/** The library's entries, from package.json `exports` (each `types` under bin/ maps back to its source). */
export function libraryEntries(root: string): Entry[] {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, unknown>;
  };
  const entries: Entry[] = [];
  for (const [key, value] of Object.entries(pkg.exports)) {
    const types =
      typeof value === "object" && value !== null ? (value as { types?: unknown }).types : undefined;
    if (typeof types !== "string") continue;
    const source = /^\.\/bin\/(.+)\.d\.ts$/.exec(types);
    if (!source) throw new Error(`package.json exports["${key}"].types: expected ./bin/….d.ts, got ${types}`);
    const sub = key === "." ? "" : key.replace(/^\.\//, "");
    entries.push({
      pkg: sub ? `${pkg.name}/${sub}` : pkg.name,
      file: `${source[1]}.ts`,
      page: `${sub.replace(/\//g, "-") || pkg.name}.md`,
    });
  }
  return entries;
}

type Decl =
  | ts.InterfaceDeclaration
  | ts.TypeAliasDeclaration
  | ts.ClassDeclaration
  | ts.FunctionDeclaration
  | ts.EnumDeclaration
  | ts.VariableDeclaration;

interface Found {
  /** Relative to the repository root, with `/`. */
  file: string;
  node: Decl;
}

export type Group = "component" | "args" | "type" | "constant" | "function";

const GROUPS: { group: Group; title: string }[] = [
  { group: "component", title: "Components" },
  { group: "args", title: "Args interfaces" },
  { group: "type", title: "Other interfaces, types and classes" },
  { group: "constant", title: "Constants" },
  { group: "function", title: "Functions" },
];

export interface Exported extends Found {
  name: string;
  entry: Entry;
  /** Exported with `export type`: a class exported so cannot be constructed from the package. */
  typeOnly: boolean;
  group: Group;
}

function declaredIn(statement: ts.Statement, name: string): Decl | undefined {
  if (
    (ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isFunctionDeclaration(statement) ||
      ts.isEnumDeclaration(statement)) &&
    statement.name?.text === name
  )
    return statement;
  if (ts.isVariableStatement(statement))
    return statement.declarationList.declarations.find(
      (d) => ts.isIdentifier(d.name) && d.name.text === name,
    );
  return undefined;
}

const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);

/** The library's source files, parsed once, and how names resolve between them. */
export class Sources {
  private readonly parsed = new Map<string, ts.SourceFile>();
  constructor(readonly root: string) {}

  file(path: string): ts.SourceFile {
    let sf = this.parsed.get(path);
    if (!sf) {
      const text = readFileSync(join(this.root, path), "utf8");
      sf = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
      this.parsed.set(path, sf);
    }
    return sf;
  }

  /** Our file a module specifier names; undefined for a package (or JSON). */
  module(from: string, specifier: string): string | undefined {
    if (!specifier.startsWith(".") || specifier.endsWith(".json")) return undefined;
    const base = posix.join(posix.dirname(from), specifier);
    for (const candidate of [`${base}.ts`, `${base}/index.ts`])
      if (existsSync(join(this.root, candidate))) return candidate;
    throw new Error(`${from}: cannot resolve "${specifier}"`);
  }

  /** The declaration of what `file` exports as `name`, following re-exports. */
  exported(file: string, name: string): Found | undefined {
    const sf = this.file(file);
    for (const st of sf.statements) {
      const local = declaredIn(st, name);
      if (local) return { file, node: local };
    }
    for (const st of sf.statements) {
      if (!ts.isExportDeclaration(st)) continue;
      const from =
        st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
      if (st.exportClause && ts.isNamedExports(st.exportClause)) {
        const el = st.exportClause.elements.find((e) => e.name.text === name);
        if (!el) continue;
        const original = (el.propertyName ?? el.name).text;
        if (from === undefined) return this.inScope(file, original);
        const target = this.module(file, from);
        return target === undefined ? undefined : this.exported(target, original);
      }
      if (!st.exportClause && from !== undefined) {
        const target = this.module(file, from);
        const found = target === undefined ? undefined : this.exported(target, name);
        if (found) return found;
      }
    }
    return undefined;
  }

  /** What `name` means at the top level of `file`: one of its declarations or an import of ours (else undefined). */
  inScope(file: string, name: string): Found | undefined {
    const sf = this.file(file);
    for (const st of sf.statements) {
      const local = declaredIn(st, name);
      if (local) return { file, node: local };
    }
    for (const st of sf.statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      const bindings = st.importClause?.namedBindings;
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      const el = bindings.elements.find((e) => e.name.text === name);
      if (!el) continue;
      const target = this.module(file, st.moduleSpecifier.text);
      return target === undefined ? undefined : this.exported(target, (el.propertyName ?? el.name).text);
    }
    return undefined;
  }
}

function groupOf(node: Decl, name: string): Group {
  if (ts.isClassDeclaration(node)) {
    const base = node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0];
    return base && /\bComponentResource$/.test(base.expression.getText()) ? "component" : "type";
  }
  if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node))
    return /Args$/.test(name) ? "args" : "type";
  if (ts.isEnumDeclaration(node)) return "type";
  if (ts.isFunctionDeclaration(node)) return "function";
  const init = node.initializer && skipOuterExpressions(node.initializer);
  return init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init)) ? "function" : "constant";
}

function skipOuterExpressions(e: ts.Expression): ts.Expression {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression(e))
    e = e.expression;
  return e;
}

/** Every symbol an entry exports, in the entry's order. */
function entryExports(sources: Sources, entry: Entry): Exported[] {
  const out: Exported[] = [];
  for (const st of sources.file(entry.file).statements) {
    if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause)) {
      const from =
        st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
      for (const el of st.exportClause.elements) {
        const original = (el.propertyName ?? el.name).text;
        const target = from === undefined ? entry.file : sources.module(entry.file, from);
        const found =
          target === undefined
            ? undefined
            : from === undefined
              ? sources.inScope(target, original)
              : sources.exported(target, original);
        if (!found) throw new Error(`${entry.file}: cannot find the declaration of ${el.name.text}`);
        const name = el.name.text;
        out.push({
          ...found,
          name,
          entry,
          typeOnly: st.isTypeOnly || el.isTypeOnly,
          group: groupOf(found.node, name),
        });
      }
    } else if (ts.isExportDeclaration(st)) {
      throw new Error(`${entry.file}: \`export *\` is not supported; name the exports`);
    } else if (hasModifier(st, ts.SyntaxKind.ExportKeyword)) {
      const names = ts.isVariableStatement(st)
        ? st.declarationList.declarations.map((d) => d.name.getText())
        : [(st as ts.DeclarationStatement).name?.getText() ?? ""];
      for (const name of names) {
        const node = declaredIn(st, name)!;
        out.push({ file: entry.file, node, name, entry, typeOnly: false, group: groupOf(node, name) });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// TSDoc

export interface Doc {
  /** The description (Markdown), before the first block tag. */
  text: string;
  tags: { tag: string; text: string }[];
}

const BLOCK_TAGS = ["default", "example", "throws", "param", "returns", "remarks", "see", "deprecated"];
const TAG = new RegExp(`(^|[ \\t])@(${BLOCK_TAGS.join("|")})\\b`, "gm");

function dedent(lines: string[]): string[] {
  const indents = lines.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut).trimEnd());
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && !lines[start]!.trim()) start++;
  while (end > start && !lines[end - 1]!.trim()) end--;
  return lines.slice(start, end);
}

export function parseDoc(comment: string): Doc {
  const lines = comment
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((line, i) => (i === 0 ? line.trim() : line.replace(/^\s*\*? ?/, "").trimEnd()));
  const text = lines.join("\n");
  // Block tags start a line or follow a space; not inside `code`.
  const starts: { at: number; end: number; tag: string }[] = [];
  for (const m of text.matchAll(TAG)) {
    const at = m.index! + m[1]!.length;
    const lineStart = text.lastIndexOf("\n", at) + 1;
    if ((text.slice(lineStart, at).match(/`/g) ?? []).length % 2 === 1) continue;
    starts.push({ at, end: at + 1 + m[2]!.length, tag: m[2]! });
  }
  const description = trimBlankLines(dedent(text.slice(0, starts[0]?.at ?? text.length).split("\n")));
  const tags = starts.map((s, i) => {
    const body = text.slice(s.end, starts[i + 1]?.at ?? text.length).split("\n");
    const first = body[0]!.trim();
    const rest = dedent(body.slice(1));
    return { tag: s.tag, text: trimBlankLines([first, ...rest]).join("\n") };
  });
  return { text: description.join("\n"), tags };
}

/** The `/** … *\/` comment right before a declaration (a blank line in between detaches it), parsed. */
function docOf(node: ts.Node): Doc | undefined {
  const sf = node.getSourceFile();
  const owner = ts.isVariableDeclaration(node) ? node.parent.parent : node;
  const ranges = ts.getLeadingCommentRanges(sf.text, owner.pos) ?? [];
  let next = owner.getStart(sf);
  for (let i = ranges.length - 1; i >= 0; i--) {
    const r = ranges[i]!;
    if (/\n[ \t]*\n/.test(sf.text.slice(r.end, next))) return undefined;
    const raw = sf.text.slice(r.pos, r.end);
    if (r.kind === ts.SyntaxKind.MultiLineCommentTrivia && raw.startsWith("/**") && raw !== "/**/")
      return parseDoc(raw);
    next = r.pos;
  }
  return undefined;
}

/** A file's own doc comment: the first `/** … *\/` in it, before any statement. */
function moduleDoc(sf: ts.SourceFile): Doc | undefined {
  const first = sf.statements[0];
  const ranges = ts.getLeadingCommentRanges(sf.text, first ? first.pos : 0) ?? [];
  const r = ranges.find((c) => sf.text.startsWith("/**", c.pos));
  return r ? parseDoc(sf.text.slice(r.pos, r.end)) : undefined;
}

const tagText = (doc: Doc | undefined, tag: string) => doc?.tags.find((t) => t.tag === tag)?.text;

// ---------------------------------------------------------------------------------------------------------------
// Rendering helpers

/** A code span that survives any content. */
function code(text: string): string {
  const ticks = Math.max(0, ...(text.match(/`+/g) ?? []).map((t) => t.length));
  const fence = "`".repeat(ticks + 1);
  return ticks ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

/** GitHub's heading anchor of a `` `name` `` heading. */
const anchor = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^\w\- ]/g, "")
    .replace(/ /g, "-");

function indentLines(text: string, by: string): string {
  return text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");
}

/** Items joined by `sep`, wrapped at WIDTH; continuation lines get `indent`. */
function wrapJoin(items: string[], prefix: string, indent: string, sep = ", "): string {
  const lines: string[] = [];
  let line = prefix;
  items.forEach((item, i) => {
    const piece = item + (i < items.length - 1 ? sep.trimEnd() : "");
    const candidate = line === prefix || line === indent ? line + piece : `${line} ${piece}`;
    if (candidate.length > WIDTH && line !== prefix && line !== indent) {
      lines.push(line);
      line = indent + piece;
    } else line = candidate;
  });
  lines.push(line);
  return lines.join("\n");
}

function fenced(text: string, lang = "ts"): string {
  const ticks = Math.max(2, ...(text.match(/`+/g) ?? []).map((t) => t.length));
  const fence = "`".repeat(ticks + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

/** A `@default` value: code when it parses as a value (a literal, a name, a call), else prose. */
function defaultText(text: string, link: (name: string) => string | undefined): string {
  const out = ts.transpileModule(`(${text});`, { reportDiagnostics: true, compilerOptions: { noLib: true } });
  const sf = ts.createSourceFile("default.ts", `(${text});`, ts.ScriptTarget.Latest, true);
  const st = sf.statements[0];
  const valid =
    !out.diagnostics?.length && sf.statements.length === 1 && st && ts.isExpressionStatement(st)
      ? st
      : undefined;
  const e = valid && skipOuterExpressions(valid.expression);
  if (!e) return text;
  if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
    // `none`, `never`: prose unless it names something.
    const head = e.getText().split(".")[0]!;
    const href = link(head);
    if (href) return `[${code(e.getText())}](${href})`;
    return ts.isIdentifier(e) ? text : code(text);
  }
  return code(text);
}

// ---------------------------------------------------------------------------------------------------------------
// The renderer

interface Ref {
  /** The identifier the reference starts with, in the source. */
  id: ts.Identifier;
  found: Found;
}

/** The library's public surface: its entries and what each exports, in the entries' order. */
export interface Api {
  entries: Entry[];
  exports: Exported[];
  sources: Sources;
}

export function readApi(root: string): Api {
  const sources = new Sources(root);
  const entries = libraryEntries(root);
  return { entries, exports: entries.flatMap((e) => entryExports(sources, e)), sources };
}

class Renderer {
  /** The first export of each declaration: where its section is. */
  private readonly home = new Map<ts.Node, Exported>();
  private readonly byName = new Map<string, Exported | null>();
  /** Declarations of ours named by the public API that no entry exports, with the symbols naming them. */
  readonly leaks = new Map<string, Set<string>>();
  private readonly usedBy = new Map<Exported, Set<Exported>>();
  private page: Entry | undefined;
  private current: Exported | undefined;
  /** Set after a first pass has filled `usedBy`. */
  complete = false;

  private readonly sources: Sources;

  constructor(readonly api: Api) {
    this.sources = api.sources;
    for (const e of api.exports) {
      if (!this.home.has(e.node)) this.home.set(e.node, e);
      const seen = this.byName.get(e.name);
      this.byName.set(e.name, seen === undefined ? e : seen?.node === e.node ? seen : null);
    }
  }

  private href(target: Exported): string {
    return `${target.entry === this.page ? "" : target.entry.page}#${anchor(target.name)}`;
  }

  /** A link for a name mentioned in prose, when it is exported under that name (and not the section itself). */
  private linkName(name: string): string | undefined {
    const target = this.byName.get(name);
    return target && target.node !== this.current?.node ? this.href(target) : undefined;
  }

  /** Turns `` `Name` `` and `` `Name.member` `` in prose into links to Name's section, outside code blocks. */
  private prose(text: string): string {
    let inFence = false;
    return text
      .split("\n")
      .map((line) => {
        if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
        if (inFence) return line;
        return line
          .replace(/(?<![[`])`([\w@./-]+)`(?![`\]])/g, (span, pkg: string) => {
            const entry = this.api.entries.find((e) => e.pkg === pkg);
            return entry && entry !== this.page ? `[${span}](${entry.page})` : span;
          })
          .replace(/(?<![[`])`([A-Za-z_$][\w$]*)((?:\.[\w$]+)*)`(?![`\]])/g, (span, name: string) => {
            const href = this.linkName(name);
            return href ? `[${span}](${href})` : span;
          });
      })
      .join("\n");
  }

  /** The type parameters in scope at `node`. */
  private typeParams(node: ts.Node): Set<string> {
    const names = new Set<string>();
    for (let n: ts.Node | undefined = node; n; n = n.parent) {
      const params = (n as { typeParameters?: ts.NodeArray<ts.TypeParameterDeclaration> }).typeParameters;
      if (params) for (const p of params) names.add(p.name.text);
      if (ts.isMappedTypeNode(n)) names.add(n.typeParameter.name.text);
      if (ts.isInferTypeNode(n)) names.add(n.typeParameter.name.text);
    }
    return names;
  }

  /** The names of ours a type node (or, with `values`, any node) refers to. */
  private refs(node: ts.Node, values = false): Ref[] {
    const file = node.getSourceFile().fileName;
    const out: Ref[] = [];
    const add = (id: ts.Identifier) => {
      if (this.typeParams(id).has(id.text)) return;
      const found = this.sources.inScope(file, id.text);
      if (found) out.push({ id, found });
    };
    const leftmost = (n: ts.EntityName | ts.Expression): ts.Identifier | undefined => {
      if (ts.isIdentifier(n)) return n;
      if (ts.isQualifiedName(n)) return leftmost(n.left);
      if (ts.isPropertyAccessExpression(n)) return leftmost(n.expression);
      return undefined;
    };
    const visit = (n: ts.Node): void => {
      let id: ts.Identifier | undefined;
      if (ts.isTypeReferenceNode(n)) id = leftmost(n.typeName);
      else if (ts.isExpressionWithTypeArguments(n)) id = leftmost(n.expression);
      else if (ts.isTypeQueryNode(n)) id = leftmost(n.exprName);
      else if (values && ts.isIdentifier(n) && isValueReference(n)) id = n;
      if (id) add(id);
      ts.forEachChild(n, visit);
    };
    visit(node);
    return out;
  }

  /** Records a type of ours the public API names; returns its export, if any. */
  private note(ref: Ref): Exported | undefined {
    const target = this.home.get(ref.found.node);
    if (target) {
      if (this.current && target !== this.current) {
        const users = this.usedBy.get(target) ?? new Set();
        users.add(this.current);
        this.usedBy.set(target, users);
      }
      return target;
    }
    const name = ref.found.node.name?.getText() ?? "?";
    const key = `${name} (${ref.found.file})`;
    const users = this.leaks.get(key) ?? new Set();
    if (this.current) users.add(this.current.name);
    this.leaks.set(key, users);
    return undefined;
  }

  /**
   * A type as written, on one line, comments dropped, names of ours linked. Nested object types become `{ … }`
   * when it is long.
   */
  typeMd(node: ts.Node, elide = false): string {
    const sf = node.getSourceFile();
    const start = node.getStart(sf);
    const links = new Map<number, { end: number; href: string | undefined }>();
    for (const ref of this.refs(node)) {
      const target = this.note(ref);
      links.set(ref.id.getStart(sf), { end: ref.id.end, href: target && this.href(target) });
    }
    const skip: [number, number, string][] = [];
    const scanner = ts.createScanner(
      ts.ScriptTarget.Latest,
      false,
      ts.LanguageVariant.Standard,
      sf.text,
      undefined,
      start,
      node.end - start,
    );
    for (let t = scanner.scan(); t !== ts.SyntaxKind.EndOfFileToken; t = scanner.scan())
      if (t === ts.SyntaxKind.SingleLineCommentTrivia || t === ts.SyntaxKind.MultiLineCommentTrivia)
        skip.push([scanner.getTokenStart(), scanner.getTokenEnd(), " "]);
    if (elide) {
      const literals = (n: ts.Node): void =>
        ts.forEachChild(n, (c) => {
          if (ts.isTypeLiteralNode(c) && c.members.length) skip.push([c.getStart(sf), c.end, "{ \u2026 }"]);
          else literals(c);
        });
      literals(node);
    }
    skip.sort((a, b) => a[0] - b[0]);
    // Links become \uE000<index>\uE001 markers while the text is normalized.
    const hrefs: string[] = [];
    let text = "";
    for (let i = start; i < node.end;) {
      const s = skip.find(([from, to]) => i >= from && i < to);
      if (s) {
        text += s[2];
        i = s[1];
        continue;
      }
      const link = links.get(i);
      if (link?.href) {
        text += `\uE000${hrefs.length}\uE001${sf.text.slice(i, link.end)}\uE002`;
        hrefs.push(link.href);
        i = link.end;
        continue;
      }
      text += sf.text[i];
      i++;
    }
    text = text
      .replace(/\s+/g, " ")
      .trim()
      .replace(/^\| /, "")
      .replace(/[,;] ?(?=[}\])>])/g, " ")
      .replace(/([<([]) /g, "$1")
      .replace(/ ([>)\]])/g, "$1")
      .replace(/ {2,}/g, " ");
    const plain = text.replace(/\uE000\d+\uE001|\uE002/g, "");
    if (!elide && plain.length > MAX_INLINE_TYPE && /\{ [^…]/.test(plain)) return this.typeMd(node, true);
    // Code spans between the links; spaces at their edges go outside the span.
    return text
      .split(/(\uE000\d+\uE001[^\uE002]*\uE002)/)
      .filter(Boolean)
      .map((piece) => {
        const link = /^\uE000(\d+)\uE001(.*)\uE002$/.exec(piece);
        if (link) return `[${code(link[2]!)}](${hrefs[Number(link[1])]})`;
        const [, lead, body, trail] = /^(\s*)(.*?)(\s*)$/.exec(piece)!;
        return lead! + (body ? code(body) : "") + trail!;
      })
      .join("");
  }

  /** A declaration's source (doc comment and `export` dropped), for a code block. */
  private source(node: ts.Node): string {
    const sf = node.getSourceFile();
    return sf.text.slice(node.getStart(sf), node.end).replace(/^(export\s+)?(declare\s+)?/, "");
  }

  /** "Refers to" links for a code block: the exported symbols the node names. */
  private refersTo(nodes: ts.Node[], values: boolean): string | undefined {
    const targets: Exported[] = [];
    for (const ref of nodes.flatMap((node) => this.refs(node, values))) {
      const target = values && !isTypePosition(ref.id) ? this.home.get(ref.found.node) : this.note(ref);
      if (target && target !== this.current && !targets.includes(target)) targets.push(target);
    }
    if (!targets.length) return undefined;
    return wrapJoin(
      targets.map((t) => `[${code(t.name)}](${this.href(t)})`),
      "Refers to: ",
      "",
    );
  }

  /** "Used by" links: the exported symbols whose sections name the current one. */
  private usedByText(): string | undefined {
    const users = this.current && this.usedBy.get(this.current);
    if (!this.complete || !users?.size) return undefined;
    const order = this.api.exports;
    return wrapJoin(
      [...users]
        .sort((a, b) => order.indexOf(a) - order.indexOf(b))
        .map((u) => `[${code(u.name)}](${this.href(u)})`),
      "Used by: ",
      "",
    );
  }

  // ---- members

  /** One property (or method, index signature) as a list item, its nested object type as sub-items. */
  private member(m: ts.TypeElement | ts.ClassElement, opts: { interface: boolean }): string | undefined {
    const doc = docOf(m);
    const optional = "questionToken" in m && m.questionToken !== undefined;
    let name: string;
    let type: string;
    let nested: string[] = [];
    if (ts.isPropertySignature(m) || ts.isPropertyDeclaration(m)) {
      name = m.name.getText();
      const t = m.type;
      if (t && ts.isTypeLiteralNode(t) && (t.getText().length > 60 || t.members.some((c) => docOf(c)))) {
        type = "object";
        nested = this.members(t.members, opts);
      } else type = t ? this.typeMd(t) : "(inferred)";
    } else if (ts.isMethodSignature(m) || ts.isMethodDeclaration(m)) {
      name = `${m.name.getText()}(${m.parameters.map((p) => p.name.getText()).join(", ")})`;
      type = this.signatureMd(m);
    } else if (ts.isIndexSignatureDeclaration(m)) {
      name = `[${m.parameters.map((p) => p.getText()).join(", ")}]`;
      type = this.typeMd(m.type);
    } else if (ts.isGetAccessorDeclaration(m)) {
      name = m.name.getText();
      type = m.type ? this.typeMd(m.type) : "(inferred)";
    } else return undefined;

    const flags: string[] = [];
    if (opts.interface) flags.push(optional ? "optional" : "required");
    else if (optional) flags.push("optional");
    if (!opts.interface && ts.isPropertyDeclaration(m) && !hasModifier(m, ts.SyntaxKind.ReadonlyKeyword))
      flags.push("writable");
    const dflt = tagText(doc, "default");
    const head = `- **${code(name)}**${flags.length ? ` (${flags.join(", ")})` : ""}: ${type}`;
    const dfltMd =
      dflt === undefined ? undefined : defaultText(dflt.replace(/\s+/g, " "), (n) => this.linkName(n));
    const inline = dfltMd !== undefined && `${head} — default: ${dfltMd}`.length <= WIDTH;
    const blocks = [inline ? `${head} — default: ${dfltMd}` : head];
    if (doc?.text) blocks.push(indentLines(this.prose(doc.text), "  "));
    if (dfltMd !== undefined && !inline) blocks.push(`  Default: ${dfltMd}`);
    const example = tagText(doc, "example");
    if (example !== undefined) {
      blocks.push(
        example.includes("\n")
          ? indentLines(`Example:\n\n${fenced(example)}`, "  ")
          : `  Example: ${code(example)}`,
      );
    }
    for (const other of doc?.tags ?? [])
      if (!["default", "example"].includes(other.tag))
        blocks.push(indentLines(`${capital(other.tag)}: ${this.prose(other.text)}`, "  "));
    if (nested.length) blocks.push(indentLines(nested.join("\n"), "  "));
    return blocks.join("\n\n");
  }

  private members(
    members: ts.NodeArray<ts.TypeElement> | readonly ts.ClassElement[],
    opts: { interface: boolean },
  ): string[] {
    return members.flatMap((m) => this.member(m, opts) ?? []);
  }

  private paramsMd(params: ts.NodeArray<ts.ParameterDeclaration>): string {
    return params
      .map((p) => {
        const optional = p.questionToken || p.initializer ? "?" : "";
        const rest = p.dotDotDotToken ? "..." : "";
        const name = p.name.getText().replace(/\s+/g, " ");
        return `${rest}${name}${optional}${p.type ? `: ${this.source(p.type).replace(/\s+/g, " ")}` : ""}`;
      })
      .join(", ");
  }

  /** A method's type, `(params) => Return`, linked. */
  private signatureMd(m: ts.SignatureDeclarationBase): string {
    for (const p of m.parameters) if (p.type) this.typeMd(p.type);
    const ret = m.type ? this.typeMd(m.type) : code("(inferred)");
    return `${code(`(${this.paramsMd(m.parameters)}) =>`)} ${ret}`;
  }

  private functionSource(name: string, fn: ts.SignatureDeclarationBase): string {
    const typeParams = fn.typeParameters ? `<${fn.typeParameters.map((t) => t.getText()).join(", ")}>` : "";
    const ret = fn.type ? `: ${this.source(fn.type).replace(/\s+/g, " ")}` : "";
    return `function ${name}${typeParams}(${this.paramsMd(fn.parameters)})${ret};`;
  }

  // ---- sections

  private section(e: Exported): string {
    this.current = e;
    const doc = docOf(e.node);
    const blocks = [`### ${code(e.name)}`];
    const where = `Source: [${e.file}](${posix.relative(API_DOCS_DIR, e.file)})`;
    if (e.group === "component" || ts.isClassDeclaration(e.node))
      blocks.push(...this.classBlocks(e, doc, where));
    else if (ts.isInterfaceDeclaration(e.node)) blocks.push(...this.interfaceBlocks(e.node, doc, where));
    else if (e.group === "function") blocks.push(...this.functionBlocks(e, doc, where));
    else if (ts.isVariableDeclaration(e.node)) blocks.push(...this.constantBlocks(e.node, doc, where));
    else {
      // A type alias or an enum: its source.
      if (doc?.text) blocks.push(this.prose(doc.text));
      blocks.push(fenced(this.source(e.node)));
      const refs = this.refersTo([e.node], false);
      blocks.push([refs, this.usedByText(), `${where}.`].filter(Boolean).join("\n"));
      blocks.push(...this.tagBlocks(doc));
    }
    this.current = undefined;
    return blocks.join("\n\n");
  }

  private tagBlocks(doc: Doc | undefined, skip: string[] = ["default"]): string[] {
    const out: string[] = [];
    for (const t of doc?.tags ?? []) {
      if (skip.includes(t.tag)) continue;
      if (t.tag === "example") out.push(`**Example**\n\n${fenced(t.text)}`);
      else out.push(`**${capital(t.tag)}**: ${this.prose(t.text)}`);
    }
    return out;
  }

  private classBlocks(e: Exported, doc: Doc | undefined, where: string): string[] {
    const node = e.node as ts.ClassDeclaration;
    const blocks: string[] = [];
    if (doc?.text) blocks.push(this.prose(doc.text));
    const ctor = node.members.find(ts.isConstructorDeclaration);
    const heritage = node.heritageClauses?.map((h) => ` ${h.getText()}`).join("") ?? "";
    blocks.push(
      fenced(
        `class ${e.name}${heritage.replace(/\s+/g, " ")} {\n` +
          (ctor ? `  constructor(${this.paramsMd(ctor.parameters)});\n` : "") +
          `}`,
      ),
    );
    const facts: string[] = [];
    if (e.typeOnly) facts.push("Exported as a type only: the package does not export the class itself.");
    const args = e.group === "component" && ctor ? argsParam(ctor) : undefined;
    if (args?.type) facts.push(`Args: ${this.typeMd(args.type)}.`);
    for (const p of ctor?.parameters ?? []) if (p !== args && p.type) this.typeMd(p.type);
    const token = ctor && pulumiType(ctor);
    if (token) facts.push(`Pulumi type: ${code(token)}.`);
    if (e.group !== "component") facts.push(this.usedByText() ?? "");
    facts.push(`${where}.`);
    blocks.push(facts.filter(Boolean).join("\n"));
    blocks.push(...this.tagBlocks(doc));
    const publicMembers = node.members.filter(
      (m) =>
        !ts.isConstructorDeclaration(m) &&
        !hasModifier(m, ts.SyntaxKind.PrivateKeyword) &&
        !hasModifier(m, ts.SyntaxKind.ProtectedKeyword) &&
        !hasModifier(m, ts.SyntaxKind.StaticKeyword) &&
        !(m.name && ts.isPrivateIdentifier(m.name)),
    );
    const nodes = publicMembers.find((m) => m.name?.getText() === "nodes");
    const props = this.members(
      publicMembers.filter((m) => m !== nodes && !ts.isMethodDeclaration(m)),
      { interface: false },
    );
    if (props.length) blocks.push(`**Properties**\n\n${props.join("\n")}`);
    const methods = this.members(publicMembers.filter(ts.isMethodDeclaration), { interface: false });
    if (methods.length) blocks.push(`**Methods**\n\n${methods.join("\n")}`);
    if (nodes && ts.isPropertyDeclaration(nodes) && nodes.type) {
      const t = nodes.type;
      const nodesDoc = docOf(nodes);
      const intro =
        `**Children** (${code("nodes")})` + (ts.isTypeLiteralNode(t) ? "" : `: ${this.typeMd(t)}`);
      const items = ts.isTypeLiteralNode(t) ? this.members(t.members, { interface: false }) : [];
      blocks.push(
        [intro, nodesDoc?.text ? this.prose(nodesDoc.text) : "", items.join("\n")]
          .filter(Boolean)
          .join("\n\n"),
      );
    }
    return blocks;
  }

  private interfaceBlocks(node: ts.InterfaceDeclaration, doc: Doc | undefined, where: string): string[] {
    const blocks: string[] = [];
    if (doc?.text) blocks.push(this.prose(doc.text));
    const facts: string[] = [];
    const typeParams = node.typeParameters?.map((t) => t.getText()).join(", ");
    if (typeParams) facts.push(`Type parameters: ${code(typeParams)}.`);
    for (const h of node.heritageClauses ?? [])
      facts.push(`Extends ${h.types.map((t) => this.typeMd(t)).join(", ")}: its properties apply too.`);
    facts.push(this.usedByText() ?? "", `${where}.`);
    blocks.push(facts.filter(Boolean).join("\n"));
    blocks.push(...this.tagBlocks(doc));
    const props = this.members(node.members, { interface: true });
    if (props.length) blocks.push(`**Properties**\n\n${props.join("\n")}`);
    return blocks;
  }

  private functionBlocks(e: Exported, doc: Doc | undefined, where: string): string[] {
    const blocks: string[] = [];
    let signatures: ts.SignatureDeclarationBase[];
    if (ts.isVariableDeclaration(e.node)) {
      signatures = [skipOuterExpressions(e.node.initializer!) as ts.ArrowFunction];
    } else {
      const name = e.node.name!.text;
      const all = e.node
        .getSourceFile()
        .statements.filter(
          (s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name?.text === name,
        );
      const overloads = all.filter((f) => !f.body);
      signatures = overloads.length ? overloads : all;
    }
    if (doc?.text) blocks.push(this.prose(doc.text));
    blocks.push(fenced(signatures.map((s) => this.functionSource(e.name, s)).join("\n")));
    // The signatures only: a body's types are not the API.
    const refs = this.refersTo(
      signatures.flatMap((s) => [...(s.typeParameters ?? []), ...s.parameters, ...(s.type ? [s.type] : [])]),
      false,
    );
    blocks.push([refs, `${where}.`].filter(Boolean).join("\n"));
    blocks.push(...this.tagBlocks(doc));
    return blocks;
  }

  private constantBlocks(node: ts.VariableDeclaration, doc: Doc | undefined, where: string): string[] {
    const blocks: string[] = [];
    if (doc?.text) blocks.push(this.prose(doc.text));
    const name = node.name.getText();
    const type = node.type ? `: ${this.source(node.type)}` : "";
    const init = node.initializer ? this.source(node.initializer) : undefined;
    const shown =
      init !== undefined && init.split("\n").length <= MAX_VALUE_LINES
        ? `const ${name}${type} = ${init};`
        : `const ${name}${type || ": …"};`;
    blocks.push(fenced(shown));
    const refs = this.refersTo([node], true);
    blocks.push([refs, `${where}.`].filter(Boolean).join("\n"));
    blocks.push(...this.tagBlocks(doc));
    return blocks;
  }

  // ---- pages

  renderPage(entry: Entry): string {
    this.page = entry;
    const mine = this.api.exports.filter((e) => e.entry === entry);
    const doc = moduleDoc(this.sources.file(entry.file));
    const lines = [
      `# ${code(entry.pkg)}`,
      GENERATED,
      `[API reference](${INDEX_PAGE}) · entry source: [${entry.file}](${posix.relative(API_DOCS_DIR, entry.file)})`,
    ];
    if (doc?.text) lines.push(this.prose(doc.text));
    const example = tagText(doc, "example");
    if (example) lines.push(fenced(example));
    const sections: string[] = [];
    const contents: string[] = [];
    for (const { group, title } of GROUPS) {
      const members = mine.filter((e) => e.group === group);
      if (!members.length) continue;
      contents.push(
        wrapJoin(
          members.map((e) => `[${code(e.name)}](#${anchor(e.name)})`),
          `- [${title}](#${anchor(title)}): `,
          "  ",
        ),
      );
      sections.push(`## ${title}`, ...members.map((e) => this.section(e)));
    }
    lines.push(`## Contents\n\n${contents.join("\n")}`, ...sections);
    this.page = undefined;
    return lines.join("\n\n") + "\n";
  }

  renderIndex(): string {
    const lines = [
      "# API reference",
      GENERATED,
      [
        "The library's public surface is its package entries (package.json `exports`). Each page lists every symbol",
        "its entry exports, by kind: components, their args interfaces, other types, constants and functions.",
      ].join("\n"),
      [
        "Types are shown as written in the source. `pulumi.`, `docker.`, `random.` and `command.` are the",
        "`@pulumi/pulumi`, `@pulumi/docker`, `@pulumi/random` and `@pulumi/command` packages; `aws.` is",
        "`@pulumi/aws` (its service modules: `aws.s3` is `@pulumi/aws/s3`).",
      ].join("\n"),
    ];
    const rows = ["| import | page | exports |", "| --- | --- | --- |"];
    for (const entry of this.api.entries) {
      const mine = this.api.exports.filter((e) => e.entry === entry);
      const counts = GROUPS.map(({ group, title }) => {
        const n = mine.filter((e) => e.group === group).length;
        return n ? `${title.toLowerCase()}: ${n}` : "";
      }).filter(Boolean);
      rows.push(`| ${code(entry.pkg)} | [${entry.page}](${entry.page}) | ${counts.join("; ")} |`);
    }
    lines.push(rows.join("\n"));
    // Components by tier (their folder under components/) and target.
    const components = this.api.exports.filter((e) => e.group === "component" && !e.typeOnly);
    const tiers = [...new Set(components.map((c) => c.file.split("/")[1]!))];
    const entries = this.api.entries.filter((en) => components.some((c) => c.entry === en));
    const table = [
      `| tier | ${entries.map((en) => code(en.pkg)).join(" | ")} |`,
      `| --- | ${entries.map(() => "---").join(" | ")} |`,
    ];
    for (const tier of tiers) {
      const cells = entries.map((en) =>
        components
          .filter((c) => c.entry === en && c.file.split("/")[1] === tier)
          .map((c) => `[${code(c.name)}](${en.page}#${anchor(c.name)})`)
          .join(", "),
      );
      table.push(`| ${tier} | ${cells.join(" | ")} |`);
    }
    lines.push(
      "## Components",
      "By tier (their folder in components/) and target. A tier's components expose the same connection contract.",
    );
    lines.push(table.join("\n"));
    return lines.join("\n\n") + "\n";
  }
}

const GENERATED = [
  "<!-- Generated by scripts/api-docs.ts from the library's TSDoc; do not edit.",
  "     Regenerate: npm run build && node bin/scripts/api-docs.js -->",
].join("\n");

const capital = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function isTypePosition(id: ts.Identifier): boolean {
  for (let n: ts.Node = id; n.parent; n = n.parent) {
    if (ts.isTypeNode(n)) return true;
    if (ts.isExpression(n) && !ts.isIdentifier(n)) return false;
  }
  return false;
}

/** An identifier that reads a value (not a property name, a declaration's name, or a member access). */
function isValueReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if (
    (ts.isPropertyAssignment(p) || ts.isPropertySignature(p) || ts.isPropertyDeclaration(p)) &&
    p.name === id
  )
    return false;
  if (ts.isVariableDeclaration(p) && p.name === id) return false;
  if (ts.isParameter(p) || ts.isBindingElement(p) || ts.isTypeParameterDeclaration(p)) return false;
  if (ts.isQualifiedName(p) || ts.isTypeReferenceNode(p)) return false;
  return ts.isExpression(id);
}

/** The constructor's args parameter: the one named `args`, else the second. */
function argsParam(ctor: ts.ConstructorDeclaration): ts.ParameterDeclaration | undefined {
  return ctor.parameters.find((p) => p.name.getText() === "args") ?? ctor.parameters[1];
}

/** The type token a component passes to `super()`. */
function pulumiType(ctor: ts.ConstructorDeclaration): string | undefined {
  for (const st of ctor.body?.statements ?? []) {
    if (!ts.isExpressionStatement(st) || !ts.isCallExpression(st.expression)) continue;
    const call = st.expression;
    if (call.expression.kind === ts.SyntaxKind.SuperKeyword) {
      const first = call.arguments[0];
      return first && ts.isStringLiteralLike(first) ? first.text : undefined;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The findings

/**
 * Gaps in the components' documentation and escape hatches, one line each: every component class the package
 * exports (as a value) whose args interface has a property without a doc comment (or with tags only), an optional
 * one without `@default`; every component without `@example` in its TSDoc, without a public `nodes`, or whose args
 * have no `transform`.
 */
export function lintComponents(api: Api): string[] {
  const { sources } = api;
  const findings: string[] = [];
  for (const e of api.exports) {
    if (e.group !== "component" || e.typeOnly) continue;
    const cls = e.node as ts.ClassDeclaration;
    const doc = docOf(cls);
    if (tagText(doc, "example") === undefined) findings.push(`${e.name}: no @example`);
    const nodes = cls.members.find(
      (m) =>
        m.name?.getText() === "nodes" &&
        ts.isPropertyDeclaration(m) &&
        !hasModifier(m, ts.SyntaxKind.PrivateKeyword) &&
        !hasModifier(m, ts.SyntaxKind.ProtectedKeyword),
    );
    if (!nodes) findings.push(`${e.name}: no public nodes`);
    const ctor = cls.members.find(ts.isConstructorDeclaration);
    const args = ctor && argsParam(ctor);
    const ref = args?.type && ts.isTypeReferenceNode(args.type) ? args.type.typeName.getText() : undefined;
    const found = ref ? sources.inScope(e.file, ref) : undefined;
    if (!found || !ts.isInterfaceDeclaration(found.node)) {
      findings.push(
        `${e.name}: args ${args?.type ? args.type.getText() : "missing"} is not an interface of ours`,
      );
      continue;
    }
    const argsName = found.node.name.text;
    const props = interfaceProperties(sources, found);
    if (!props.some((p) => p.name.getText() === "transform"))
      findings.push(`${e.name}: ${argsName} has no transform`);
    for (const p of props) {
      const pdoc = docOf(p);
      const at = `${e.name}: ${argsName}.${p.name.getText()}`;
      if (!pdoc) findings.push(`${at} has no doc comment`);
      else if (!pdoc.text) findings.push(`${at} has tags but no description`);
      if (p.questionToken && tagText(pdoc, "default") === undefined)
        findings.push(`${at} is optional without @default`);
    }
  }
  return findings;
}

/** An interface's properties, inherited ones (from interfaces of ours) first. */
function interfaceProperties(
  sources: Sources,
  found: Found,
  seen = new Set<ts.Node>(),
): ts.PropertySignature[] {
  const node = found.node as ts.InterfaceDeclaration;
  if (seen.has(node)) return [];
  seen.add(node);
  const inherited = (node.heritageClauses ?? []).flatMap((h) =>
    h.types.flatMap((t) => {
      const base = ts.isIdentifier(t.expression) ? sources.inScope(found.file, t.expression.text) : undefined;
      return base && ts.isInterfaceDeclaration(base.node) ? interfaceProperties(sources, base, seen) : [];
    }),
  );
  const own = node.members.filter(ts.isPropertySignature);
  return [...inherited.filter((p) => !own.some((o) => o.name.getText() === p.name.getText())), ...own];
}

// ---------------------------------------------------------------------------------------------------------------
// Putting it together

export interface ApiDocs {
  /** Page file name (in docs/api/) → content. */
  pages: Map<string, string>;
  /** `Name (file) ← the exported symbols that name it`: types of ours in the public API that no entry exports. */
  leakedTypes: string[];
  findings: string[];
}

const PRETTIER_PLUGINS = [markdownPlugin, estreePlugin, typescriptPlugin] as PrettierPlugin[];

/** Renders every page, formatted the way `prettier --check` wants it (the repository's .prettierrc). */
export async function renderApiDocs(root: string): Promise<ApiDocs> {
  const api = readApi(root);
  const renderer = new Renderer(api);
  // A first pass finds who uses what; the second renders with it.
  for (const entry of api.entries) renderer.renderPage(entry);
  renderer.complete = true;
  const raw = new Map<string, string>();
  for (const entry of api.entries) raw.set(entry.page, renderer.renderPage(entry));
  raw.set(INDEX_PAGE, renderer.renderIndex());
  const options = JSON.parse(readFileSync(join(root, ".prettierrc.json"), "utf8")) as PrettierOptions;
  const pages = new Map<string, string>();
  for (const [page, text] of raw)
    pages.set(
      page,
      await prettier.format(text, { ...options, parser: "markdown", plugins: PRETTIER_PLUGINS }),
    );
  const leakedTypes = [...renderer.leaks]
    .map(([type, users]) => `${type} ← ${[...users].join(", ")}`)
    .sort((a, b) => a.localeCompare(b, "en"));
  return { pages, leakedTypes, findings: lintComponents(api) };
}

if (require.main === module) {
  // Compiled to bin/scripts/: the repo root is two levels up.
  const root = join(__dirname, "..", "..");
  void renderApiDocs(root).then(({ pages, leakedTypes, findings }) => {
    const dir = join(root, API_DOCS_DIR);
    mkdirSync(dir, { recursive: true });
    for (const stale of readdirSync(dir))
      if (!pages.has(stale)) rmSync(join(dir, stale), { recursive: true });
    for (const [page, text] of pages) writeFileSync(join(dir, page), text);
    process.stdout.write(`wrote ${[...pages.keys()].map((p) => `${API_DOCS_DIR}/${p}`).join(", ")}\n`);
    if (findings.length)
      process.stdout.write(
        `\ncomponent gaps (${findings.length}):\n${findings.map((f) => `  ${f}\n`).join("")}`,
      );
    if (leakedTypes.length)
      process.stdout.write(
        `\ntypes the API names but no entry exports (${leakedTypes.length}):\n${leakedTypes.map((f) => `  ${f}\n`).join("")}`,
      );
  });
}
