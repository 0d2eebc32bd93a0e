/**
 * Generates the key tables of docs/configuration.md from the stack-config zod schema (`stackConfigSchema`,
 * src/config/stack.ts) and the TSDoc comments on the properties of the object literals it is built from
 * (src/config/**\/*.ts). Only the regions between `<!-- generated:<id> -->` and `<!-- end generated -->` are
 * generated; everything around them is hand-written and kept as it is.
 *
 * `npm run build && node bin/scripts/config-docs.js` rewrites the file; tests/unit/config-docs.test.ts fails when
 * the committed file is not what this renders.
 *
 * How a zod object finds its comments: every object literal passed to `z.object` / `z.strictObject` (and every
 * `.extend({…})`, `.omit({…})`, `.pick({…})` of one) is read with the TypeScript parser, and a zod object takes the
 * comments of the literal with the same keys (and, for keys the source gives as `z.literal(…)`, the same values).
 * When several match, the one written inside the literal of the object that holds it wins, then one written on its
 * own (a `const`); literals still tied must document every key alike, or rendering fails naming both places.
 * A key without a comment of its own takes the comment on the `const` of the object it holds.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import * as ts from "typescript";
import { z } from "zod";
import { CONFIG_NAMESPACE } from "../src/config/keys";
import { cidr, dnsName, ipv4, keyName, pinnedImage, port, urlPath } from "../src/config/schema";
import { stackConfigSchema } from "../src/config/stack";
import { repoRoot } from "./root";

// ---------------------------------------------------------------------------------------------------------
// Comments, read from the source

/** A property's TSDoc: the text, and its `@default` tag (the default in words, when zod has none). */
export interface PropDoc {
  text: string;
  default?: string;
}

/** What the source says about one object literal (or a derived one: `.extend`, `.omit`, `.pick`). */
export interface ObjectDoc {
  props: Map<string, PropDoc>;
  /** Keys given as `z.literal(<value>)` in the source: they tell apart the members of a discriminated union. */
  literals: Map<string, unknown>;
  /** The TSDoc of the `const` it is assigned to, or of the expression itself (a member of a union). */
  doc?: string;
  /** `file:line`, for error messages. */
  where: string;
  /** Where the expression is: a file and a character range, and whether it sits inside another object's literal. */
  file: string;
  range: [number, number];
  inline: boolean;
}

/** All object literals of the config schema, by their key set. */
export interface SourceDocs {
  bySignature: Map<string, ObjectDoc[]>;
}

const signature = (keys: Iterable<string>) => [...keys].sort().join(",");

/** The text and `@default` of a `/** … *\/` comment, whitespace collapsed. */
export function parseTsDoc(comment: string): PropDoc {
  const body = comment
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, ""))
    .join("\n");
  const [text = "", ...tags] = body.split(/(?:^|\s)(?=@(?:default|example|see)\b)/);
  const squash = (s: string) => s.replace(/\s+/g, " ").trim();
  const doc: PropDoc = { text: squash(text) };
  for (const tag of tags) {
    const m = /^@default\b([\s\S]*)$/.exec(tag);
    if (m) doc.default = squash(m[1]!);
  }
  return doc;
}

