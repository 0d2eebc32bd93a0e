/**
 * `stackport:basemap` — the Martin tile server: PostGIS tables through the read-only `app_reader` role and/or
 * PMTiles archives from a bucket, an optional one-shot import job, routed at `/tiles`. Pure: schema, cross-tier
 * checks, and what the tier tells the proxy and observability.
 */
import { z } from "zod";
import type { ScrapeTarget } from "../../../components/observability/contract";
import type { ConfigIssue } from "../errors";
import { configKey } from "../keys";
import { keyName, pinnedImage } from "../schema";
import type { RouteConfig } from "./proxy";
import type { Upstream } from "../upstreams";
import { awsServiceSchema } from "./awsServices";
import { type TierContext, serviceRouteSchema } from "./ingestion";

/** A PMTiles object key in the bucket, e.g. `basemap.pmtiles` or `2024/roads.pmtiles`. */
const pmtilesKey = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\.pmtiles$/,
    "must be an object key ending in .pmtiles, of letters, digits, '.', '_', '-' and '/'",
  );

export const basemapSchema = z.strictObject({
  on: keyName,
  image: pinnedImage.default("ghcr.io/maplibre/martin:1.14.0"),
  /** Serve the PostGIS tables and functions `app_reader` can see (auto-published). */
  postgis: z.boolean().default(true),
  /** PMTiles archives to serve from `bucket`; each becomes a source named after its key (`basemap.pmtiles` → `basemap`). */
  pmtiles: z.array(pmtilesKey).default([]),
  /** The bucket (a key of `stackport:storage.buckets`) holding the PMTiles archives. */
  bucket: keyName.default("tiles"),
  /** Martin's in-memory tile cache (tiles and PMTiles directories), in MB; 0 disables it. Not on disk: no volume. */
  cacheMb: z.number().int().min(0).max(65536).default(512),
  /** Container memory limit; must leave room above the cache. */
  memoryMb: z.number().int().min(128).default(1024),
  /**
   * A tile cache on a volume, in front of Martin (Docker only): rendered tiles survive restarts and redeploys, and
   * each is rendered once per `maxAge` however many clients ask. Only tile requests (`/<source>/<z>/<x>/<y>`) are
   * cached, never the catalog, TileJSON or errors, so new sources show at once; a tile changed in PostGIS shows
   * after `maxAge`. Off when absent; `diskCache: {}` turns it on with the defaults.
   */
  diskCache: z
    .strictObject({
      /** Largest size of the cache on disk; the least recently used tiles go first. @default 10 */
      sizeGb: z.number().int().min(1).max(4096).default(10),
      /** How long a cached tile is served before Martin renders it again (nginx time: `30m`, `12h`, `7d`). @default "1d" */
      maxAge: z
        .string()
        .regex(/^[1-9][0-9]{0,5}[smhd]$/, "must be a number and a unit s, m, h or d, e.g. 12h or 7d")
        .default("1d"),
      image: pinnedImage.default("nginx:1.27.3-alpine"),
    })
    .optional(),
  /**
   * A one-shot import (osm2pgsql, ogr2ogr…) run before Martin starts. It connects as `db_admin` — the one
   * exception to "services never get db_admin": it creates tables, and tables db_admin creates in schema `app` are
   * readable by `app_reader` (default privileges), which is what Martin serves. It gets `DATABASE_URL` and the libpq
   * variables (`PGHOST`…, `PGOPTIONS` with `search_path=app,public`). Re-runs when image or command change.
   */
  import: z
    .strictObject({
      image: pinnedImage,
      command: z.array(z.string().min(1)).min(1),
    })
    .optional(),
  /** How the proxy publishes the tiles; `false` for not at all. Needs `stackport:proxy` to take effect. */
  route: z
    .union([
      serviceRouteSchema.extend({
        path: serviceRouteSchema.shape.path.unwrap().default("/tiles"),
        stripPrefix: z.boolean().default(true),
      }),
      z.literal(false),
    ])
    .default({ path: "/tiles", stripPrefix: true, auth: "none" }),
  /** Fargate sizing and autoscaling when the tier is on an AWS target (docs/aws-services.md). */
  aws: awsServiceSchema.optional(),
});
export type BasemapConfig = z.infer<typeof basemapSchema>;

/** Martin's DNS name, port and endpoints on the backend network. */
export const BASEMAP_HOST = "basemap";
export const MARTIN_PORT = 3000;
export const MARTIN_HEALTH_PATH = "/health";
export const MARTIN_METRICS_PATH = "/_/metrics";
/** The disk tile cache's DNS name and port on the backend network; the proxy routes to it when it is on. */
export const TILE_CACHE_HOST = "basemap-cache";
export const TILE_CACHE_PORT = 8080;

