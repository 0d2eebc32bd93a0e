import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseConnection } from "../database/contract";
import { type AdminJobArgs, libpqEnv, renderAdminJobScript } from "../shared/adminJob";
import { type Transform, transformed } from "../shared/component";
import { attachNetworks, containerName, healthProbe, oneShotJob, pullImage } from "../shared/docker";
import { assertValidArgs } from "../shared/errors";
import { offeredBy } from "../shared/offered";
import { dockerLabels } from "../shared/labels";
import type { DockerPlacement } from "../shared/placement";
import type { StorageConnection } from "../storage/contract";
import { MARTIN_ENV, type MartinConfigInput, renderMartinConfig } from "./martinConfig";
import {
  BASEMAP_DEFAULTS,
  BASEMAP_HOST,
  DISK_CACHE_DEFAULTS,
  type DiskCacheArgs,
  MARTIN_HEALTH_PATH,
  MARTIN_PORT,
  basemapUpstreams,
  martinSettings,
  validateDockerBasemapArgs,
} from "./settings";
import type { Upstream } from "../proxy/contract";
import { type TileCacheNodes, dockerTileCache } from "./tileCache";

export interface DockerBasemapArgs {
  /** The Docker target the containers run on (`DockerTarget.placement`). */
  placement: DockerPlacement;
  /** The Martin image. @default "ghcr.io/maplibre/martin:1.14.0" */
  image?: string;
  /** Serve PostGIS tables and functions (as `app_reader`), from `postgisSchemas` only. Needs `database`. @default true */
  postgis?: boolean;
  /**
   * The schemas whose tables and functions Martin publishes; tables elsewhere stay unpublished even when `app_reader`
   * can read them.
   * @default ["app"]
   * @example ["app", "basemap"]
   */
  postgisSchemas?: string[];
  /**
   * PMTiles archives in `bucket`; each becomes a source named after its key (`2024/roads.pmtiles` → `2024.roads`).
   * Needs `storage`.
   * @default []
   * @example ["basemap.pmtiles"]
   */
  pmtiles?: string[];
  /** The bucket (a key of the storage connection's buckets) holding the archives. @default "tiles" */
  bucket?: string;
  /** Martin's in-memory tile cache, in MB; 0 disables it. @default 512 */
  cacheMb?: number;
  /** Container memory limit, in MB; at least `cacheMb` + 128. @default 1024 */
  memoryMb?: number;
  /** The path the proxy serves Martin under, so TileJSON tile URLs point through the proxy. @default Martin's root */
  basePath?: string;
  /** A tile cache on a volume in front of Martin (nginx): route the proxy to `basemapUpstreams`' address. @default none */
  diskCache?: DiskCacheArgs;
  /** A one-shot import (osm2pgsql, ogr2ogr…) as `db_admin` before Martin starts. Needs `database`. @default none */
  import?: AdminJobArgs;
  /** For `postgis` (Martin connects as `app_reader`) and `import` (as `db_admin`). @default none */
  database?: DatabaseConnection | undefined;
  /** For `pmtiles`: endpoint, credentials and the bucket's name. @default none */
  storage?: StorageConnection | undefined;
  /** What the import job waits for besides the database connection (e.g. the database bootstrap). @default [] */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Per-child escape hatches. @default none */
  transform?: {
    server?: Transform<docker.ContainerArgs>;
    import?: Transform<docker.ContainerArgs>;
    cache?: Transform<docker.ContainerArgs>;
    cacheVolume?: Transform<docker.VolumeArgs>;
  };
}

export const MARTIN_CONFIG_PATH = "/etc/martin/config.yaml";

/**
 * The basemap tier on Docker: Martin with a generated config (PostGIS through `app_reader`, PMTiles from the
 * storage bucket with credentials passed by environment), an optional one-shot import job that runs first, and an
 * optional disk tile cache in front (`diskCache`, tileCache.ts). On the backend network only: the proxy reaches it
 * there. Martin keeps no state and the cache only what Martin renders again, so nothing here is protected.
 * @example
 * new DockerBasemap("basemap", {
 *   placement: target.placement,
 *   pmtiles: ["world.pmtiles"],
 *   storage: storage.connection,
 *   database: db.connection,
 *   basePath: "/tiles",
 * });
 */
export class DockerBasemap extends pulumi.ComponentResource {
  /** `http://basemap:3000` on the backend network. */
  readonly url: string;
  /** What a proxy can route to (`DockerProxyArgs.upstreams`): `basemap`, through the tile cache when it is on. */
  readonly upstreams: Record<string, Upstream>;
  readonly nodes: {
    image: docker.RemoteImage;
    server: docker.Container;
    importImage?: docker.RemoteImage;
    importJob?: docker.Container;
    cache?: TileCacheNodes;
  };

