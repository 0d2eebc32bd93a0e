/**
 * docs/images.md lists every default image with what stackport relies on in it, so that whoever bumps a tag knows
 * what to re-check. This keeps its first column equal to the images the configuration defaults to.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DOCKER_BROKER_DEFAULTS } from "../../components/ingestion/settings";
import { resolveConfig } from "../../src/config";

/**
 * Every `…image`/`…Image` value of a config that sets nothing but placement and the optional containers (the
 * exporter, the off-host copy): the defaults, by config key. The broker's default lives in its component (the config
 * leaves Docker-only keys unset so that it can refuse them on AWS).
 */
function defaultImages(): Map<string, string> {
  const resolved = resolveConfig({
    environment: "local",
    targets: { t: { kind: "docker" } },
    storage: { on: "t" },
    database: { on: "t", monitoringUser: true },
    proxy: { on: "t", domain: "localhost", tls: { mode: "http" } },
    ingestion: { on: "t", services: {} },
    basemap: { on: "t", pmtiles: ["basemap.pmtiles"], diskCache: {} },
    observability: { on: "t", postgresExporter: {} },
    backups: { intervalHours: 24, offHost: { repository: "/mnt/backup-drive/stackport" } },
  });
  const found = new Map<string, string>([["stackport:ingestion.broker.image", DOCKER_BROKER_DEFAULTS.image]]);
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