/** The Martin source id of a PMTiles key: its path without `.pmtiles`, `/` → `.` (Martin's own convention). */
export const pmtilesSourceId = (key: string) => key.replace(/\.pmtiles$/, "").replace(/\//g, ".");

const key = (...path: PropertyKey[]) => configKey(["basemap", ...path]);

/** Cross-tier rules for `stackport:basemap`; `resolveConfig` runs them on the whole parsed config. */
export function checkBasemap(cfg: TierContext & { basemap?: BasemapConfig | undefined }): ConfigIssue[] {
  const basemap = cfg.basemap;
  if (!basemap) return [];
  const issues: ConfigIssue[] = [];
  if (!basemap.postgis && basemap.pmtiles.length === 0) {
    issues.push({ key: key(), message: "serves nothing: set postgis: true or list pmtiles archives" });
  }
  if (basemap.postgis && !cfg.database) {
    issues.push({
      key: key("postgis"),
      message: "needs the database tier: stackport:database is not set (or set postgis: false)",
    });
  }
  if (basemap.import && !cfg.database) {
    issues.push({ key: key("import"), message: "needs the database tier: stackport:database is not set" });
  }
  if (basemap.pmtiles.length > 0) {
    if (!cfg.storage) {
      issues.push({ key: key("pmtiles"), message: "needs the storage tier: stackport:storage is not set" });
    } else if (!(basemap.bucket in cfg.storage.buckets)) {
      issues.push({
        key: key("bucket"),
        message: `unknown bucket '${basemap.bucket}'; stackport:storage.buckets has: ${Object.keys(cfg.storage.buckets).join(", ")}`,
      });
    }
    const seen = new Map<string, number>();
    basemap.pmtiles.forEach((k, i) => {
      const id = pmtilesSourceId(k);
      const first = seen.get(id);
      if (first !== undefined) {
        issues.push({
          key: key("pmtiles", i),
          message: `same source id '${id}' as stackport:basemap.pmtiles[${first}]`,
        });
      } else seen.set(id, i);
    });
  }
  if (basemap.memoryMb < basemap.cacheMb + 128) {
    issues.push({
      key: key("memoryMb"),
      message: `must be at least cacheMb + 128 (${basemap.cacheMb + 128}) so the cache fits`,
    });
  }
  if (basemap.diskCache && (!basemap.route || !cfg.proxy)) {
    issues.push({
      key: key("diskCache"),
      message: basemap.route
        ? "only the proxy's basemap route goes through the cache, and stackport:proxy is not set; place a proxy or remove diskCache"
        : "only the proxy's basemap route goes through the cache, and route is false; route the basemap or remove diskCache",
    });
  }
  if (basemap.route && cfg.proxy && BASEMAP_HOST in cfg.proxy.routes) {
    issues.push({
      key: key("route"),
      message: `the basemap route is named '${BASEMAP_HOST}', and stackport:proxy.routes.${BASEMAP_HOST} already exists; rename it or set route: false`,
    });
  }
  if (basemap.route && !basemap.route.stripPrefix && basemap.route.path.replace(/\/+$/, "") !== "") {
    issues.push({
      key: key("route", "stripPrefix"),
      message:
        "must be true: Martin serves at its root, so the proxy strips the path (TileJSON URLs keep it)",
    });
  }
  if (basemap.route && basemap.route.path.replace(/\/+$/, "") === "/healthz") {
    issues.push({
      key: key("route", "path"),
      message: "/healthz is the proxy's own health endpoint; choose another path",
    });
  }
  return issues;
}

/** The `basemap` proxy route, when the basemap is routed and a proxy exists. */
export function basemapRoutes(cfg: {
  basemap?: BasemapConfig | undefined;
  proxy?: unknown;
}): Record<string, RouteConfig> {
  const route = cfg.basemap?.route;
  if (!route || !cfg.proxy) return {};
  return { [BASEMAP_HOST]: { ...route, to: BASEMAP_HOST } };
}

/** The path Martin's TileJSON URLs must start with: the route's path when the proxy strips it. */
export function basemapBasePath(basemap: Pick<BasemapConfig, "route">): string | undefined {
  const path = basemap.route ? basemap.route.path.replace(/\/+$/, "") : "";
  return path === "" ? undefined : path;
}

/** Where the proxy sends basemap requests: the disk tile cache when it is on (its `/health` is Martin's), else Martin. */
export function basemapUpstreams(cfg: { basemap?: BasemapConfig | undefined }): Record<string, Upstream> {
  if (!cfg.basemap) return {};
  const cached = cfg.basemap.diskCache !== undefined;
  return {
    [BASEMAP_HOST]: {
      tier: "basemap",
      host: cached ? TILE_CACHE_HOST : BASEMAP_HOST,
      port: cached ? TILE_CACHE_PORT : MARTIN_PORT,
      healthPath: MARTIN_HEALTH_PATH,
    },
  };
}

export function basemapScrapeTargets(cfg: { basemap?: BasemapConfig | undefined }): ScrapeTarget[] {
  if (!cfg.basemap) return [];
  return [
    {
      job: "basemap",
      tier: "basemap",
      addresses: [`${BASEMAP_HOST}:${MARTIN_PORT}`],
      metricsPath: MARTIN_METRICS_PATH,
    },
  ];
}