  constructor(name: string, args: DockerBasemapArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate before super(): missing connections, and every value the config file will contain.
    assertValidArgs(`stackport:docker:Basemap '${name}'`, validateDockerBasemapArgs(args, offeredBy(args)));
    const config = {
      ...martinSettings(args),
      memoryMb: args.memoryMb ?? BASEMAP_DEFAULTS.memoryMb,
      ...(args.basePath !== undefined && { basePath: args.basePath }),
      ...(args.diskCache && { diskCache: { ...DISK_CACHE_DEFAULTS, ...args.diskCache } }),
      ...(args.import && { import: args.import }),
    };
    const { placement, transform } = args;
    const pmtiles = config.pmtiles.length > 0 ? args.storage : undefined;
    const martinInput = (endpoint: string, region: string, bucket: string): MartinConfigInput => ({
      postgis: config.postgis,
      postgisSchemas: config.postgisSchemas,
      cacheMb: config.cacheMb,
      ...(pmtiles && { pmtiles: { bucket, keys: config.pmtiles, endpoint, region } }),
      ...(config.basePath !== undefined && { basePath: config.basePath }),
    });

    super("stackport:docker:Basemap", name, config, opts);
    const provider = placement.provider;
    const image = pullImage(`${name}-image`, config.image, this, placement);

    let importImage: docker.RemoteImage | undefined;
    let importJob: docker.Container | undefined;
    if (config.import) {
      importImage = pullImage(`${name}-import-image`, config.import.image, this, placement);
      importJob = oneShotJob(`${name}-import`, this, {
        tier: "basemap",
        role: "import",
        placement,
        image: importImage.imageId,
        script: renderAdminJobScript(config.import, "basemap import"),
        envs: libpqEnv(args.database!.roles.db_admin),
        purpose: "basemap import",
        dependsOn: args.dependsOn ?? [],
        transform: transform?.import,
      }).job;
    }

    const configText = pmtiles
      ? pulumi
          .all([pmtiles.endpoint, pmtiles.region, pmtiles.buckets[config.bucket]!])
          .apply(([endpoint, region, bucket]) => renderMartinConfig(martinInput(endpoint, region, bucket)))
      : pulumi.output(renderMartinConfig(martinInput("", "", "")));
    const envs: pulumi.Input<string>[] = [
      ...(config.postgis
        ? [
            pulumi.secret(
              pulumi.interpolate`${MARTIN_ENV.databaseUrl}=${args.database!.roles.app_reader.url}`,
            ),
          ]
        : []),
      ...(pmtiles
        ? [
            pulumi.secret(pulumi.interpolate`${MARTIN_ENV.accessKeyId}=${pmtiles.accessKeyId}`),
            pulumi.secret(pulumi.interpolate`${MARTIN_ENV.secretAccessKey}=${pmtiles.secretAccessKey}`),
          ]
        : []),
    ];

    const [serverArgs, serverOpts] = transformed<docker.ContainerArgs>(
      transform?.server,
      {
        name: containerName("basemap"),
        image: image.imageId,
        command: ["--config", MARTIN_CONFIG_PATH],
        uploads: [{ file: MARTIN_CONFIG_PATH, content: configText }],
        envs,
        networksAdvanced: attachNetworks(placement, BASEMAP_HOST),
        // Same probe as the image's own HEALTHCHECK, stated here so `wait` does not depend on the image keeping it.
        healthcheck: healthProbe(
          ["CMD-SHELL", `wget --spider -q http://127.0.0.1:${MARTIN_PORT}${MARTIN_HEALTH_PATH} || exit 1`],
          { startPeriod: "10s" },
        ),
        wait: true,
        waitTimeout: 120,
        restart: "unless-stopped",
        memory: config.memoryMb,
        labels: dockerLabels("basemap", { "stackport.role": "server" }),
      },
      // Martin publishes the tables it finds at start: let the import create them first.
      { parent: this, provider, ...(importJob && { dependsOn: [importJob] }) },
    );
    const server = new docker.Container(`${name}-server`, serverArgs, serverOpts);
    const cache =
      config.diskCache &&
      dockerTileCache(`${name}-cache`, this, {
        config: config.diskCache,
        placement,
        martin: server,
        transform: { container: transform?.cache, volume: transform?.cacheVolume },
      });

    this.url = `http://${BASEMAP_HOST}:${MARTIN_PORT}`;
    this.upstreams = basemapUpstreams(args);
    this.nodes = {
      image,
      server,
      ...(importImage && importJob && { importImage, importJob }),
      ...(cache && { cache }),
    };
    this.registerOutputs({ url: this.url, sources: config.pmtiles });
  }
}
