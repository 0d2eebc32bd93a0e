import { renderAwsMartinConfig } from "../../components/basemap/ecsBasemap";
/**
 * The basemap tier: config checks with their keys, what it tells the proxy and Prometheus, Martin's rendered config
 * (parsed, checked against Martin's documented keys, free of secrets), the import script (shellcheck), and
 * `DockerBasemap` under the mock runtime.
 */
import { parse as parseYaml } from "yaml";
import { DockerBasemap, MARTIN_CONFIG_PATH } from "../../components/basemap/dockerBasemap";
import { renderAdminJobScript } from "../../components/shared/adminJob";
import { renderMartinConfig } from "../../components/basemap/martinConfig";
import { keysZoneMb, renderTileCacheConfig } from "../../components/basemap/tileCache";
import { DockerDatabase } from "../../components/database/dockerDatabase";
import { DockerObjectStorage } from "../../components/storage/dockerObjectStorage";
import { resolveConfig } from "../../src/config";
import {
  type BasemapConfig,
  basemapRoutes,
  basemapSchema,
  basemapScrapeTargets,
  basemapUpstreams,
  checkBasemap,
  dockerBasemapArgs,
} from "../../src/config/tiers/basemap";
import { TILE_CACHE_HOST } from "../../components/basemap/settings";
import { isArgsError } from "../../components/shared/errors";
import { RESERVED_SERVICE_NAMES, type TierContext } from "../../src/config/tiers/ingestion";
import { SECRET_MASK } from "../../src/synth/recorder";
import { one, record } from "../harness";
import { testPlacement } from "../support/placement";
import { shellcheck } from "../support/tools";

const basemap = (raw: Record<string, unknown> = {}): BasemapConfig =>
  basemapSchema.parse({ on: "home", ...raw });
/** The paths of the schema's issues for a raw basemap block (none when it parses). */
const schemaIssuePaths = (raw: Record<string, unknown>) => {
  const parsed = basemapSchema.safeParse({ on: "home", ...raw });
  return parsed.success ? [] : parsed.error.issues.map((i) => i.path.join("."));
};
const context = (over: Partial<TierContext> = {}): TierContext => ({
  environment: "local",
  targets: { home: { kind: "docker", dataRoot: "/srv/stackport", isolateBackend: false } },
  storage: { buckets: { raw: {}, tiles: {} } },
  database: {},
  proxy: { routes: {} },
  ...over,
});