/** The `/** … *\/` comment right before a node, if any. */
function leadingTsDoc(node: ts.Node, sf: ts.SourceFile): string | undefined {
  const ranges = ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? [];
  const last = ranges[ranges.length - 1];
  if (!last || !sf.text.startsWith("/**", last.pos)) return undefined;
  return sf.text.slice(last.pos, last.end);
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((e) =>
      e.isDirectory() ? listTs(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
    );
}

const OBJECT_FACTORIES = new Set(["object", "strictObject", "looseObject"]);
const DERIVATIONS = new Set(["extend", "omit", "pick"]);

/** Reads every `.ts` file under `dir` (src/config) and indexes the object literals of its zod schemas. */
export function readSourceDocs(dir: string, root = dir): SourceDocs {
  const files = new Map<string, ts.SourceFile>();
  for (const path of listTs(resolve(dir)))
    files.set(path, ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, true));

  /** The initializer of a top-level `const name = …` of `sf`, or of the module it is imported from. */
  function resolveConst(
    name: string,
    sf: ts.SourceFile,
  ): { init: ts.Expression; sf: ts.SourceFile } | undefined {
    for (const stmt of sf.statements) {
      if (ts.isVariableStatement(stmt)) {
        for (const d of stmt.declarationList.declarations)
          if (ts.isIdentifier(d.name) && d.name.text === name && d.initializer)
            return { init: d.initializer, sf };
      }
      if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier)) {
        const bindings = stmt.importClause?.namedBindings;
        if (!bindings || !ts.isNamedImports(bindings)) continue;
        const spec = bindings.elements.find((e) => e.name.text === name);
        if (!spec || !stmt.moduleSpecifier.text.startsWith(".")) continue;
        const other = files.get(resolve(dirname(sf.fileName), `${stmt.moduleSpecifier.text}.ts`));
        if (other) return resolveConst((spec.propertyName ?? spec.name).text, other);
      }
    }
    return undefined;
  }

  interface Evaluated {
    props: Map<string, PropDoc>;
    literals: Map<string, unknown>;
  }

  function literalValue(expr: ts.Expression): { value: unknown } | undefined {
    if (
      ts.isCallExpression(expr) &&
      ts.isPropertyAccessExpression(expr.expression) &&
      expr.expression.name.text === "literal" &&
      expr.arguments.length === 1
    ) {
      const a = expr.arguments[0]!;
      if (ts.isStringLiteral(a)) return { value: a.text };
      if (ts.isNumericLiteral(a)) return { value: Number(a.text) };
      if (a.kind === ts.SyntaxKind.TrueKeyword) return { value: true };
      if (a.kind === ts.SyntaxKind.FalseKeyword) return { value: false };
    }
    return undefined;
  }

  /** The properties of an object literal, spreads of same-module or imported `const` literals included. */
  function literalProps(obj: ts.ObjectLiteralExpression, sf: ts.SourceFile): Evaluated | undefined {
    const props = new Map<string, PropDoc>();
    const literals = new Map<string, unknown>();
    for (const p of obj.properties) {
      if (ts.isSpreadAssignment(p)) {
        const target = ts.isIdentifier(p.expression) ? resolveConst(p.expression.text, sf) : undefined;
        if (!target || !ts.isObjectLiteralExpression(target.init)) return undefined;
        const spread = literalProps(target.init, target.sf);
        if (!spread) return undefined;
        spread.props.forEach((v, k) => props.set(k, v));
        spread.literals.forEach((v, k) => literals.set(k, v));
        continue;
      }
      if (!(ts.isPropertyAssignment(p) || ts.isShorthandPropertyAssignment(p))) return undefined;
      if (!(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) return undefined;
      const comment = leadingTsDoc(p, sf);
      props.set(p.name.text, comment ? parseTsDoc(comment) : { text: "" });
      const lit = ts.isPropertyAssignment(p) ? literalValue(p.initializer) : undefined;
      if (lit) literals.set(p.name.text, lit.value);
    }
    return { props, literals };
  }

  function evaluate(expr: ts.Expression, sf: ts.SourceFile, depth = 0): Evaluated | undefined {
    if (depth > 20) return undefined;
    if (ts.isParenthesizedExpression(expr) || ts.isAsExpression(expr))
      return evaluate(expr.expression, sf, depth + 1);
    if (ts.isIdentifier(expr)) {
      const target = resolveConst(expr.text, sf);
      return target && evaluate(target.init, target.sf, depth + 1);
    }
    if (!ts.isCallExpression(expr) || !ts.isPropertyAccessExpression(expr.expression)) return undefined;
    const method = expr.expression.name.text;
    const receiver = expr.expression.expression;
    const arg = expr.arguments[0];
    if (!arg || !ts.isObjectLiteralExpression(arg)) return undefined;
    if (OBJECT_FACTORIES.has(method) && ts.isIdentifier(receiver) && receiver.text === "z")
      return literalProps(arg, sf);
    if (!DERIVATIONS.has(method)) return undefined;
    const base = evaluate(receiver, sf, depth + 1);
    const own = literalProps(arg, sf);
    if (!base || !own) return undefined;
    if (method === "extend") {
      const props = new Map(base.props);
      // A redefined key keeps the base's description unless it has its own; its default is the new schema's.
      own.props.forEach((doc, k) => props.set(k, doc.text ? doc : { text: base.props.get(k)?.text ?? "" }));
      const literals = new Map(base.literals);
      own.props.forEach((_, k) => literals.delete(k));
      own.literals.forEach((v, k) => literals.set(k, v));
      return { props, literals };
    }
    const keep = (k: string) => own.props.has(k) === (method === "pick");
    return {
      props: new Map([...base.props].filter(([k]) => keep(k))),
      literals: new Map([...base.literals].filter(([k]) => keep(k))),
    };
  }

  /** The TSDoc of the `const` an expression (possibly inside a method chain) is assigned to, or of itself. */
  function ownerDoc(call: ts.CallExpression, sf: ts.SourceFile): string | undefined {
    if (ts.isArrayLiteralExpression(call.parent)) return leadingTsDoc(call, sf);
    let node: ts.Node = call;
    while (
      (ts.isPropertyAccessExpression(node.parent) && node.parent.expression === node) ||
      (ts.isCallExpression(node.parent) && node.parent.expression === node)
    )
      node = node.parent;
    if (ts.isVariableDeclaration(node.parent) && ts.isVariableStatement(node.parent.parent.parent))
      return leadingTsDoc(node.parent.parent.parent, sf);
    return undefined;
  }

  const bySignature = new Map<string, ObjectDoc[]>();
  for (const sf of files.values()) {
    const visit = (node: ts.Node, inline: boolean): void => {
      let found = false;
      if (
        ts.isCallExpression(node) &&
        ts.isPropertyAccessExpression(node.expression) &&
        (OBJECT_FACTORIES.has(node.expression.name.text) || DERIVATIONS.has(node.expression.name.text))
      ) {
        const evaluated = evaluate(node, sf);
        if (evaluated) {
          found = true;
          const comment = ownerDoc(node, sf);
          const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
          const entry: ObjectDoc = {
            ...evaluated,
            ...(comment && { doc: parseTsDoc(comment).text }),
            where: `${relative(root, sf.fileName).split("\\").join("/")}:${line}`,
            file: sf.fileName,
            range: [node.getStart(sf), node.getEnd()],
            inline,
          };
          const sig = signature(evaluated.props.keys());
          bySignature.set(sig, [...(bySignature.get(sig) ?? []), entry]);
        }
      }
      ts.forEachChild(node, (child) => visit(child, inline || found));
    };
    visit(sf, false);
  }
  return { bySignature };
}

