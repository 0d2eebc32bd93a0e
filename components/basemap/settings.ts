/**
 * The pure half of the basemap tier: defaults, Martin's and the tile cache's addresses on the backend network, what
 * the tier exposes to the proxy and Prometheus, and the args checks of both backends. No provider import.
 */
import type { ScrapeTarget } from "../observability/contract";
import type { OfferedConnections } from "../shared/offered";
import type { Upstream } from "../proxy/contract";
import type { ArgsIssue } from "../shared/errors";
import { FARGATE_MEMORY, type FargateSizingArgs, validateFargateSizing } from "../shared/fargateSizing";
import { martinConfigIssues } from "./martinConfig";

export { pmtilesSourceId } from "./martinConfig";

/** Martin's DNS name, port and endpoints on the backend network. */
export const BASEMAP_HOST = "basemap";
export const MARTIN_PORT = 3000;
export const MARTIN_HEALTH_PATH = "/health";
export const MARTIN_METRICS_PATH = "/_/metrics";
/** The disk tile cache's DNS name and port on the backend network; the proxy routes to it when it is on. */
export const TILE_CACHE_HOST = "basemap-cache";
export const TILE_CACHE_PORT = 8080;

/** Defaults of Martin, on either backend. */
export const BASEMAP_DEFAULTS = {
  image: "ghcr.io/maplibre/martin:1.14.0",
  postgis: true,
  /** Only what the import job (and migrations) create in `app`: never `audit`, `public` or later grants. */
  postgisSchemas: ["app"] as readonly string[],
  bucket: "tiles",
  cacheMb: 512,
  memoryMb: 1024,
} as const;

/** Defaults of the Docker disk tile cache (nginx). */
export const DISK_CACHE_DEFAULTS = { sizeGb: 10, maxAge: "1d", image: "nginx:1.27.3-alpine" } as const;

/** The disk tile cache in front of Martin (Docker). */
export interface DiskCacheArgs {
  /** Largest size on disk, in GB (1–4096); the least recently used tiles go first. @default 10 */
  sizeGb?: number;
  /** How long a cached tile is served before Martin renders it again (nginx time: `30m`, `12h`, `7d`). @default "1d" */
  maxAge?: string;
  /** @default "nginx:1.27.3-alpine" */
  image?: string;
}

/** Martin leaves this much memory (MB) to itself above its cache. */
const MARTIN_OVERHEAD_MB = 128;

/** Where the proxy sends basemap requests: the disk tile cache when it is on (its `/health` is Martin's), else Martin. */
export function basemapUpstreams(args: { diskCache?: unknown }): Record<string, Upstream> {
  const cached = args.diskCache !== undefined;
  return {
    [BASEMAP_HOST]: {
      tier: "basemap",
      host: cached ? TILE_CACHE_HOST : BASEMAP_HOST,
      port: cached ? TILE_CACHE_PORT : MARTIN_PORT,
      healthPath: MARTIN_HEALTH_PATH,
    },
  };
}

/** Martin's own metrics. */
export function basemapScrapeTargets(): ScrapeTarget[] {
  return [
    {
      job: "basemap",
      tier: "basemap",
      addresses: [`${BASEMAP_HOST}:${MARTIN_PORT}`],
      metricsPath: MARTIN_METRICS_PATH,
    },
  ];
}

/** The smallest Fargate memory for `cpu` that leaves Martin room above its cache. */
export function fargateMemoryFor(cpu: number, cacheMb: number): number | undefined {
  return FARGATE_MEMORY[cpu]?.find((m) => m >= cacheMb + MARTIN_OVERHEAD_MB);
}

/** The settings both backends share. */
export interface MartinArgs {
  image?: string | undefined;
  postgis?: boolean | undefined;
  postgisSchemas?: string[] | undefined;
  pmtiles?: string[] | undefined;
  bucket?: string | undefined;
  cacheMb?: number | undefined;
  basePath?: string | undefined;
}

/** Martin's settings with their defaults (both backends record them as their inputs, `basePath` apart). */
export function martinSettings(args: MartinArgs) {
  const d = BASEMAP_DEFAULTS;
  return {
    image: args.image ?? d.image,
    postgis: args.postgis ?? d.postgis,
    postgisSchemas: [...(args.postgisSchemas ?? d.postgisSchemas)],
    pmtiles: args.pmtiles ?? [],
    bucket: args.bucket ?? d.bucket,
    cacheMb: args.cacheMb ?? d.cacheMb,
  };
}

