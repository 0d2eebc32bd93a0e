import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, type ConfigIssue, type Safety } from "../../src/config";
import {
  BASEMAP_HOST,
  type BasemapConfig,
  MARTIN_HEALTH_PATH,
  MARTIN_PORT,
  basemapBasePath,
} from "../../src/config/tiers/basemap";
import type { DockerPlacement } from "../shared/placement";
import type { DatabaseConnection } from "../database/contract";
import { type Transform, transformed } from "../shared/component";
import { attachNetworks, containerName, oneShotJob, pullImage, healthProbe } from "../shared/docker";
import { dockerLabels } from "../shared/labels";
import type { StorageConnection } from "../storage/contract";
import { libpqEnv, renderAdminJobScript } from "../shared/adminJob";
import { MARTIN_ENV, type MartinConfigInput, renderMartinConfig } from "./martinConfig";
import { dockerTileCache } from "./tileCache";

export interface DockerBasemapArgs {
  /** The parsed `stackport:basemap` settings. A change of image or rendered config replaces the server. */
  config: BasemapConfig;
  /** Where the containers run. */
  placement: DockerPlacement;
  /**
   * Stateful safety. Unused: Martin keeps no state, and the disk tile cache holds only tiles Martin renders again,
   * so nothing here is protected; accepted so every tier is built the same way.
   */
  safety: Safety;
  /** Needed when `postgis` or `import` is set. */
  database?: DatabaseConnection | undefined;
  /** Needed when `pmtiles` lists archives. */
  storage?: StorageConnection | undefined;
  /** What the import job waits for besides the database connection (e.g. the database bootstrap). @default [] */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Per-child escape hatches. */
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
 * optional disk tile cache in front (`diskCache`, components/basemap/tileCache.ts). On the backend network only:
 * the proxy reaches it there.
 */
export class DockerBasemap extends pulumi.ComponentResource {
  /** `http://basemap:3000` on the backend network. */
  readonly url: string;
  readonly nodes: {
    image: docker.RemoteImage;
    server: docker.Container;
    importImage?: docker.RemoteImage;
    importJob?: docker.Container;
    cache?: ReturnType<typeof dockerTileCache>;
  };

  constructor(name: string, args: DockerBasemapArgs, opts?: pulumi.ComponentResourceOptions) {
    const { config, placement, transform } = args;
    // Validate before super(): missing tiers, and every value the config file will contain (endpoint placeholder).
    const missing = missingTiers(config, args);
    if (missing.length > 0) throw new ConfigError(missing);
    const pmtiles = config.pmtiles.length > 0 ? args.storage : undefined;
    const martinInput = (endpoint: string, region: string, bucket: string): MartinConfigInput => {
      const basePath = basemapBasePath(config);
      return {
        postgis: config.postgis,
        cacheMb: config.cacheMb,
        ...(pmtiles && { pmtiles: { bucket, keys: config.pmtiles, endpoint, region } }),
        ...(basePath !== undefined && { basePath }),
      };
    };
    renderMartinConfig(martinInput("http://storage:9000", "us-east-1", "tiles"));

    super("stackport:docker:Basemap", name, { config }, opts);
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
        script: renderAdminJobScript(
          { command: config.import.command, origin: "stackport:basemap.import.command" },
          "basemap import",
        ),
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
    this.nodes = {
      image,
      server,
      ...(importImage && importJob && { importImage, importJob }),
      ...(cache && { cache }),
    };
    this.registerOutputs({ url: this.url, sources: config.pmtiles });
  }
}

function missingTiers(
  config: BasemapConfig,
  args: Pick<DockerBasemapArgs, "database" | "storage">,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if ((config.postgis || config.import) && !args.database) {
    issues.push({
      key: config.postgis ? "stackport:basemap.postgis" : "stackport:basemap.import",
      message: "needs the database tier, which is not placed",
    });
  }
  if (config.pmtiles.length > 0 && !args.storage?.buckets[config.bucket]) {
    issues.push({
      key: "stackport:basemap.bucket",
      message: `needs the storage tier with bucket '${config.bucket}', which is not placed`,
    });
  }
  return issues;
}