// ---------------------------------------------------------------------------------------------------------
// The schema, walked

type Schema = z.ZodType;
interface Def {
  type: string;
  [key: string]: unknown;
}
const defOf = (s: Schema) => s._zod.def as unknown as Def;

/** Schemas of src/config/schema.ts that get a name of their own in the tables (explained in the `types` region). */
const NAMED: { schema: Schema; name: string; meaning: string }[] = [
  {
    schema: keyName,
    name: "name",
    meaning: "lower-case letters, digits and `-`, starting with a letter, at most 31 characters",
  },
  {
    schema: pinnedImage,
    name: "image",
    meaning:
      "a container image pinned to a tag or digest (`name:tag`, `name@sha256:…`); `:latest` is refused",
  },
  { schema: port, name: "port", meaning: "a port number, 1–65535" },
  { schema: ipv4, name: "IPv4", meaning: "an IPv4 address such as `127.0.0.1`" },
  {
    schema: cidr,
    name: "CIDR",
    meaning: "an IPv4 CIDR block such as `10.0.0.0/8`; a bare address means `/32`",
  },
  { schema: dnsName, name: "DNS name", meaning: "a host name such as `maps.example.org`" },
  { schema: urlPath, name: "URL path", meaning: "starts with `/`, URL path characters only" },
];

interface Unwrapped {
  inner: Schema;
  optional: boolean;
  default?: { value: unknown };
}

function unwrap(schema: Schema): Unwrapped {
  let s = schema;
  let optional = false;
  let dflt: { value: unknown } | undefined;
  for (;;) {
    const d = defOf(s);
    if (d.type === "optional" || d.type === "nullable" || d.type === "readonly" || d.type === "catch") {
      if (d.type === "optional") optional = true;
      s = d.innerType as Schema;
    } else if (d.type === "default" || d.type === "prefault") {
      dflt ??= { value: d.defaultValue };
      s = d.innerType as Schema;
    } else if (d.type === "pipe") {
      s = d.in as Schema;
    } else {
      return { inner: s, optional, ...(dflt && { default: dflt }) };
    }
  }
}