describe("basemap schema and checks", () => {
  test("defaults: pinned Martin, PostGIS on, no PMTiles, 512 MB cache, routed at /tiles with the prefix stripped", () => {
    expect(basemap()).toEqual({
      on: "home",
      image: "ghcr.io/maplibre/martin:1.14.0",
      postgis: true,
      postgisSchemas: ["app"],
      pmtiles: [],
      bucket: "tiles",
      cacheMb: 512,
      memoryMb: 1024,
      route: { path: "/tiles", stripPrefix: true, auth: "none" },
    });
    expect(
      schemaIssuePaths({
        pmtiles: ["a.mbtiles", "../x.pmtiles"],
        import: { image: "osm2pgsql", command: [] },
      }),
    ).toEqual(["pmtiles.0", "pmtiles.1", "import.image", "import.command"]);
  });

  test("a valid basemap has no issues", () => {
    expect(checkBasemap({ ...context(), basemap: basemap({ pmtiles: ["basemap.pmtiles"] }) })).toEqual([]);
  });

  test("each problem names its config key", () => {
    const keys = (b: Record<string, unknown>, over: Partial<TierContext> = {}) =>
      checkBasemap({ ...context(over), basemap: basemap(b) }).map((i) => i.key);
    expect(keys({ postgis: false })).toEqual(["stackport:basemap.postgis"]);
    expect(
      keys({ import: { image: "iboates/osm2pgsql:2.1.1", command: ["osm2pgsql"] } }, { database: undefined }),
    ).toEqual(["stackport:basemap.postgis", "stackport:basemap.import"]);
    expect(keys({ postgis: false, pmtiles: ["a.pmtiles"] }, { storage: undefined })).toEqual([
      "stackport:basemap.pmtiles",
    ]);
    expect(keys({ pmtiles: ["a/b.pmtiles", "a.b.pmtiles"], bucket: "derived" })).toEqual([
      "stackport:basemap.bucket",
      "stackport:basemap.pmtiles[1]",
    ]);
    expect(keys({ cacheMb: 1000 })).toEqual(["stackport:basemap.memoryMb"]);
    expect(keys({ route: { path: "/maps", stripPrefix: false } })).toEqual([
      "stackport:basemap.route.stripPrefix",
    ]);
    expect(keys({}, { proxy: { routes: { basemap: {} } } })).toEqual(["stackport:basemap.route"]);
    // The cache only serves the proxy's route: without one it would be a container nothing reaches.
    expect(keys({ diskCache: {}, route: false })).toEqual(["stackport:basemap.diskCache"]);
    expect(keys({ diskCache: {} }, { proxy: undefined })).toEqual(["stackport:basemap.diskCache"]);
    expect(keys({ diskCache: {} })).toEqual([]);
    const unknownBucket = checkBasemap({
      ...context(),
      basemap: basemap({ pmtiles: ["a.pmtiles"], bucket: "derived" }),
    });
    expect(unknownBucket[0]!.message).toBe(
      "unknown bucket 'derived'; stackport:storage.buckets has: raw, tiles",
    );
  });

  test("diskCache: off when absent; {} turns it on with 10 GB, a day, pinned nginx; bad values name their key", () => {
    expect(basemap()).not.toHaveProperty("diskCache");
    expect(basemap({ diskCache: {} }).diskCache).toEqual({
      sizeGb: 10,
      maxAge: "1d",
      image: "nginx:1.27.3-alpine",
    });
    expect(schemaIssuePaths({ diskCache: { sizeGb: 0, maxAge: "0d", image: "nginx", extra: 1 } })).toEqual([
      "diskCache.sizeGb",
      "diskCache.maxAge",
      "diskCache.image",
      "diskCache",
    ]);
  });

  test("with diskCache the proxy goes through the cache, whose /health is Martin's; Prometheus still scrapes Martin", () => {
    expect(basemapUpstreams({ basemap: basemap({ diskCache: {} }) })).toEqual({
      basemap: { tier: "basemap", host: "basemap-cache", port: 8080, healthPath: "/health" },
    });
    // No ingestion service may take the cache's DNS name.
    expect(RESERVED_SERVICE_NAMES).toContain(TILE_CACHE_HOST);
    expect(basemapScrapeTargets({ basemap: basemap({ diskCache: {} }) })).toEqual([
      { job: "basemap", tier: "basemap", addresses: ["basemap:3000"], metricsPath: "/_/metrics" },
    ]);
  });

  test("route only with a proxy; upstream with /health; scraped at /_/metrics", () => {
    expect(basemapRoutes({ basemap: basemap(), proxy: {} })).toEqual({
      basemap: { path: "/tiles", stripPrefix: true, auth: "none", to: "basemap" },
    });
    expect(basemapRoutes({ basemap: basemap() })).toEqual({});
    expect(basemapRoutes({ basemap: basemap({ route: false }), proxy: {} })).toEqual({});
    expect(basemapUpstreams({ basemap: basemap() })).toEqual({
      basemap: { tier: "basemap", host: "basemap", port: 3000, healthPath: "/health" },
    });
    expect(basemapScrapeTargets({ basemap: basemap() })).toEqual([
      { job: "basemap", tier: "basemap", addresses: ["basemap:3000"], metricsPath: "/_/metrics" },
    ]);
    expect(basemapScrapeTargets({})).toEqual([]);
  });
});

/** Keys Martin documents (maplibre.org/martin "Configuration File", "PMTiles File Sources", object-store options). */
const MARTIN_KEYS: Record<string, string[] | null> = {
  listen_addresses: null,
  base_path: null,
  cache: ["size_mb"],
  postgres: ["connection_string", "auto_publish"],
  pmtiles: [
    "endpoint",
    "region",
    "allow_http",
    "virtual_hosted_style_request",
    "access_key_id",
    "secret_access_key",
    "sources",
  ],
};

