import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ResolvedProxy, Safety, Upstream } from "../../src/config";
import type { DockerPlacement } from "../shared/placement";
import { type Transform, transformed } from "../shared/component";
import {
  attachNetworks,
  containerName,
  publishedPorts,
  pullImage,
  statefulVolume,
  healthProbe,
} from "../shared/docker";
import { dockerLabels } from "../shared/labels";
import { type ResolvedRoute, type ResolvedUpstream, renderCaddyfile } from "./caddyfile";
import type { ProxyEndpoint } from "./contract";

export interface DockerProxyArgs {
  /** The resolved `stackport:proxy` settings (routes, TLS mode, users, ports, bind address). */
  config: ResolvedProxy;
  /** Where the container runs. */
  placement: DockerPlacement;
  /** Protect/retain settings for the data volume (certificates and the local CA). */
  safety: Safety;
  /**
   * Services the other tiers expose, by the names routes use in `to:` (see `upstreamCatalog`). A route's `to` that
   * is not a key here must be `host:port`.
   * @default {} (only `host:port` routes)
   */
  upstreams?: Record<string, Upstream>;
  /**
   * Routes that answer 503 "maintenance" instead of proxying: during a cutover's freeze the services behind them
   * are scaled to zero. @default []
   */
  maintenanceRoutes?: string[];
  /** Per-child escape hatches. */
  transform?: {
    dataVolume?: Transform<docker.VolumeArgs>;
    /** The Caddy container. Its `uploads` (the Caddyfile) force replacement when they change. */
    server?: Transform<docker.ContainerArgs>;
  };
}

/** The DNS alias of the proxy on both networks. */
export const PROXY_HOST = "proxy";
export const CADDYFILE_PATH = "/etc/caddy/Caddyfile";
const HTTP_PORT = 80;
const HTTPS_PORT = 443;

/** Caddy's Prometheus endpoint, on the backend network only (not published). */
export const PROXY_METRICS_PORT = 2020;

/**
 * Resolves each route's `to` to `{host, port, healthPath}`: a catalog name, or `host:port`.
 * @throws naming the config key when `to` is neither
 */
export function resolveRoutes(
  routes: ResolvedProxy["routes"],
  upstreams: Record<string, Upstream>,
  maintenance: string[] = [],
): Record<string, ResolvedRoute> {
  const resolved: Record<string, ResolvedRoute> = {};
  for (const [name, route] of Object.entries(routes)) {
    const known = upstreams[route.to];
    let to: ResolvedUpstream;
    if (known) {
      to = {
        host: known.host,
        port: known.port,
        ...(known.healthPath !== undefined && { healthPath: known.healthPath }),
      };
    } else {
      const m = /^([^:]+):(\d{1,5})$/.exec(route.to);
      const port = m ? Number(m[2]) : NaN;
      if (!m || port < 1 || port > 65535) {
        const names = Object.keys(upstreams);
        throw new Error(
          `stackport:proxy.routes.${name}.to: unknown upstream '${route.to}'; allowed: ${names.length ? names.join(", ") : "(none)"}, or host:port`,
        );
      }
      to = { host: m[1]!, port };
    }
    resolved[name] = { ...route, to, ...(maintenance.includes(name) && { maintenance: true }) };
  }
  return resolved;
}

/** Base URLs of every site: the default domain plus every route host, with non-default ports spelled out. */
export function siteUrls(
  config: Pick<ResolvedProxy, "domain" | "routes" | "tls" | "httpPort" | "httpsPort">,
): string[] {
  const hosts = new Set([config.domain, ...Object.values(config.routes).map((r) => r.host ?? config.domain)]);
  const tls = config.tls.mode !== "http";
  const port = tls ? config.httpsPort : config.httpPort;
  const suffix = port === (tls ? HTTPS_PORT : HTTP_PORT) ? "" : `:${port}`;
  return [...hosts].sort().map((h) => `${tls ? "https" : "http"}://${h}${suffix}`);
}

/**
 * The proxy tier on Docker: Caddy with a generated Caddyfile (routes, TLS off / internal CA / ACME, basic auth with
 * generated bcrypt-hashed passwords, security headers, IP allow-lists). The Caddyfile is uploaded into the container
 * (works over SSH); certificates and the local CA live on a protected named volume. The container joins the edge
 * network (where traffic enters) and the backend network (where the upstreams are).
 */
export class DockerProxy extends pulumi.ComponentResource {
  readonly endpoint: ProxyEndpoint;
  /** The key each `auth: apiKey` route requires (header `X-API-Key`), by route name; secrets. */
  readonly apiKeys: Record<string, pulumi.Output<string>>;
  readonly nodes: {
    image: docker.RemoteImage;
    passwords: Record<string, random.RandomPassword>;
    /** One per `auth: apiKey` route, by route name. */
    apiKeys: Record<string, random.RandomPassword>;
    dataVolume: docker.Volume;
    server: docker.Container;
  };