const isObject = (s: Schema) => defOf(s).type === "object";
const shapeOf = (s: Schema) => defOf(s).shape as Record<string, Schema>;
const unionOptions = (s: Schema) => (defOf(s).options as Schema[]).map((o) => unwrap(o).inner);
const literalValues = (s: Schema): unknown[] | undefined => {
  const d = defOf(s);
  if (d.type === "literal") return d.values as unknown[];
  if (d.type === "enum") return Object.values(d.entries as Record<string, unknown>);
  return undefined;
};

/** A value as it would be written in YAML flow style: `{ port: 9000, address: 127.0.0.1 }`. */
export function flow(v: unknown): string {
  if (typeof v === "string")
    // Quoted only where YAML would read something else: a number, a boolean, null, or unusual characters.
    return /^[A-Za-z0-9_./@-][A-Za-z0-9_./:@-]*$/.test(v) &&
      !/^(true|false|null|~|[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?)$/i.test(v)
      ? v
      : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(flow).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v);
    return entries.length ? `{ ${entries.map(([k, x]) => `${k}: ${flow(x)}`).join(", ")} }` : "{}";
  }
  return String(v);
}

const code = (s: string) => `\`${s}\``;

function numberType(d: Def): string {
  const checks = ((d.checks as { _zod: { def: Record<string, unknown> } }[] | undefined) ?? []).map(
    (c) => c._zod.def,
  );
  const int = checks.some((c) => c.check === "number_format" && /int/.test(String(c.format)));
  const lo = checks.find((c) => c.check === "greater_than");
  const hi = checks.find((c) => c.check === "less_than");
  const bounds =
    lo && hi && lo.inclusive && hi.inclusive
      ? `${lo.value}–${hi.value}`
      : [lo && `${lo.inclusive ? "≥" : ">"} ${lo.value}`, hi && `${hi.inclusive ? "≤" : "<"} ${hi.value}`]
          .filter(Boolean)
          .join(", ");
  return `${int ? "integer" : "number"}${bounds ? ` (${bounds})` : ""}`;
}

/** A readable type: `string`, `integer (1–3650)`, `` `a` | `b` ``, `CIDR[]`, `map of name → object`, `object | false`. */
export function typeName(schema: Schema): string {
  const s = unwrap(schema).inner;
  const named = NAMED.find((n) => n.schema === s);
  if (named) return named.name;
  const d = defOf(s);
  switch (d.type) {
    case "string":
      return d.format === "email" ? "e-mail" : d.format === "url" ? "URL" : "string";
    case "number":
      return numberType(d);
    case "boolean":
      return "boolean";
    case "literal":
    case "enum":
      return literalValues(s)!
        .map((v) => code(flow(v)))
        .join(" | ");
    case "array": {
      const el = typeName(d.element as Schema);
      return /[ |]/.test(el) ? `(${el})[]` : `${el}[]`;
    }
    case "record":
      return `map of ${typeName(d.keyType as Schema)} → ${typeName(d.valueType as Schema)}`;
    case "object":
      return "object";
    case "union": {
      const parts = unionOptions(s).map(typeName);
      return [...new Set(parts)].join(" | ");
    }
    default:
      return d.type;
  }
}

/** One line of a generated table. */
export interface Row {
  /** Relative to the top-level key: `vpc.natGateways`, `services.<name>.image`. */
  path: string;
  type: string;
  /** As shown: a zod default in backticks, an `@default` text, `required`, or `—`. */
  default: string;
  meaning: string;
  /** The zod default, when there is one (raw value), and the `@default` text, when there is one. */
  zodDefault?: { value: unknown };
  docDefault?: string;
}

/** One top-level `stackport:` key. */
export interface Section {
  key: string;
  type: string;
  required: boolean;
  default?: string;
  rows: Row[];
}

class Walker {
  readonly rows: Row[] = [];
  constructor(private readonly docs: SourceDocs) {}

