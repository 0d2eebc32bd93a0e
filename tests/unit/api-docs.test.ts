/**
 * docs/api/ is generated from the library's TSDoc by scripts/api-docs.ts: it must be what the generator renders now.
 * The generator's findings are pinned below, so that a new gap fails here and a fixed one is deleted from the list.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  API_DOCS_DIR,
  type ApiDocs,
  lintComponents,
  parseDoc,
  readApi,
  renderApiDocs,
} from "../../scripts/api-docs";

const ROOT = join(__dirname, "..", "..");
const REGENERATE = "npm run build && node bin/scripts/api-docs.js";

/**
 * Known gaps in the components' TSDoc and escape hatches (a component without `@example`, without a public
 * `nodes`, whose args have no `transform`; an args property without a doc comment, or optional without `@default`).
 * Fix one in its component, then delete its line.
 */
const KNOWN_COMPONENT_GAPS: string[] = [];

/** Types of ours that the public API names (args, properties, signatures) but no entry exports. */
const KNOWN_LEAKED_TYPES: string[] = [];

let docs: ApiDocs;
beforeAll(async () => {
  docs = await renderApiDocs(ROOT);
});

it(`docs/api/ is in step with the library's TSDoc (regenerate: ${REGENERATE})`, () => {
  const dir = join(ROOT, API_DOCS_DIR);
  expect(readdirSync(dir).sort()).toEqual([...docs.pages.keys()].sort());
  for (const [page, rendered] of docs.pages)
    expect({ page, text: readFileSync(join(dir, page), "utf8") }).toEqual({ page, text: rendered });
});

it("has a section for every symbol each entry exports", () => {
  const api = readApi(ROOT);
  expect(api.entries.map((e) => e.pkg)).toEqual(["stackport", "stackport/docker", "stackport/aws"]);
  for (const e of api.exports) expect(docs.pages.get(e.entry.page)).toContain(`\n### \`${e.name}\`\n`);
});

it("lists the known component gaps, and no others", () => {
  expect(docs.findings).toEqual(KNOWN_COMPONENT_GAPS);
});

it("lists the known unexported types in the public API, and no others", () => {
  expect(docs.leakedTypes).toEqual(KNOWN_LEAKED_TYPES);
});

describe("the generator", () => {
  it("reads block tags inline or on their own line, not inside code", () => {
    expect(parseDoc('/** The application database. @default "platform" */')).toEqual({
      text: "The application database.",
      tags: [{ tag: "default", text: '"platform"' }],
    });
    const doc = parseDoc(
      [
        "/**",
        " * Loads `@pulumi/docker`, never @pulumi/aws.",
        " * @default none",
        " * @example",
        ' * new Thing("a", {',
        " *   b: 1,",
        " * });",
        " */",
      ].join("\n"),
    );
    expect(doc.text).toBe("Loads `@pulumi/docker`, never @pulumi/aws.");
    expect(doc.tags).toEqual([
      { tag: "default", text: "none" },
      { tag: "example", text: 'new Thing("a", {\n  b: 1,\n});' },
    ]);
  });

  it("finds every kind of component gap", () => {
    const root = mkdtempSync(join(tmpdir(), "api-docs-"));
    try {
      mkdirSync(join(root, "components"));
      writeFileSync(
        join(root, "package.json"),
        JSON.stringify({ name: "lib", exports: { ".": { types: "./bin/components/index.d.ts" } } }),
      );
      writeFileSync(
        join(root, "components", "index.ts"),
        'export { Good, Bad } from "./widgets";\nexport type { GoodArgs, BadArgs } from "./widgets";\n',
      );
      writeFileSync(
        join(root, "components", "widgets.ts"),
        [
          'import * as pulumi from "@pulumi/pulumi";',
          "interface BaseArgs {",
          "  /** Inherited, optional, no default. */",
          "  inherited?: string;",
          "}",
          "export interface GoodArgs {",
          "  /** Required. */",
          "  size: number;",
          "  /** Escape hatches. @default none */",
          "  transform?: {};",
          "}",
          "/**",
          " * Good.",
          " * @example",
          ' * new Good("g", { size: 1 });',
          " */",
          "export class Good extends pulumi.ComponentResource {",
          "  readonly nodes: {};",
          '  constructor(name: string, args: GoodArgs) { super("lib:Good", name, args); this.nodes = {}; }',
          "}",
          "export interface BadArgs extends BaseArgs {",
          "  undocumented?: string;",
          "  /** @default 1 */",
          "  tagsOnly?: number;",
          "}",
          "/** Bad. */",
          "export class Bad extends pulumi.ComponentResource {",
          "  private readonly nodes = {};",
          '  constructor(name: string, args: BadArgs) { super("lib:Bad", name, args); }',
          "}",
        ].join("\n"),
      );
      expect(lintComponents(readApi(root))).toEqual([
        "Bad: no @example",
        "Bad: no public nodes",
        "Bad: BadArgs has no transform",
        "Bad: BadArgs.inherited is optional without @default",
        "Bad: BadArgs.undocumented has no doc comment",
        "Bad: BadArgs.undocumented is optional without @default",
        "Bad: BadArgs.tagsOnly has tags but no description",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