  constructor(name: string, args: DockerProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    const { config, placement, safety, transform } = args;
    // Validate before anything is registered: upstream names, and every value the Caddyfile will contain (rendered
    // once with a placeholder hash; the real one is only known after the passwords exist).
    const routes = resolveRoutes(config.routes, args.upstreams ?? {}, args.maintenanceRoutes);
    const placeholder = "$2a$10$validationplaceholder";
    const keyRoutes = Object.keys(routes)
      .filter((r) => routes[r]!.auth === "apiKey")
      .sort();
    renderCaddyfile({
      domain: config.domain,
      tls: config.tls,
      routes,
      basicAuth: config.basicAuthUsers.map((user) => ({ user, bcryptHash: placeholder })),
      apiKeys: Object.fromEntries(keyRoutes.map((r) => [r, "validationplaceholderkey000"])),
      metricsPort: PROXY_METRICS_PORT,
    });

    super("stackport:docker:Proxy", name, { config, maintenanceRoutes: args.maintenanceRoutes ?? [] }, opts);
    const provider = placement.provider;

    const image = pullImage(`${name}-image`, config.image, this, placement);
    const passwords = Object.fromEntries(
      config.basicAuthUsers.map((user) => [
        user,
        new random.RandomPassword(
          `${name}-${user}-password`,
          { length: 32, special: false },
          { parent: this },
        ),
      ]),
    );

    // Alphanumeric: the key is matched literally in a header matcher.
    const apiKeys = Object.fromEntries(
      keyRoutes.map((route) => [
        route,
        new random.RandomPassword(
          `${name}-${route}-api-key`,
          { length: 40, special: false },
          { parent: this },
        ),
      ]),
    );

    // /data holds issued certificates and the internal CA: losing it means new certificates and a new root to trust.
    // /config (Caddy's autosave of the config it was given) stays in the container: the Caddyfile is the truth.
    const dataVolume = statefulVolume(`${name}-data`, this, {
      placement,
      safety,
      tier: "proxy",
      parts: ["proxy", "data"],
      role: "data",
      transform: transform?.dataVolume,
    });

    const users = Object.keys(passwords).sort();
    // Secret whenever an API key is in it (pulumi.all of secrets is secret).
    const caddyfile = pulumi
      .all([
        pulumi.all(users.map((u) => passwords[u]!.bcryptHash)),
        pulumi.all(keyRoutes.map((r) => apiKeys[r]!.result)),
      ])
      .apply(([hashes, keys]) =>
        renderCaddyfile({
          domain: config.domain,
          tls: config.tls,
          routes,
          basicAuth: users.map((user, i) => ({ user, bcryptHash: hashes[i]! })),
          apiKeys: Object.fromEntries(keyRoutes.map((r, i) => [r, keys[i]!])),
          metricsPort: PROXY_METRICS_PORT,
        }),
      );

    const binding = (port: number) => ({ port, address: config.bindAddress });
    const ports = [
      ...publishedPorts(HTTP_PORT, binding(config.httpPort)),
      ...(config.tls.mode === "http"
        ? []
        : [
            ...publishedPorts(HTTPS_PORT, binding(config.httpsPort)),
            // HTTP/3 (QUIC).
            { internal: HTTPS_PORT, external: config.httpsPort, ip: config.bindAddress, protocol: "udp" },
          ]),
    ];

    const [serverArgs, serverOpts] = transformed<docker.ContainerArgs>(
      transform?.server,
      {
        name: containerName("proxy"),
        image: image.imageId,
        uploads: [{ file: CADDYFILE_PATH, content: caddyfile }],
        envs: ["XDG_DATA_HOME=/data", "XDG_CONFIG_HOME=/config"],
        volumes: [{ volumeName: dataVolume.name, containerPath: "/data" }],
        networksAdvanced: attachNetworks(placement, PROXY_HOST, { edge: true }),
        ports,
        // The admin API (in-container only). GET, not `--spider`: busybox may send HEAD, which the API refuses.
        healthcheck: healthProbe(["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:2019/config/"], {
          startPeriod: "5s",
        }),
        wait: true,
        waitTimeout: 120,
        restart: "unless-stopped",
        memory: config.memoryMb,
        labels: dockerLabels("proxy", { "stackport.role": "server" }),
      },
      { parent: this, provider },
    );
    const server = new docker.Container(`${name}-server`, serverArgs, serverOpts);

    this.nodes = { image, passwords, apiKeys, dataVolume, server };
    this.endpoint = {
      urls: pulumi.output(siteUrls(config)),
      basicAuthPasswords: Object.fromEntries(users.map((u) => [u, pulumi.secret(passwords[u]!.result)])),
    };
    this.apiKeys = Object.fromEntries(keyRoutes.map((r) => [r, pulumi.secret(apiKeys[r]!.result)]));
    this.registerOutputs({
      urls: this.endpoint.urls,
      basicAuthPasswords: this.endpoint.basicAuthPasswords,
      apiKeys: this.apiKeys,
    });
  }
}