  /**
   * The source literal of a zod object: the same keys and the same literal values. When several match, those
   * written inside the literal of the object holding it win; failing that, those written on their own (a `const`)
   * win over those written inline in another object; the rest must agree, or it is an error.
   */
  docsOf(obj: Schema, parent?: ObjectDoc): ObjectDoc | undefined {
    const shape = shapeOf(obj);
    let candidates = (this.docs.bySignature.get(signature(Object.keys(shape))) ?? []).filter((c) =>
      [...c.literals].every(([k, v]) => {
        const values = literalValues(unwrap(shape[k]!).inner);
        return values?.length === 1 && values[0] === v;
      }),
    );
    if (candidates.length > 1) {
      const within = candidates.filter(
        (c) =>
          parent && c.file === parent.file && c.range[0] > parent.range[0] && c.range[1] <= parent.range[1],
      );
      const standalone = candidates.filter((c) => !c.inline);
      candidates = within.length ? within : standalone.length ? standalone : candidates;
    }
    if (candidates.length <= 1) return candidates[0];
    const merged: ObjectDoc = {
      ...candidates[0]!,
      props: new Map(),
      where: candidates.map((c) => c.where).join(", "),
    };
    for (const key of Object.keys(shape)) {
      const found = candidates.filter((c) => c.props.get(key)?.text || c.props.get(key)?.default);
      const distinct = new Set(found.map((c) => JSON.stringify(c.props.get(key))));
      if (distinct.size > 1) {
        throw new Error(
          `config-docs: objects with keys {${Object.keys(shape).join(", ")}} at ${found.map((c) => c.where).join(" and ")} ` +
            `document '${key}' differently; give them the same comment or tell them apart (different keys or z.literal values)`,
        );
      }
      merged.props.set(key, found[0]?.props.get(key) ?? { text: "" });
    }
    const docs = new Set(candidates.map((c) => c.doc).filter(Boolean));
    if (docs.size > 1)
      throw new Error(
        `config-docs: objects at ${merged.where} have different comments on their declarations`,
      );
    const [doc] = docs;
    return doc ? { ...merged, doc } : merged;
  }

  /** A key's rows: its own, then those of the object (or objects) inside it. */
  key(schema: Schema, path: string, doc: PropDoc | undefined, parent?: ObjectDoc, condition?: string): void {
    const u = unwrap(schema);
    const text = doc?.text || this.fallbackText(u.inner, parent);
    const row: Row = {
      path,
      type: typeName(u.inner),
      default: this.defaultText(u, doc?.default),
      meaning: [condition, text].filter(Boolean).join(" "),
      ...(u.default && { zodDefault: u.default }),
      ...(doc?.default && { docDefault: doc.default }),
    };
    this.rows.push(row);
    this.children(u.inner, path, parent);
  }

  /** The rows under a value: an object's keys, a union's object members, a map's values (`<name>`). */
  children(inner: Schema, path: string, parent?: ObjectDoc): void {
    const d = defOf(inner);
    const sub = (k: string) => (path ? `${path}.${k}` : k);
    if (d.type === "object") this.object(inner, sub, parent);
    else if (d.type === "record") {
      const value = unwrap(d.valueType as Schema).inner;
      this.children(value, sub("<name>"), parent);
    } else if (d.type === "array") {
      this.children(unwrap(d.element as Schema).inner, `${path}[]`, parent);
    } else if (d.type === "union") {
      const objects = unionOptions(inner).filter(isObject);
      if (objects.length === 1) this.object(objects[0]!, sub, parent);
      else if (objects.length > 1) this.variants(objects, d.discriminator as string | undefined, sub, parent);
    }
  }

  object(obj: Schema, sub: (k: string) => string, parent?: ObjectDoc): void {
    const docs = this.docsOf(obj, parent);
    for (const [k, v] of Object.entries(shapeOf(obj))) this.key(v, sub(k), docs?.props.get(k), docs);
  }

