/**
 * The basemap's disk tile cache (`stackport:basemap.diskCache`): nginx in front of Martin with `proxy_cache` on a
 * volume. The proxy routes `/tiles` to it; it answers tile requests from disk and passes everything else through.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { BASEMAP_HOST, type DiskCacheArgs, MARTIN_PORT, TILE_CACHE_HOST, TILE_CACHE_PORT } from "./settings";
import type { DockerPlacement } from "../shared/placement";
import { type Transform, transformed } from "../shared/component";
import { attachNetworks, cacheVolume, containerName, healthProbe, pullImage } from "../shared/docker";
import { dockerLabels } from "../shared/labels";

/** The disk cache with its defaults applied. */
export type DiskCacheConfig = Required<DiskCacheArgs>;

export interface TileCacheConfigInput {
  /** Martin's base URL, e.g. `http://basemap:3000`. */
  upstream: string;
  sizeGb: number;
  /** nginx time, e.g. `1d`. */
  maxAge: string;
  /** @default 8080 */
  port?: number;
  /** Where cached tiles live: the volume's mount point. @default /var/cache/stackport-tiles */
  cacheDir?: string;
  /** Where nginx keeps its pid file and temporary files. @default /tmp */
  runDir?: string;
  /** The DNS server that resolves `upstream`: Docker's embedded DNS. @default 127.0.0.11 */
  resolver?: string;
}

const TILE_CACHE_DIR = "/var/cache/stackport-tiles";
const NGINX_CONFIG_PATH = "/etc/nginx/nginx.conf";
/** nginx's own liveness endpoint, answered without Martin (the container's health check). */
export const TILE_CACHE_SELF_CHECK = "/nginx-health";
/** Martin's tile URLs: `/<source[,source…]>/<z>/<x>/<y>`, optionally with a query for function sources. */
const TILE_PATH = "^/[^/]+/[0-9]+/[0-9]+/[0-9]+$";

/**
 * About 64,000 keys per GB (tiles of 16 KB on average), at 8,000 keys per MB of shared memory: the keys zone that
 * fills at the same time as the disk does.
 */
export const keysZoneMb = (sizeGb: number) => Math.min(1024, Math.max(16, sizeGb * 8));

/**
 * The nginx config. Decisions a reader would ask about:
 * - only tile paths are cached; the catalog and TileJSON pass through, so a new table or archive shows at once;
 * - 200 and 204 (an empty tile) are kept for `maxAge`; errors never are;
 * - the cache ignores Martin's `Cache-Control`, so `maxAge` is the one setting that decides;
 * - the key holds the Host (TileJSON embeds it in tile URLs) and a normalized encoding (br, gzip or none), so a
 *   client never gets an encoding it did not ask for, and there are at most three copies of a tile;
 * - one request renders a missing tile while the others wait (`proxy_cache_lock`); an expired tile is served
 *   while it is refreshed, and while Martin is down (`proxy_cache_use_stale`);
 * - Martin's address is resolved per request (a variable in `proxy_pass`), so a replaced Martin container with a
 *   new address is found without restarting the cache.
 * Pure; contains no secret.
 */
