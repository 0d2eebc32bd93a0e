/**
 * `stackport:basemap` — the Martin tile server: PostGIS tables through the read-only `app_reader` role and/or
 * PMTiles archives from a bucket, an optional one-shot import job, routed at `/tiles`. Pure: schema, cross-tier
 * checks, and what the tier tells the proxy and observability.
 */
import { z } from "zod";
import type { DockerBasemapArgs } from "../../../components/basemap/dockerBasemap";
import type { EcsBasemapArgs } from "../../../components/basemap/ecsBasemap";
import {
  BASEMAP_DEFAULTS,
  BASEMAP_HOST,
  DISK_CACHE_DEFAULTS,
  basemapScrapeTargets as martinScrapeTargets,
  basemapUpstreams as martinUpstreams,
  validateDockerBasemapArgs,
  validateEcsBasemapArgs,
} from "../../../components/basemap/settings";
import { POSTGIS_SCHEMA } from "../../../components/basemap/martinConfig";
import type { ScrapeTarget } from "../../../components/observability/contract";
import { type ConfigIssue, configIssues } from "../errors";
import { CONFIG_NAMESPACE, configKey } from "../keys";
import { type Environment, keyName, pinnedImage } from "../schema";
import type { RouteConfig } from "./proxy";
import { awsServiceSchema, awsServiceSizing } from "./awsServices";
import { type TierContext, serviceRouteSchema } from "./ingestion";

/** A PMTiles object key in the bucket, e.g. `basemap.pmtiles` or `2024/roads.pmtiles`. */
const pmtilesKey = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\.pmtiles$/,
    "must be an object key ending in .pmtiles, of letters, digits, '.', '_', '-' and '/'",
  );