  /** The members of a union of objects: shared keys once, the others marked with the member they belong to. */
  variants(
    objects: Schema[],
    discriminator: string | undefined,
    sub: (k: string) => string,
    parent?: ObjectDoc,
  ): void {
    const docs = objects.map((o) => this.docsOf(o, parent));
    const keys = [...new Set(objects.flatMap((o) => Object.keys(shapeOf(o))))];
    const tag = (o: Schema) => {
      const v = discriminator && literalValues(unwrap(shapeOf(o)[discriminator]!).inner);
      return v && v.length === 1 ? `\`${discriminator}: ${flow(v[0])}\`` : undefined;
    };
    for (const k of keys) {
      const having = objects.map((o, i) => ({ o, i })).filter(({ o }) => k in shapeOf(o));
      const doc = having.map(({ i }) => docs[i]?.props.get(k)).find((p) => p?.text || p?.default);
      if (k === discriminator) {
        const values = having.flatMap(({ o }) => literalValues(unwrap(shapeOf(o)[k]!).inner) ?? []);
        const members = having
          .map(({ o, i }) => ({ v: literalValues(unwrap(shapeOf(o)[k]!).inner)?.[0], d: docs[i]?.doc }))
          .filter((m) => m.d)
          .map((m) => `${code(flow(m.v))}: ${m.d}`);
        this.rows.push({
          path: sub(k),
          type: values.map((v) => code(flow(v))).join(" | "),
          default: "required",
          meaning: [doc?.text, ...members].filter(Boolean).join(" "),
        });
      } else if (having.length === objects.length) {
        this.key(shapeOf(having[0]!.o)[k]!, sub(k), doc, docs[having[0]!.i]);
      } else {
        const tags = having.map(({ o }) => tag(o));
        const condition = tags.every(Boolean) ? `With ${tags.join(" or ")}:` : "In some forms:";
        this.key(shapeOf(having[0]!.o)[k]!, sub(k), doc, docs[having[0]!.i], condition);
      }
    }
  }

  /** A key without a comment of its own takes the comment on the declaration of the object inside it. */
  fallbackText(inner: Schema, parent?: ObjectDoc): string {
    const d = defOf(inner);
    const objects =
      d.type === "object" ? [inner] : d.type === "union" ? unionOptions(inner).filter(isObject) : [];
    return (objects.length === 1 && this.docsOf(objects[0]!, parent)?.doc) || "";
  }

  defaultText(u: Unwrapped, docDefault: string | undefined): string {
    if (u.default) {
      const value = u.default.value;
      // An object default that is just "every key at its default" reads better as `{}`: the rows below say the rest.
      const objects = defOf(u.inner).type === "union" ? unionOptions(u.inner).filter(isObject) : [u.inner];
      const asDefaults = objects.filter(isObject).some((o) => {
        const parsed = o.safeParse({});
        return parsed.success && JSON.stringify(parsed.data) === JSON.stringify(value);
      });
      return code(asDefaults && value !== null && typeof value === "object" ? "{}" : flow(value));
    }
    if (docDefault)
      return /^(-?[\d.]+|true|false|"[^"]*"|\{.*\}|\[.*\])$/.test(docDefault) ? code(docDefault) : docDefault;
    return u.optional ? "—" : "required";
  }
}

/** Every top-level key of the `stackport:` namespace with the rows of its table, in the schema's order. */
export function configSections(docs: SourceDocs, schema: Schema = stackConfigSchema): Section[] {
  return Object.entries(shapeOf(schema)).map(([key, value]) => {
    const walker = new Walker(docs);
    const u = unwrap(value);
    walker.children(u.inner, "");
    return {
      key,
      type: typeName(u.inner),
      required: !u.optional && !u.default,
      ...(u.default && { default: walker.defaultText(u, undefined) }),
      rows: walker.rows,
    };
  });
}

// ---------------------------------------------------------------------------------------------------------
// Markdown

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** A Markdown table with padded columns, the way Prettier formats one. */
function alignedTable(rows: string[][]): string[] {
  const width = (s: string) => [...s].length;
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => width(r[i]!))));
  const line = (r: string[]) => `| ${r.map((c, i) => c + " ".repeat(widths[i]! - width(c))).join(" | ")} |`;
  return [line(rows[0]!), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.slice(1).map(line)];
}

function renderSection(section: Section): string {
  const status = section.required
    ? "Required."
    : section.default
      ? `Default: ${section.default}.`
      : "Optional.";
  const lines = [`Type: ${section.type}. ${status}`];
  if (section.rows.length) {
    lines.push(
      "",
      ...alignedTable([
        ["key", "type", "default", "meaning"],
        ...section.rows.map((r) => [code(r.path), cell(r.type), cell(r.default), cell(r.meaning)]),
      ]),
    );
  }
  return lines.join("\n");
}

function renderTypes(): string {
  return [
    "How to read the tables: a key is relative to its section's `stackport:` key (in `stackport:targets`,",
    "`<name>.vpc.cidr` is `stackport:targets.<name>.vpc.cidr`), and `<name>` stands for a key you choose in a map.",
    "Types are `string`, `boolean`, `number`, `integer (1–3650)` (a whole number in that range), `T[]` (a list),",
    "`map of K → V`, `A | B` (either), values in backticks (literally that value), and these:",
    "",
    ...alignedTable([["type", "what it accepts"], ...NAMED.map((n) => [n.name, cell(n.meaning)])]),
    "",
    "In the default column, `required` means the key must be set whenever the object that holds it is, and `—` means",
    "that the key has no default: absent, the feature is off or the setting is left to the tool.",
  ].join("\n");
}