export function renderTileCacheConfig(input: TileCacheConfigInput): string {
  const port = input.port ?? TILE_CACHE_PORT;
  const cacheDir = input.cacheDir ?? TILE_CACHE_DIR;
  const runDir = input.runDir ?? "/tmp";
  const resolver = input.resolver ?? "127.0.0.11";
  return [
    "# Rendered by stackport from stackport:basemap.diskCache. Do not edit; change the stack config instead.",
    "worker_processes auto;",
    `pid ${runDir}/nginx.pid;`,
    "error_log stderr warn;",
    "",
    "events {",
    "    worker_connections 1024;",
    "}",
    "",
    "http {",
    "    # The proxy in front logs every request already.",
    "    access_log off;",
    "    default_type application/octet-stream;",
    `    client_body_temp_path ${runDir}/nginx-client-body;`,
    `    proxy_temp_path ${runDir}/nginx-proxy;`,
    `    fastcgi_temp_path ${runDir}/nginx-fastcgi;`,
    `    uwsgi_temp_path ${runDir}/nginx-uwsgi;`,
    `    scgi_temp_path ${runDir}/nginx-scgi;`,
    `    resolver ${resolver} valid=10s ipv6=off;`,
    `    proxy_cache_path ${cacheDir} levels=1:2 keys_zone=tiles:${keysZoneMb(input.sizeGb)}m max_size=${input.sizeGb}g inactive=${input.maxAge} use_temp_path=off;`,
    "",
    "    map $http_accept_encoding $tile_encoding {",
    '        default "";',
    '        "~*\\bbr\\b" br;',
    '        "~*\\bgzip\\b" gzip;',
    "    }",
    "",
    "    server {",
    `        listen ${port};`,
    `        set $martin ${input.upstream};`,
    "        proxy_http_version 1.1;",
    "        proxy_set_header Host $http_host;",
    "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "        proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;",
    "        proxy_set_header X-Forwarded-Host $http_x_forwarded_host;",
    "        proxy_set_header Accept-Encoding $tile_encoding;",
    "",
    `        location = ${TILE_CACHE_SELF_CHECK} {`,
    "            default_type text/plain;",
    '            return 200 "ok\\n";',
    "        }",
    "",
    `        location ~ "${TILE_PATH}" {`,
    "            proxy_pass $martin;",
    "            proxy_cache tiles;",
    '            proxy_cache_key "$http_host$request_uri|$tile_encoding";',
    `            proxy_cache_valid 200 204 ${input.maxAge};`,
    "            proxy_ignore_headers Cache-Control Expires Set-Cookie;",
    "            proxy_cache_lock on;",
    "            proxy_cache_lock_timeout 30s;",
    "            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;",
    "            proxy_cache_background_update on;",
    "            add_header X-Cache-Status $upstream_cache_status always;",
    "        }",
    "",
    "        location / {",
    "            proxy_pass $martin;",
    "        }",
    "    }",
    "}",
    "",
  ].join("\n");
}

export interface DockerTileCacheArgs {
  config: DiskCacheConfig;
  placement: DockerPlacement;
  /** Martin's container: the cache starts once Martin is healthy. */
  martin: docker.Container;
  transform?: { container?: Transform<docker.ContainerArgs>; volume?: Transform<docker.VolumeArgs> };
}

/** The cache's image, volume (a `cacheVolume`: Martin renders every tile again on demand) and container. */
/** The tile cache's children (`DockerBasemap.nodes.cache`). */
export interface TileCacheNodes {
  image: docker.RemoteImage;
  volume: docker.Volume;
  container: docker.Container;
}

export function dockerTileCache(
  name: string,
  parent: pulumi.Resource,
  args: DockerTileCacheArgs,
): TileCacheNodes {
  const { config, placement } = args;
  const provider = placement.provider;
  const image = pullImage(`${name}-image`, config.image, parent, placement);
  const volume = cacheVolume(`${name}-data`, parent, {
    placement,
    tier: "basemap",
    parts: ["basemap", "tile-cache"],
    role: "tile-cache",
    transform: args.transform?.volume,
  });
  const nginxConfig = renderTileCacheConfig({
    upstream: `http://${BASEMAP_HOST}:${MARTIN_PORT}`,
    sizeGb: config.sizeGb,
    maxAge: config.maxAge,
  });
  const [containerArgs, containerOpts] = transformed<docker.ContainerArgs>(
    args.transform?.container,
    {
      name: containerName("basemap", "cache"),
      image: image.imageId,
      command: ["nginx", "-g", "daemon off;"],
      uploads: [{ file: NGINX_CONFIG_PATH, content: nginxConfig }],
      envs: ["NGINX_ENTRYPOINT_QUIET_LOGS=1"],
      volumes: [{ volumeName: volume.name, containerPath: TILE_CACHE_DIR }],
      networksAdvanced: attachNetworks(placement, TILE_CACHE_HOST),
      // busybox wget, which the alpine image has; the self check does not depend on Martin.
      healthcheck: healthProbe(
        [
          "CMD-SHELL",
          `wget --spider -q http://127.0.0.1:${TILE_CACHE_PORT}${TILE_CACHE_SELF_CHECK} || exit 1`,
        ],
        { startPeriod: "5s" },
      ),
      wait: true,
      waitTimeout: 60,
      restart: "unless-stopped",
      memory: 64 + keysZoneMb(config.sizeGb),
      labels: dockerLabels("basemap", { "stackport.role": "tile-cache" }),
    },
    { parent, provider, dependsOn: [args.martin] },
  );
  const container = new docker.Container(name, containerArgs, containerOpts);
  return { image, volume, container };
}
