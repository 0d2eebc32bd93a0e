/**
 * docs/images.md lists every default image with what stackport relies on in it, so that whoever bumps a tag knows
 * what to re-check. This keeps its first column equal to the images the configuration defaults to.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../../src/config";

/** Every `…image`/`…Image` value of a config that sets nothing but placement: the defaults, by config key. */
function defaultImages(): Map<string, string> {
  const resolved = resolveConfig({
    environment: "local",
    targets: { t: { kind: "docker" } },
    storage: { on: "t" },
    database: { on: "t" },
    proxy: { on: "t", domain: "localhost", tls: { mode: "http" } },
    ingestion: { on: "t", services: {} },
    basemap: { on: "t", pmtiles: ["basemap.pmtiles"], diskCache: {} },
    observability: { on: "t" },
    backups: { intervalHours: 24 },
  });
  const found = new Map<string, string>();
  const walk = (value: unknown, path: string): void => {
    if (value === null || typeof value !== "object") return;
    for (const [key, child] of Object.entries(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      if (typeof child === "string" && /image$/i.test(key)) found.set(`stackport:${keyPath}`, child);
      else walk(child, keyPath);
    }
  };
  walk(resolved, "");
  return found;
}

/** The rows of the first table in docs/images.md: image and the config keys in its "set by" cell. */
function documented(): { image: string; keys: string[] }[] {
  const doc = readFileSync(join(__dirname, "../../docs/images.md"), "utf8");
  const table = doc.slice(doc.search(/^\| default image /m), doc.indexOf("\n## "));
  return table
    .split("\n")
    .slice(2)
    .filter((line) => line.startsWith("|"))
    .map((line) => {
      const [image, setBy] = line
        .split("|")
        .slice(1)
        .map((cell) => cell.trim());
      return {
        image: image!.replace(/^`|`$/g, ""),
        keys: [...setBy!.matchAll(/`(stackport:[^`]+)`/g)].map((m) => m[1]!),
      };
    });
}

test("docs/images.md lists exactly the default images, each with the config keys that default to it", () => {
  const defaults = defaultImages();
  const rows = documented();
  expect(new Set(rows.map((r) => r.image))).toEqual(new Set(defaults.values()));
  for (const [key, image] of defaults) {
    const row = rows.find((r) => r.image === image);
    expect({ key, documentedUnder: row?.keys.includes(key) }).toEqual({ key, documentedUnder: true });
  }
});
