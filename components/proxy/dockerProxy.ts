import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import {
  attachNetworks,
  containerName,
  healthProbe,
  publishedPorts,
  pullImage,
  statefulVolume,
} from "../shared/docker";
import { assertValidArgs } from "../shared/errors";
import { dockerLabels } from "../shared/labels";
import type { DockerPlacement } from "../shared/placement";
import { type TlsConfig, renderCaddyfile } from "./caddyfile";
import type { ProxyEndpoint, ProxyRoute, Upstream } from "./contract";
import {
  DOCKER_PROXY_DEFAULTS,
  PROXY_HOST,
  PROXY_METRICS_PORT,
  resolveRoutes,
  siteUrls,
  validateDockerProxyArgs,
} from "./settings";

export interface DockerProxyArgs {
  /** The Docker target the container runs on (`DockerTarget.placement`). */
  placement: DockerPlacement;
  /** The Caddy image. @default "caddy:2.11.4-alpine" */
  image?: string;
  /** Site address of routes without their own `host`. @default "localhost" */
  domain?: string;
  /**
   * `http` (no TLS), `internal` (Caddy's own CA; clients trust its root) or `acme` (public certificates; the
   * hosts must resolve to this proxy from the internet).
   * @default { mode: "http" }
   * @example { mode: "acme", email: "ops@example.org" }
   */
  tls?: TlsConfig;
  /** Host address the proxy listens on. @default "127.0.0.1" */
  bindAddress?: string;
  /** Host port for HTTP (redirects to HTTPS when TLS is on). @default 80 */
  httpPort?: number;
  /** Host port for HTTPS (and HTTP/3). @default 443 */
  httpsPort?: number;
  /** Users of `auth: basic` routes; each gets a generated password (`endpoint.basicAuthPasswords`). @default ["admin"] */
  basicAuthUsers?: string[];
  /**
   * Routes by name (the name is part of matcher and child names).
   * @default {} (only the `/healthz` endpoint)
   * @example { s3: { host: "s3.example.org", to: "storage" }, api: { path: "/api", to: "api:8000", auth: "apiKey" } }
   */
  routes?: Record<string, ProxyRoute>;
  /**
   * Refuse any route without an explicit exposure decision: `allowFrom`, `auth` (`basic` or `apiKey`), or
   * `public: true`. The stackport program sets it outside the `local` environment.
   * @default false
   */
  requireExposureDecision?: boolean;
  /** Services routes may name in `to`, as other tiers expose them. A `to` that is not a key here is `host:port`. @default {} */
  upstreams?: Record<string, Upstream>;
  /** Routes that answer 503 "maintenance" instead of proxying (their upstream is paused, e.g. for a migration). @default [] */
  maintenanceRoutes?: string[];
  /** Memory limit, in MB. @default 256 */
  memoryMb?: number;
  /** `protect` / `retainOnDelete` of the data volume (certificates, the internal CA). @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** Per-child escape hatches. @default none */
  transform?: {
    dataVolume?: Transform<docker.VolumeArgs>;
    /** The Caddy container. Its `uploads` (the Caddyfile) force replacement when they change. */
    server?: Transform<docker.ContainerArgs>;
  };
}

export const CADDYFILE_PATH = "/etc/caddy/Caddyfile";
const HTTP_PORT = 80;
const HTTPS_PORT = 443;

/**
 * The proxy tier on Docker: Caddy with a generated Caddyfile (routes, TLS off / internal CA / ACME, basic auth with
 * generated bcrypt-hashed passwords, API keys, security headers, IP allow-lists). The Caddyfile is uploaded into the
 * container (works over SSH); certificates and the local CA live on a protected named volume. The container joins
 * the edge network (where traffic enters) and the backend network (where the upstreams are).
 * @example
 * const proxy = new DockerProxy("proxy", {
 *   placement: target.placement,
 *   domain: "example.org",
 *   tls: { mode: "acme", email: "ops@example.org" },
 *   bindAddress: "0.0.0.0",
 *   routes: { s3: { host: "s3.example.org", to: "storage" } },
 *   upstreams: { storage: { tier: "storage", host: "storage", port: 9000 } },
 * });
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
    // Everything the Caddyfile will contain is checked before anything is registered.
    assertValidArgs(`stackport:docker:Proxy '${name}'`, validateDockerProxyArgs(args));
    const d = DOCKER_PROXY_DEFAULTS;
    const config = {
      image: args.image ?? d.image,
      domain: args.domain ?? d.domain,
      tls: args.tls ?? d.tls,
      bindAddress: args.bindAddress ?? d.bindAddress,
      httpPort: args.httpPort ?? d.httpPort,
      httpsPort: args.httpsPort ?? d.httpsPort,
      basicAuthUsers: args.basicAuthUsers ?? [...d.basicAuthUsers],
      routes: args.routes ?? {},
      upstreams: args.upstreams ?? {},
      maintenanceRoutes: args.maintenanceRoutes ?? [],
      memoryMb: args.memoryMb ?? d.memoryMb,
      safety: args.safety ?? { protect: true, retainOnDelete: true },
      requireExposureDecision: args.requireExposureDecision ?? false,
    };
    const { routes } = resolveRoutes(config.routes, config.upstreams, config.maintenanceRoutes);
    const keyRoutes = Object.keys(routes)
      .filter((r) => routes[r]!.auth === "apiKey")
      .sort();
    super("stackport:docker:Proxy", name, config, opts);
    const { placement, transform } = args;
    const { safety } = config;
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