describe("renderMartinConfig", () => {
  const pmtiles = {
    bucket: "tiles",
    keys: ["basemap.pmtiles", "2024/roads.pmtiles"],
    endpoint: "http://storage:9000",
    region: "us-east-1",
  };

  test("parses as YAML with only documented keys, and references credentials instead of containing them", () => {
    const text = renderMartinConfig({
      postgis: true,
      postgisSchemas: ["app"],
      pmtiles,
      cacheMb: 256,
      basePath: "/tiles",
    });
    const doc = parseYaml(text) as Record<string, Record<string, unknown>>;
    for (const [key, value] of Object.entries(doc)) {
      expect(Object.keys(MARTIN_KEYS)).toContain(key);
      const allowed = MARTIN_KEYS[key];
      if (allowed) for (const sub of Object.keys(value)) expect(allowed).toContain(sub);
    }
    expect(doc).toEqual({
      listen_addresses: "0.0.0.0:3000",
      base_path: "/tiles",
      cache: { size_mb: 256 },
      postgres: { connection_string: "${DATABASE_URL}", auto_publish: { from_schemas: ["app"] } },
      pmtiles: {
        endpoint: "http://storage:9000",
        region: "us-east-1",
        allow_http: true,
        virtual_hosted_style_request: false,
        access_key_id: "${AWS_ACCESS_KEY_ID}",
        secret_access_key: "${AWS_SECRET_ACCESS_KEY}",
        sources: { "2024.roads": "s3://tiles/2024/roads.pmtiles", basemap: "s3://tiles/basemap.pmtiles" },
      },
    });
  });

  test("publishes only the configured schemas (never auto_publish: true, which serves all app_reader can read)", () => {
    const doc = parseYaml(
      renderMartinConfig({ postgis: true, postgisSchemas: ["basemap", "app"], cacheMb: 1 }),
    ) as { postgres: { auto_publish: unknown } };
    expect(doc.postgres.auto_publish).toEqual({ from_schemas: ["app", "basemap"] });
    expect(() => renderMartinConfig({ postgis: true, postgisSchemas: [], cacheMb: 1 })).toThrow(
      "postgisSchemas: must name at least one schema",
    );
    expect(() => renderMartinConfig({ postgis: true, postgisSchemas: ["pg_catalog"], cacheMb: 1 })).toThrow(
      'postgisSchemas[0]: "pg_catalog" must be a lower-case schema name',
    );
    // The AWS backend renders the same section.
    const aws = parseYaml(
      renderAwsMartinConfig({ postgis: true, postgisSchemas: ["app"], cacheMb: 1, region: "eu-west-1" }),
    ) as { postgres: unknown };
    expect(aws.postgres).toEqual({
      connection_string: "${DATABASE_URL}",
      auto_publish: { from_schemas: ["app"] },
    });
  });

  test("only what is asked for: PMTiles-only has no postgres section; https endpoints keep allow_http off", () => {
    const doc = parseYaml(
      renderMartinConfig({
        postgis: false,
        postgisSchemas: ["app"],
        pmtiles: { ...pmtiles, endpoint: "https://s3.eu-west-1.amazonaws.com" },
        cacheMb: 0,
      }),
    ) as Record<string, Record<string, unknown>>;
    expect(doc["postgres"]).toBeUndefined();
    expect(doc["pmtiles"]!["allow_http"]).toBe(false);
    expect(doc["cache"]).toEqual({ size_mb: 0 });
    expect(
      parseYaml(renderMartinConfig({ postgis: true, postgisSchemas: ["app"], cacheMb: 512 })),
    ).not.toHaveProperty("pmtiles");
  });

  test("refuses an empty basemap and values that could not be a bucket, key or path", () => {
    expect(() => renderMartinConfig({ postgis: false, postgisSchemas: ["app"], cacheMb: 1 })).toThrow(
      /serves nothing/,
    );
    expect(() =>
      renderMartinConfig({
        postgis: false,
        postgisSchemas: ["app"],
        pmtiles: { ...pmtiles, keys: ["x\n: y.pmtiles"] },
        cacheMb: 1,
      }),
    ).toThrow(/object key/);
    expect(() =>
      renderMartinConfig({ postgis: true, postgisSchemas: ["app"], cacheMb: 1, basePath: "tiles" }),
    ).toThrow(/basePath: "tiles" must start with \//);
  });
});

const renderImportScript = (command: string[]) =>
  renderAdminJobScript({ command, origin: "stackport:basemap.import.command" }, "basemap import");

test("the import script passes shellcheck and passes each argument through literally", () => {
  const script = renderImportScript([
    "osm2pgsql",
    "--create",
    "--slim",
    "-d",
    "$DATABASE_URL",
    "/data/it's here.osm.pbf",
  ]);
  expect(shellcheck(script)).toEqual({ code: 0, output: "" });
  expect(shellcheck(renderImportScript(["ogr2ogr", "-f", "PostgreSQL", "PG:", "/data/parks.gpkg"]))).toEqual({
    code: 0,
    output: "",
  });
  expect(script).toContain(
    `exec 'osm2pgsql' '--create' '--slim' '-d' '$DATABASE_URL' '/data/it'"'"'s here.osm.pbf'\n`,
  );
});

// -------------------------------------------------------------------------------------------------------------

function basemapPlatform(environment: string, raw: Record<string, unknown>) {
  const cfg = resolveConfig({
    environment,
    targets: { home: { kind: "docker" } },
    storage: { on: "home" },
    database: { on: "home" },
  });
  const placement = testPlacement();
  const storage = new DockerObjectStorage("storage", { placement, safety: cfg.safety });
  const database = new DockerDatabase("database", { placement, safety: cfg.safety });
  return new DockerBasemap("basemap", {
    ...dockerBasemapArgs(basemap(raw)),
    placement,
    database: database.connection,
    storage: storage.connection,
    dependsOn: [database.nodes.bootstrap],
  });
}

const IMPORT = {
  image: "iboates/osm2pgsql:2.1.1",
  command: ["osm2pgsql", "--create", "/data/region.osm.pbf"],
};

describe("DockerBasemap under the mock runtime", () => {
  test("Martin + import job: exact children, the server waits for the import, the import for the bootstrap", async () => {
    const { recorder } = await record(() =>
      basemapPlatform("staging", { pmtiles: ["basemap.pmtiles"], import: IMPORT }),
    );
    const mine = recorder.resources.filter((r) => r.name === "basemap" || r.parent === "basemap");
    expect(mine.map((r) => [r.name, r.type]).sort()).toEqual(
      [
        ["basemap", "stackport:docker:Basemap"],
        ["basemap-image", "docker:index/remoteImage:RemoteImage"],
        ["basemap-import-image", "docker:index/remoteImage:RemoteImage"],
        ["basemap-import", "docker:index/container:Container"],
        ["basemap-server", "docker:index/container:Container"],
      ].sort(),
    );
    // No volume: Martin's tile cache lives in memory.
    expect(mine.filter((r) => r.type === "docker:index/volume:Volume")).toEqual([]);

    const job = one(recorder, "basemap-import");
    expect(job.inputs).toMatchObject({
      name: "test-basemap-import",
      mustRun: false,
      restart: "no",
      envs: SECRET_MASK,
    });
    expect(job.dependsOn).toContain("database-bootstrap");

    const server = one(recorder, "basemap-server");
    expect(server.dependsOn).toContain("basemap-import");
    expect(server.inputs).toMatchObject({
      name: "test-basemap",
      command: ["--config", MARTIN_CONFIG_PATH],
      envs: SECRET_MASK,
      memory: 1024,
      wait: true,
      healthcheck: { tests: ["CMD-SHELL", "wget --spider -q http://127.0.0.1:3000/health || exit 1"] },
      networksAdvanced: [{ name: "test-backend", aliases: ["basemap"] }],
    });
    // The config is plain text a reviewer can read: credentials are ${VAR} references, never values.
    const [upload] = server.inputs["uploads"] as { file: string; content: string }[];
    expect(upload!.file).toBe(MARTIN_CONFIG_PATH);
    expect(upload!.content).toBe(
      renderMartinConfig({
        postgis: true,
        postgisSchemas: ["app"],
        cacheMb: 512,
        basePath: "/tiles",
        pmtiles: {
          bucket: "tiles",
          keys: ["basemap.pmtiles"],
          endpoint: "http://storage:9000",
          region: "us-east-1",
        },
      }),
    );
    expect(JSON.stringify(recorder.resources)).not.toContain("mock-password");
  });

  test("PostGIS only, no import: just Martin, with a config that has no PMTiles section", async () => {
    const { recorder } = await record(() => basemapPlatform("local", {}));
    expect(
      recorder.resources
        .filter((r) => r.parent === "basemap")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["basemap-image", "basemap-server"]);
    const [upload] = one(recorder, "basemap-server").inputs["uploads"] as { content: string }[];
    expect(parseYaml(upload!.content)).not.toHaveProperty("pmtiles");
  });

  test("diskCache: nginx on an unprotected cache volume in front of Martin, even in staging", async () => {
    const { recorder, result } = await record(() =>
      basemapPlatform("staging", { diskCache: { sizeGb: 20, maxAge: "7d" } }),
    );
    // A proxy handed `upstreams` sends /tiles to the cache, not to Martin.
    expect(result.upstreams["basemap"]).toMatchObject({ host: "basemap-cache", port: 8080 });
    expect(
      recorder.resources
        .filter((r) => r.parent === "basemap")
        .map((r) => [r.name, r.type])
        .sort(),
    ).toEqual(
      [
        ["basemap-cache", "docker:index/container:Container"],
        ["basemap-cache-data", "docker:index/volume:Volume"],
        ["basemap-cache-image", "docker:index/remoteImage:RemoteImage"],
        ["basemap-image", "docker:index/remoteImage:RemoteImage"],
        ["basemap-server", "docker:index/container:Container"],
      ].sort(),
    );
    const volume = one(recorder, "basemap-cache-data");
    expect(volume.protect).toBe(false);
    expect(volume.retainOnDelete).toBe(false);
    expect(volume.inputs).toMatchObject({ name: "test-basemap-tile-cache" });
    expect(volume.inputs["labels"]).toContainEqual({ label: "stackport.stateful", value: "false" });
    // The database volume next to it stays protected: only the cache is exempt.
    expect(one(recorder, "database-data").protect).toBe(true);

    const cache = one(recorder, "basemap-cache");
    expect(cache.dependsOn).toContain("basemap-server");
    expect(cache.inputs).toMatchObject({
      name: "test-basemap-cache",
      image: "nginx:1.27.3-alpine",
      command: ["nginx", "-g", "daemon off;"],
      memory: 64 + keysZoneMb(20),
      wait: true,
      networksAdvanced: [{ name: "test-backend", aliases: ["basemap-cache"] }],
      volumes: [{ volumeName: "test-basemap-tile-cache", containerPath: "/var/cache/stackport-tiles" }],
      healthcheck: { tests: ["CMD-SHELL", "wget --spider -q http://127.0.0.1:8080/nginx-health || exit 1"] },
    });
    expect(cache.inputs["uploads"]).toEqual([
      {
        file: "/etc/nginx/nginx.conf",
        content: renderTileCacheConfig({ upstream: "http://basemap:3000", sizeGb: 20, maxAge: "7d" }),
      },
    ]);
  });

  test("a missing database fails before the basemap registers anything", async () => {
    const { recorder, result } = await record(() => {
      const placement = testPlacement();
      try {
        new DockerBasemap("basemap", {
          ...dockerBasemapArgs(basemap()),
          placement,
        });
        return undefined;
      } catch (e) {
        return e;
      }
    });
    expect(isArgsError(result)).toBe(true);
    expect((result as Error).message).toContain(
      "Invalid args for stackport:docker:Basemap 'basemap' (1 problem):\n  - postgis: needs a database connection",
    );
    expect(recorder.resources.filter((r) => r.name.startsWith("basemap"))).toEqual([]);
  });
});