/** What Martin's config could not hold, and connections missing for what it serves. */
function martinIssues(
  args: MartinArgs,
  offered: Pick<OfferedConnections, "database" | "buckets">,
): ArgsIssue[] {
  const d = BASEMAP_DEFAULTS;
  const postgis = args.postgis ?? d.postgis;
  const pmtiles = args.pmtiles ?? [];
  const bucket = args.bucket ?? d.bucket;
  const issues = martinConfigIssues({
    postgis,
    postgisSchemas: [...(args.postgisSchemas ?? d.postgisSchemas)],
    cacheMb: args.cacheMb ?? d.cacheMb,
    ...(pmtiles.length > 0 && {
      pmtiles: { bucket, keys: pmtiles, endpoint: "http://storage:9000", region: "" },
    }),
    ...(args.basePath !== undefined && { basePath: args.basePath }),
  });
  if (postgis && !offered.database) issues.push({ path: "postgis", message: "needs a database connection" });
  if (pmtiles.length > 0 && !offered.buckets?.includes(bucket))
    issues.push({ path: "bucket", message: `needs a storage connection with bucket '${bucket}'` });
  return issues;
}

const NGINX_TIME = /^[1-9][0-9]{0,5}[smhd]$/;

/** What is wrong with `DockerBasemapArgs` (empty when valid). */
export function validateDockerBasemapArgs(
  args: MartinArgs & {
    memoryMb?: number | undefined;
    diskCache?: DiskCacheArgs | undefined;
    import?: unknown;
  },
  offered: Pick<OfferedConnections, "database" | "buckets">,
): ArgsIssue[] {
  const issues = martinIssues(args, offered);
  const cacheMb = args.cacheMb ?? BASEMAP_DEFAULTS.cacheMb;
  const memoryMb = args.memoryMb ?? BASEMAP_DEFAULTS.memoryMb;
  if (memoryMb < cacheMb + MARTIN_OVERHEAD_MB) {
    issues.push({
      path: "memoryMb",
      message: `must be at least cacheMb + ${MARTIN_OVERHEAD_MB} (${cacheMb + MARTIN_OVERHEAD_MB}) so the cache fits`,
    });
  }
  if (args.import && !offered.database)
    issues.push({ path: "import", message: "needs a database connection" });
  const cache = args.diskCache;
  if (
    cache?.sizeGb !== undefined &&
    !(Number.isInteger(cache.sizeGb) && cache.sizeGb >= 1 && cache.sizeGb <= 4096)
  )
    issues.push({ path: "diskCache.sizeGb", message: "must be a whole number of GB from 1 to 4096" });
  if (cache?.maxAge !== undefined && !NGINX_TIME.test(cache.maxAge))
    issues.push({
      path: "diskCache.maxAge",
      message: "must be a number and a unit s, m, h or d, e.g. 12h or 7d",
    });
  return issues;
}

/** What is wrong with `EcsBasemapArgs` (empty when valid): Martin's settings, and a task big enough for its cache. */
export function validateEcsBasemapArgs(
  args: MartinArgs & { sizing?: FargateSizingArgs | undefined },
  offered: Pick<OfferedConnections, "database" | "buckets">,
): ArgsIssue[] {
  const issues = [...martinIssues(args, offered), ...validateFargateSizing(args.sizing ?? {})];
  const cacheMb = args.cacheMb ?? BASEMAP_DEFAULTS.cacheMb;
  const cpu = args.sizing?.cpu ?? 256;
  const memory = args.sizing?.memoryMb ?? fargateMemoryFor(cpu, cacheMb);
  if (FARGATE_MEMORY[cpu] && (memory === undefined || memory < cacheMb + MARTIN_OVERHEAD_MB)) {
    issues.push({
      path: "sizing.memoryMb",
      message: `must be at least cacheMb + ${MARTIN_OVERHEAD_MB} (${cacheMb + MARTIN_OVERHEAD_MB}) MiB so Martin's cache fits; raise sizing.cpu or lower cacheMb`,
    });
  }
  return issues;
}