export const basemapSchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /** Martin tile server image. */
  image: pinnedImage.default(BASEMAP_DEFAULTS.image),
  /** Serve PostGIS tables and functions (Martin connects as `app_reader`), from `postgisSchemas` only. */
  postgis: z.boolean().default(BASEMAP_DEFAULTS.postgis),
  /**
   * The schemas whose tables and functions Martin publishes. Tables elsewhere are never served, even when
   * `app_reader` can read them (`audit`, `public`, later grants). The import job writes to `app`.
   */
  postgisSchemas: z
    .array(
      z.string().regex(POSTGIS_SCHEMA, "must be a lower-case schema name (letters, digits, '_'), not pg_*"),
    )
    .min(1)
    .default([...BASEMAP_DEFAULTS.postgisSchemas]),
  /** PMTiles archives to serve from `bucket`; each becomes a source named after its key (`basemap.pmtiles` → `basemap`). */
  pmtiles: z.array(pmtilesKey).default([]),
  /** The bucket (a key of `stackport:storage.buckets`) holding the PMTiles archives. */
  bucket: keyName.default(BASEMAP_DEFAULTS.bucket),
  /** Martin's in-memory tile cache (tiles and PMTiles directories), in MB; 0 disables it. Not on disk: no volume. */
  cacheMb: z.number().int().min(0).max(65536).default(BASEMAP_DEFAULTS.cacheMb),
  /** Container memory limit; must leave room above the cache. */
  memoryMb: z.number().int().min(128).default(BASEMAP_DEFAULTS.memoryMb),
  /**
   * A tile cache on a volume, in front of Martin (Docker only): rendered tiles survive restarts and redeploys, and
   * each is rendered once per `maxAge` however many clients ask. Only tile requests (`/<source>/<z>/<x>/<y>`) are
   * cached, never the catalog, TileJSON or errors, so new sources show at once; a tile changed in PostGIS shows
   * after `maxAge`. Off when absent; `diskCache: {}` turns it on with the defaults. Refused on AWS (a Fargate task
   * has no lasting volume) and without the proxy's basemap route.
   */
  diskCache: z
    .strictObject({
      /** Largest size of the cache on disk; the least recently used tiles go first. @default 10 */
      sizeGb: z.number().int().min(1).max(4096).default(DISK_CACHE_DEFAULTS.sizeGb),
      /** How long a cached tile is served before Martin renders it again (nginx time: `30m`, `12h`, `7d`). @default "1d" */
      maxAge: z
        .string()
        .regex(/^[1-9][0-9]{0,5}[smhd]$/, "must be a number and a unit s, m, h or d, e.g. 12h or 7d")
        .default(DISK_CACHE_DEFAULTS.maxAge),
      /** The nginx image that runs the cache. */
      image: pinnedImage.default(DISK_CACHE_DEFAULTS.image),
    })
    .optional(),
  /**
   * A one-shot import (osm2pgsql, ogr2ogr…) run before Martin starts. It connects as `db_admin` — the one
   * exception to "services never get db_admin": it creates tables, and tables db_admin creates in schema `app` are
   * readable by `app_reader` (default privileges), which is what Martin serves. It gets `DATABASE_URL` and the libpq
   * variables (`PGHOST`…, `PGOPTIONS` with `search_path=app,public`). Re-runs when image or command change. Docker
   * only: refused on AWS.
   */
  import: z
    .strictObject({
      /** Image that runs the import; it needs `/bin/sh`. */
      image: pinnedImage,
      /** The import command, as a list of arguments (the program first). */
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

const key = (...path: PropertyKey[]) => configKey(["basemap", ...path]);

/** Cross-tier rules for `stackport:basemap`; `resolveConfig` runs them on the whole parsed config. */
export function checkBasemap(cfg: TierContext & { basemap?: BasemapConfig | undefined }): ConfigIssue[] {
  const basemap = cfg.basemap;
  if (!basemap) return [];
  const issues: ConfigIssue[] = [];
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
  issues.push(...basemapArgIssues(cfg));
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

/** Where the proxy sends basemap requests: the disk tile cache when it is on, else Martin. */
export function basemapUpstreams(cfg: { basemap?: BasemapConfig | undefined }) {
  return cfg.basemap ? martinUpstreams(cfg.basemap) : {};
}

export function basemapScrapeTargets(cfg: { basemap?: BasemapConfig | undefined }): ScrapeTarget[] {
  return cfg.basemap ? martinScrapeTargets() : [];
}

/** The settings both backends share: the PostGIS and PMTiles sources, the cache, the path behind the proxy. */
function martinArgs(basemap: BasemapConfig) {
  const basePath = basemapBasePath(basemap);
  return {
    image: basemap.image,
    postgis: basemap.postgis,
    postgisSchemas: basemap.postgisSchemas,
    pmtiles: basemap.pmtiles,
    bucket: basemap.bucket,
    cacheMb: basemap.cacheMb,
    ...(basePath !== undefined && { basePath }),
  };
}

/** The tier on a Docker target. */
export function dockerBasemapArgs(basemap: BasemapConfig): Omit<DockerBasemapArgs, "placement"> {
  return {
    ...martinArgs(basemap),
    memoryMb: basemap.memoryMb,
    ...(basemap.diskCache && { diskCache: basemap.diskCache }),
    ...(basemap.import && {
      import: { ...basemap.import, origin: configKey(["basemap", "import", "command"]) },
    }),
  };
}

/** The tier on an AWS target: Fargate sizes with the environment's task counts. */
export function ecsBasemapArgs(
  basemap: BasemapConfig,
  stack: { environment: Environment; logRetentionDays: number },
): Omit<EcsBasemapArgs, "placement"> {
  return {
    ...martinArgs(basemap),
    sizing: awsServiceSizing(basemap.aws, stack.environment),
    logRetentionDays: stack.logRetentionDays,
  };
}

/** A basemap arg path's config key: `sizing` is the `aws` block; `basePath` comes from the route's path. */
const basemapKey = (path: string) =>
  `${CONFIG_NAMESPACE}:basemap.${path.replace(/^sizing\b/, "aws").replace(/^basePath$/, "route.path")}`;

/**
 * The tier as the component of its target kind checks it, named by config key. Connections are offered in full:
 * whether their tiers exist is the stack's rule (`checkBasemap`), with clearer messages.
 */
function basemapArgIssues(cfg: TierContext & { basemap?: BasemapConfig | undefined }) {
  const basemap = cfg.basemap!;
  const offered = { database: true, buckets: [basemap.bucket] };
  const issues =
    cfg.targets[basemap.on]?.kind === "aws"
      ? validateEcsBasemapArgs(
          ecsBasemapArgs(basemap, { environment: cfg.environment, logRetentionDays: 30 }),
          offered,
        )
      : validateDockerBasemapArgs(dockerBasemapArgs(basemap), offered);
  return configIssues(issues, basemapKey);
}
