/**
 * docs/configuration.md: its key tables are generated from the stack-config schema and its TSDoc comments
 * (scripts/config-docs.ts). The committed file must be what the generator renders now, cover every key of the
 * schema and no other, and show the schema's real defaults.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import {
  CONFIG_DOCS_PATH,
  configSections,
  generateConfigDocs,
  readSourceDocs,
  regionIds,
  renderConfigDocs,
} from "../../scripts/config-docs";
import { CONFIG_KEYS, stackConfigSchema } from "../../src/config/stack";
import { awsObservabilitySchema } from "../../src/config/tiers/aws";
import { backupsSchema } from "../../src/config/tiers/backups";
import { serviceSchema } from "../../src/config/tiers/ingestion";
import { observabilitySchema } from "../../src/config/tiers/observability";
import { proxySchema } from "../../src/config/tiers/proxy";
import { storageSchema } from "../../src/config/tiers/storage";
import { dockerTargetSchema } from "../../src/config/tiers/targets";

const ROOT = join(__dirname, "..", "..");
const committed = readFileSync(join(ROOT, CONFIG_DOCS_PATH), "utf8");
const sourceDocs = readSourceDocs(join(ROOT, "src", "config"), ROOT);

/** The generated region of a `stackport:` key in a document. */
function region(doc: string, key: string): string {
  const open = `<!-- generated:stackport:${key} -->`;
  const start = doc.indexOf(open);
  if (start < 0) throw new Error(`no region for stackport:${key}`);
  return doc.slice(start + open.length, doc.indexOf("<!-- end generated -->", start));
}