const REGION = /<!-- generated:(\S+) -->[\s\S]*?<!-- end generated -->/g;
const OPEN = /<!-- generated:(\S+) -->/g;
const CLOSE = /<!-- end generated -->/g;

/** Region ids in order, checking that every region is closed before the next opens. */
export function regionIds(markdown: string): string[] {
  const marks = [
    ...[...markdown.matchAll(OPEN)].map((m) => ({ at: m.index!, id: m[1]! })),
    ...[...markdown.matchAll(CLOSE)].map((m) => ({ at: m.index!, id: undefined })),
  ].sort((a, b) => a.at - b.at);
  const ids: string[] = [];
  let open: string | undefined;
  for (const m of marks) {
    if (m.id !== undefined) {
      if (open !== undefined)
        throw new Error(`config-docs: region '${open}' is not closed before '${m.id}' opens`);
      open = m.id;
    } else {
      if (open === undefined) throw new Error("config-docs: '<!-- end generated -->' without an open region");
      ids.push(open);
      open = undefined;
    }
  }
  if (open !== undefined) throw new Error(`config-docs: region '${open}' is never closed`);
  return ids;
}

/**
 * The document with every generated region rendered anew from the schema; the hand-written text around the
 * regions is kept. Regions: `types` (the named types) and `stackport:<key>`, one per top-level key — each exactly
 * once, so no key can go undocumented.
 */
export function renderConfigDocs(
  current: string,
  docs: SourceDocs,
  schema: Schema = stackConfigSchema,
): string {
  const sections = configSections(docs, schema);
  const ids = regionIds(current);
  const expected = ["types", ...sections.map((s) => `${CONFIG_NAMESPACE}:${s.key}`)];
  const missing = expected.filter((id) => !ids.includes(id));
  const unknown = ids.filter((id) => !expected.includes(id));
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (missing.length || unknown.length || twice.length) {
    throw new Error(
      `config-docs: docs/configuration.md needs exactly one region per id; ${[
        missing.length && `missing: ${missing.join(", ")}`,
        unknown.length && `unknown: ${unknown.join(", ")}`,
        twice.length && `repeated: ${twice.join(", ")}`,
      ]
        .filter(Boolean)
        .join("; ")}`,
    );
  }
  const body = (id: string) =>
    id === "types"
      ? renderTypes()
      : renderSection(sections.find((s) => `${CONFIG_NAMESPACE}:${s.key}` === id)!);
  return current.replace(
    REGION,
    (_, id: string) => `<!-- generated:${id} -->\n\n${body(id)}\n\n<!-- end generated -->`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Files

export const CONFIG_DOCS_PATH = join("docs", "configuration.md");

/** Markdown as `prettier --write` leaves it, with the repository's Prettier options. */
export async function formatMarkdown(text: string, root = repoRoot()): Promise<string> {
  // The standalone build: Prettier's main entry loads its ES modules with import(), which Jest cannot run.
  const prettier = await import("prettier/standalone");
  const markdown = await import("prettier/plugins/markdown");
  const rc = join(root, ".prettierrc.json");
  const options = existsSync(rc) ? (JSON.parse(readFileSync(rc, "utf8")) as Record<string, unknown>) : {};
  return prettier.format(text, { ...options, parser: "markdown", plugins: [markdown] });
}

/** docs/configuration.md as it should be now: its hand-written text, the regions rendered, Prettier-formatted. */
export async function generateConfigDocs(root = repoRoot()): Promise<string> {
  const current = readFileSync(join(root, CONFIG_DOCS_PATH), "utf8");
  const docs = readSourceDocs(join(root, "src", "config"), root);
  return formatMarkdown(renderConfigDocs(current, docs), root);
}

if (require.main === module) {
  const root = repoRoot();
  generateConfigDocs(root).then(
    (text) => {
      writeFileSync(join(root, CONFIG_DOCS_PATH), text);
      process.stdout.write(`wrote ${CONFIG_DOCS_PATH}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
