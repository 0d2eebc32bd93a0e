/**
 * The config loader under hostile and careless input: the shipped stack files (Pulumi.*.yaml, examples/…), mutated
 * (wrong types, odd strings, `..`, huge numbers, unicode, JSON-looking strings, deleted, renamed and added keys) and
 * passed the way the engine passes them (top-level values as strings, structured ones as JSON), and the stack files'
 * YAML text mutated (duplicated, dropped and garbled lines). Either the config resolves, or the error is an input
 * error whose every problem names a `stackport:` key; anything else (a TypeError, a SyntaxError, a stack trace) is
 * a crash and fails the test with the input that caused it.
 */
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { ConfigError, isInputError, rawNamespace, resolveConfig } from "../../src/config";
import {
  StackNotFoundError,
  listExampleStackFiles,
  listStacks,
  readStackFile,
} from "../../src/synth/stackFile";
import { ROOT } from "../harness";

const STACK_FILES = [...listStacks(ROOT).map((s) => `Pulumi.${s}.yaml`), ...listExampleStackFiles(ROOT)];

/** Each shipped stack as the engine hands it to the program: full keys to strings. */
const SEEDS = STACK_FILES.map((file) => readStackFile(ROOT, file).config);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Every path in a value, the root included. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((v, i) => pathsOf(v, [...prefix, i]))];
  if (value !== null && typeof value === "object") {
    return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
  }
  return here;
}

const ODD_STRINGS = [
  "",
  " ",
  "..",
  "/",
  "/srv/../etc",
  "../../etc/passwd",
  "/etc",
  "relative/path",
  "ünïcødé-名前-🚀",
  "\u0000",
  "line\nbreak",
  "{",
  "[",
  "[oops",
  '{"a":1}',
  "[1,2]",
  "null",
  "true",
  "-1",
  "1e309",
  "evil}:80",
  "backend:0",
  "backend:99999",
  "storage",
  "__proto__",
  "constructor",
  "toString",
  "-oProxyCommand=touch /tmp/pwned",
  "StrictHostKeyChecking=no",
  "ssh://deploy@homelab.lan",
  "0.0.0.0",
  "0.0.0.0/0",
  "999.1.1.1/8",
  "$(id)",
  "'; DROP TABLE x; --",
  "a".repeat(5000),
  "offline-secret-placeholder",
];

const oddString = fc.oneof(fc.constantFrom(...ODD_STRINGS), fc.string(), fc.string({ unit: "grapheme" }));
const oddNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 65535, 65536, 99999, 1e308, -1e308, 0.5, Number.MAX_SAFE_INTEGER + 2),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const leaf: fc.Arbitrary<Json> = fc.oneof(oddString, oddNumber, fc.boolean(), fc.constant(null));
const anyValue: fc.Arbitrary<Json> = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    leaf,
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(oddString, fc.constantFrom("on", "kind", "to", "routes", "host", "x")), tie("v"), {
      maxKeys: 3,
    }),
  ),
})).v;

type Mutation =
  | { kind: "set"; pick: number; value: Json }
  | { kind: "delete"; pick: number }
  | { kind: "rename"; pick: number; name: string }
  | { kind: "add"; pick: number; name: string; value: Json }
  | { kind: "raw"; key: string; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("set" as const), pick: fc.nat(), value: anyValue }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant("rename" as const), pick: fc.nat(), name: oddString }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      pick: fc.nat(),
      name: oddString,
      value: anyValue,
    }),
    weight: 1,
  },
  {
    // A top-level value as the engine passes it: a string, possibly JSON-looking and broken.
    arbitrary: fc.record({
      kind: fc.constant("raw" as const),
      key: fc.constantFrom("environment", "targets", "proxy", "storage", "database", "basemap", "bogus"),
      text: fc.oneof(oddString, fc.constantFrom("[", "{", "[1,", '{"on":', "{}", "[]", '"quoted"')),
    }),
    weight: 1,
  },
);