/** The cells of the table row for `path` in a region: key, type, default, meaning. */
function row(regionText: string, path: string): string[] | undefined {
  const line = regionText.split("\n").find((l) => l.startsWith(`| \`${path}\` `));
  return line
    ?.slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

const rowPaths = (regionText: string) =>
  regionText
    .split("\n")
    .map((l) => /^\| `([^`]+)` +\|/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);

it("docs/configuration.md is in step with the schema (regenerate: npm run build && node bin/scripts/config-docs.js)", async () => {
  expect(committed).toBe(await generateConfigDocs(ROOT));
});

describe("the generated regions", () => {
  it("are balanced: each opens, closes before the next opens, one per top-level key plus the types", () => {
    const opens = committed.match(/<!-- generated:\S+ -->/g) ?? [];
    const closes = committed.match(/<!-- end generated -->/g) ?? [];
    expect(opens.length).toBe(closes.length);
    expect(regionIds(committed)).toEqual(["types", ...CONFIG_KEYS.map((k) => `stackport:${k}`)]);
  });

  it("an unclosed or nested region is an error, not a silent rewrite", () => {
    expect(() => regionIds("<!-- generated:a -->\n<!-- generated:b -->\n<!-- end generated -->")).toThrow(
      /'a' is not closed/,
    );
    expect(() => regionIds("<!-- generated:a -->\n")).toThrow(/never closed/);
    expect(() => regionIds("<!-- end generated -->")).toThrow(/without an open region/);
    expect(() => renderConfigDocs("# nothing generated here\n", sourceDocs)).toThrow(
      /missing: types, stackport:/,
    );
  });
});

describe("every key, and only keys of the schema", () => {
  // Walked from zod's own JSON Schema of the config, not from the generator's rows.
  interface JsonSchema {
    type?: string;
    properties?: Record<string, JsonSchema>;
    additionalProperties?: boolean | JsonSchema;
    items?: JsonSchema;
    anyOf?: JsonSchema[];
    oneOf?: JsonSchema[];
  }
  const isObjectLike = (s: JsonSchema): boolean =>
    Boolean(s.properties) ||
    (typeof s.additionalProperties === "object" && isObjectLike(s.additionalProperties)) ||
    (s.anyOf ?? s.oneOf ?? []).some(isObjectLike);

  /** Every key path under a node (`all`) and those that hold no further keys (`leaves`). */
  function walk(s: JsonSchema, path: string, all: Set<string>, leaves: Set<string>): void {
    const at = (k: string) => (path ? `${path}.${k}` : k);
    if (path) all.add(path);
    const variants = s.anyOf ?? s.oneOf;
    if (variants) {
      for (const v of variants) walk(v, path, all, leaves);
      if (path) all.add(path);
      return;
    }
    if (s.properties) {
      for (const [k, v] of Object.entries(s.properties)) walk(v, at(k), all, leaves);
    } else if (typeof s.additionalProperties === "object" && isObjectLike(s.additionalProperties)) {
      walk(s.additionalProperties, at("<name>"), all, leaves);
    } else if (s.items && isObjectLike(s.items)) {
      // A list of objects (a service's `ports`, `mounts`): its items' keys as `<list>[].<key>`.
      all.add(path);
      walk(s.items, `${path}[]`, all, leaves);
    } else if (path) {
      leaves.add(path);
    }
  }

  const json = z.toJSONSchema(stackConfigSchema, { io: "input", unrepresentable: "any" }) as JsonSchema;

  it.each(CONFIG_KEYS)("stackport:%s", (key) => {
    const all = new Set<string>();
    const leaves = new Set<string>();
    walk(json.properties![key]!, "", all, leaves);
    const text = region(committed, key);
    expect(text).toMatch(/^\s*Type: /);
    const documented = rowPaths(text);
    expect([...leaves].filter((p) => !documented.includes(p))).toEqual([]);
    expect(documented.filter((p) => !all.has(p))).toEqual([]);
  });
});

describe("what the tables say", () => {
  const cells = (key: string, path: string) => {
    const cellsOfRow = row(region(committed, key), path);
    if (!cellsOfRow) throw new Error(`no row for stackport:${key}.${path}`);
    const [, type, dflt, meaning] = cellsOfRow;
    return { type: type!, default: dflt!, meaning: meaning! };
  };

  it.each([
    ["observability", "retentionDays", () => observabilitySchema.shape.retentionDays.parse(undefined)],
    ["backups", "intervalHours", () => backupsSchema.parse({}).intervalHours],
    ["proxy", "httpsPort", () => proxySchema.shape.httpsPort.parse(undefined)],
    ["storage", "image", () => storageSchema.shape.image.parse(undefined)],
    [
      "storage",
      "buckets.<name>.versioning",
      () => storageSchema.shape.buckets.parse({ media: {} }).media!.versioning,
    ],
    [
      "ingestion",
      "services.<name>.connections.broker",
      () => serviceSchema.parse({ image: "app:1" }).connections.broker,
    ],
    [
      "observability",
      "alerts.ingestFailures.windowMinutes",
      () => observabilitySchema.shape.alerts.parse(undefined).ingestFailures.windowMinutes,
    ],
    [
      "observability",
      "aws.freshnessMetric.maxAgeMinutes",
      () => awsObservabilitySchema.parse({}).freshnessMetric.maxAgeMinutes,
    ],
    ["targets", "<name>.dataRoot", () => dockerTargetSchema.parse({ kind: "docker" }).dataRoot],
  ] as const)("stackport:%s %s shows the schema's default", (key, path, actual) => {
    expect(cells(key, path).default).toBe(`\`${String(actual())}\``);
  });

  it("environment-dependent defaults come from @default, in words", () => {
    expect(cells("targets", "<name>.vpc.natGateways").default).toMatch(/`perAz` in production/);
    expect(cells("safety", "protect").default).toMatch(/`false` in `local`, `true` elsewhere/);
    expect(cells("storage", "publishApi").default).toMatch(/`127\.0\.0\.1:9000` in `local`/);
  });

  it("types are readable", () => {
    expect(cells("observability", "retentionDays").type).toBe("integer (1–3650)");
    expect(cells("proxy", "tls.mode").type).toBe("`http` \\| `internal` \\| `acme`");
    expect(cells("ingestion", "broker").type).toBe("object \\| `false`");
    expect(cells("proxy", "routes.<name>.allowFrom").type).toBe("CIDR[]");
    expect(cells("ingestion", "services").type).toBe("map of name → object");
  });

  it("a changed default shows up in the rendered document (so the staleness check would catch it)", () => {
    const changed = stackConfigSchema.extend({
      observability: observabilitySchema
        .extend({
          retentionDays: z.number().int().min(1).max(3650).default(16),
          aws: awsObservabilitySchema.optional(),
        })
        .optional(),
    });
    const rendered = renderConfigDocs(committed, sourceDocs, changed);
    expect(row(region(rendered, "observability"), "retentionDays")?.[2]).toBe("`16`");
    expect(rendered).not.toBe(committed);
  });

  const rows = configSections(sourceDocs).flatMap((s) => s.rows.map((r) => ({ ...r, key: s.key })));

  it("every key has a description (a TSDoc comment on its property)", () => {
    expect(rows.filter((r) => !r.meaning).map((r) => `stackport:${r.key}.${r.path}`)).toEqual([]);
  });

  it("an @default tag next to a zod default says the same value", () => {
    const squash = (s: string) => s.replace(/[\s"'`]/g, "");
    const disagree = rows
      .filter((r) => r.zodDefault && r.docDefault)
      .filter((r) => {
        const value = r.zodDefault!.value;
        const expected = squash(typeof value === "string" ? value : JSON.stringify(value));
        return !squash(r.docDefault!).startsWith(expected);
      })
      .map(
        (r) =>
          `stackport:${r.key}.${r.path}: @default ${r.docDefault}, zod ${JSON.stringify(r.zodDefault!.value)}`,
      );
    expect(disagree).toEqual([]);
  });
});