/** Applies mutations to a seed's namespace (parsed), then hands it back as engine strings. */
function mutate(seed: Record<string, string>, mutations: Mutation[]): Record<string, string> {
  const tree = rawNamespace(seed) as { [key: string]: Json };
  // Top-level values replaced by an engine string, kept apart from the tree the other mutations edit.
  const strings: Record<string, string> = {};
  for (const m of mutations) {
    if (m.kind === "raw") {
      strings[m.key] = m.text;
      delete tree[m.key];
      continue;
    }
    if (Object.keys(tree).length === 0) continue;
    const paths = pathsOf(tree).filter((p) => p.length > 0);
    const path = paths[m.pick % paths.length]!;
    const parent = path.slice(0, -1).reduce<Json>((v, k) => (v as Record<string, Json>)[k]!, tree) as
      Json[] | Record<string, Json>;
    const last = path[path.length - 1]!;
    const node = parent as Record<string | number, Json>;
    if (m.kind === "set") node[last] = m.value;
    else if (m.kind === "delete") {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete node[last];
    } else if (m.kind === "rename" && !Array.isArray(parent)) {
      const value = node[last]!;
      delete node[last];
      node[m.name] = value;
    } else if (m.kind === "add") {
      const target = node[last];
      if (target !== null && typeof target === "object" && !Array.isArray(target)) target[m.name] = m.value;
    }
  }
  const raw: Record<string, string> = {};
  // As the engine does: a string as it is, anything else as JSON.
  for (const [key, value] of Object.entries(tree)) {
    raw[`stackport:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  for (const [key, text] of Object.entries(strings)) raw[`stackport:${key}`] = text;
  return raw;
}

/** Resolves; returns the issues of an input error; rethrows anything else (a crash). */
function load(config: Record<string, string>): { key: string; message: string }[] {
  try {
    resolveConfig(rawNamespace(config));
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
}

/** `stackport:` and a path: a plain name, or a quoted one (`stackport:[""]`, `…routes["My Route"]`). */
const KEY = /^stackport:\S/;

describe("property: 10,000 mutated shipped configs never crash the loader", () => {
  it("has the shipped stack files to mutate", () => {
    expect(STACK_FILES).toEqual(expect.arrayContaining(["Pulumi.local.yaml", "Pulumi.staging.yaml"]));
    for (const seed of SEEDS) expect(load(seed)).toEqual([]);
  });

  it("resolves or names a stackport: key for every problem", () => {
    let refused = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: SEEDS.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (seedIndex, mutations) => {
          const issues = load(mutate(SEEDS[seedIndex]!, mutations));
          if (issues.length > 0) refused++;
          for (const issue of issues) {
            expect(issue.key).toMatch(KEY);
            expect(issue.key).not.toMatch(/undefined|\[object/);
            expect(issue.message.length).toBeGreaterThan(0);
            // zod's generic texts say nothing about what to do; every message is ours.
            expect(issue.message).not.toMatch(
              /^Invalid input$|Invalid key in record|allowed here: \(see|allowed here: *$/,
            );
          }
        },
      ),
      { numRuns: 10_000, seed: 15 },
    );
    // The mutations must mostly produce bad configs, or the property proves little.
    expect(refused).toBeGreaterThan(5_000);
  });
});

describe("property: mutated stack-file YAML is refused with the file and line, never a stack trace", () => {
  const texts = STACK_FILES.map((f) => readFileSync(join(ROOT, f), "utf8"));
  const dir = mkdtempSync(join(tmpdir(), "stackport-fuzz-"));
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));

  const edit = fc.record({
    kind: fc.constantFrom("duplicate", "drop", "garble", "indent"),
    line: fc.nat(),
    text: fc.constantFrom("{", "[", ": :", "\t", "- x", "&a", "*b", "key: [1", '"open', "%"),
  });

  it("reads, resolves or refuses each one as input", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: texts.length - 1 }),
        fc.array(edit, { minLength: 1, maxLength: 2 }),
        (i, edits) => {
          const lines = texts[i]!.split("\n");
          for (const e of edits) {
            const at = e.line % lines.length;
            if (e.kind === "duplicate") lines.splice(at, 0, lines[at]!);
            else if (e.kind === "drop") lines.splice(at, 1);
            else if (e.kind === "garble") lines[at] = `${lines[at]}${e.text}`;
            else lines[at] = ` ${lines[at]}`;
          }
          writeFileSync(join(dir, "Pulumi.fuzz.yaml"), lines.join("\n"));
          try {
            load(readStackFile(dir, "fuzz").config);
          } catch (e) {
            if (e instanceof StackNotFoundError) {
              // A YAML error names the file and the line: `Pulumi.fuzz.yaml:12:3: …`.
              expect(e.message).toMatch(/^Pulumi\.fuzz\.yaml(:\d+:\d+)?: /);
              return;
            }
            if (isInputError(e)) return;
            throw e;
          }
        },
      ),
      { numRuns: 500, seed: 15 },
    );
  });
});
