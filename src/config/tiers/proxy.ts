/**
 * `stackport:proxy` — the entry point: Caddy on a Docker target, an ALB on an AWS target. The schema (with the `aws`
 * block), the environment's defaults, and the mapping from config to the component args. Which upstreams routes
 * may name, and the routes other tiers add, are stack-wide: src/config/routes.ts and upstreams.ts.
 */
import { z } from "zod";
import type { AlbProxyArgs } from "../../../components/proxy/albProxy";
import type { AlbUpstream } from "../../../components/proxy/albRules";
import type { Upstream } from "../../../components/proxy/contract";
import type { DockerProxyArgs } from "../../../components/proxy/dockerProxy";
import { DOCKER_PROXY_DEFAULTS } from "../../../components/proxy/settings";
import type { StatefulSafety } from "../../../components/shared/component";
import { type Environment, cidr, dnsName, ipv4, keyName, pinnedImage, port, urlPath } from "../schema";

export const routeSchema = z.strictObject({
  /** Host name this route answers on. @default the proxy's `domain` */
  host: dnsName.optional(),
  /** Path prefix: `/tiles` matches `/tiles` and `/tiles/…`. @default every path of the host */
  path: urlPath.optional(),
  /** Remove the path prefix before proxying (needs `path`). */
  stripPrefix: z.boolean().default(false),
  /** The upstream: a service another tier exposes (e.g. `storage`, `storage-console`) or `host:port`. */
  to: z.string().min(1),
  /**
   * `basic`: HTTP basic auth with the proxy's generated users (bcrypt). `apiKey`: the request must carry header
   * `X-API-Key` equal to the route's generated key (the secret stack output `apiKeys.<route>`), otherwise 401.
   */
  auth: z.enum(["none", "basic", "apiKey"]).default("none"),
  /** Only these client networks may use the route; others get 403 (checked before auth). */
  allowFrom: z.array(cidr).optional(),
  /**
   * Publish the route to everyone who reaches the proxy. Outside `local` every route needs an exposure decision:
   * `allowFrom`, `auth` (Docker), or this (on AWS an ALB restricted by `proxy.aws.allowedCidrs` counts for all its
   * routes). Shown in the plan (`public=<routes>` on the proxy's line). Cannot be combined with `allowFrom`.
   * @default false
   */
  public: z.boolean().optional(),
});
export type RouteConfig = z.infer<typeof routeSchema>;

/** `stackport:proxy.aws`: the ALB, when the tier is on an AWS target (docs/aws-services.md). */
export const awsProxySchema = z.strictObject({
  /** An existing ACM certificate for every host of the proxy. @default a DNS-validated certificate in `hostedZoneId` */
  certificateArn: z.string().optional(),
  /** Route 53 hosted zone that holds the proxy's hosts: certificate validation records and alias records go here. */
  hostedZoneId: z.string().optional(),
  /** Create a Route 53 alias record per host pointing at the ALB (needs `hostedZoneId`). */
  dnsRecords: z.boolean().default(true),
  /**
   * Client networks allowed to reach the ALB on 80/443.
   * @default the union of the routes' `allowFrom` when every route has one, else 0.0.0.0/0
   */
  allowedCidrs: z.array(cidr).optional(),
  /** ALB deletion protection. @default `true` in production, `false` elsewhere */
  deletionProtection: z.boolean().optional(),
  /** Seconds an idle connection stays open (long tile or upload requests need more than 60). */
  idleTimeoutSeconds: z.number().default(60),
});
export type AwsProxyConfig = z.infer<typeof awsProxySchema>;

const d = DOCKER_PROXY_DEFAULTS;

export const proxySchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /** Caddy image. */
  image: pinnedImage.default(d.image),
  /** Site address for routes without their own `host`. */
  domain: dnsName.default(d.domain),
  /** How the sites are served. */
  tls: z
    .discriminatedUnion("mode", [
      /** Plain HTTP, for `local`. */
      z.strictObject({ mode: z.literal("http") }),
      /** HTTPS with certificates from Caddy's own local CA. */
      z.strictObject({ mode: z.literal("internal") }),
      /** HTTPS with public certificates from an ACME CA (Let's Encrypt). */
      z.strictObject({
        mode: z.literal("acme"),
        /** The ACME account's e-mail address. */
        email: z.email("must be an e-mail address"),
      }),
    ])
    .default({ mode: "http" }),
  /** Host address the proxy listens on. @default `127.0.0.1` in `local`, `0.0.0.0` elsewhere (it is the entry point) */
  bindAddress: ipv4.optional(),
  /** Host port for HTTP. */
  httpPort: port.default(d.httpPort),
  /** Host port for HTTPS (tcp and udp), unless `tls.mode` is `http`. */
  httpsPort: port.default(d.httpsPort),
  /** Users for `auth: basic` routes; each gets a generated password (the secret stack output `basicAuthPasswords`). */
  basicAuthUsers: z.array(keyName).default([...d.basicAuthUsers]),
  /** The proxy's routes, by name. Routed ingestion services and the basemap add their own. */
  routes: z.record(keyName, routeSchema).default({}),
  /** Container memory limit, in MB. */
  memoryMb: z.number().int().min(64).default(d.memoryMb),
  aws: awsProxySchema.optional(),
});
export type ProxyConfig = z.infer<typeof proxySchema>;

export interface ResolvedProxy extends Omit<ProxyConfig, "bindAddress" | "routes" | "aws"> {
  bindAddress: string;
  /** Every route needs an explicit exposure decision (allowFrom, auth or public): everywhere but `local`. */
  requireExposureDecision: boolean;
  /** The proxy's own routes plus those derived from tiers (routed ingestion services, the basemap). */
  routes: Record<string, RouteConfig>;
  aws: AwsProxyConfig;
}

/** The proxy is the entry point: it listens on loopback in `local`, on every interface elsewhere. */
export const proxyBindAddress = (proxy: Pick<ProxyConfig, "bindAddress">, environment: Environment) =>
  proxy.bindAddress ?? (environment === "local" ? "127.0.0.1" : "0.0.0.0");

/** Outside `local` a route is never open by accident: each says who may use it (docs/configuration.md). */
export const exposureDecisionRequired = (environment: Environment) => environment !== "local";

/** Defaults and the stack's routes (`allRoutes`: the proxy's own plus those other tiers derive). */
export function resolveProxy(
  proxy: ProxyConfig,
  environment: Environment,
  routes: Record<string, RouteConfig>,
): ResolvedProxy {
  return {
    ...proxy,
    bindAddress: proxyBindAddress(proxy, environment),
    requireExposureDecision: exposureDecisionRequired(environment),
    routes,
    aws: proxy.aws ?? awsProxySchema.parse({}),
  };
}

/** The upstreams an ALB can forward to: the services of tiers that run on ECS (ingestion, basemap). */
export function albUpstreams(catalog: Record<string, Upstream>): Record<string, AlbUpstream> {
  return Object.fromEntries(
    Object.entries(catalog)
      .filter(([, u]) => u.tier === "ingestion" || u.tier === "basemap")
      .map(([name, u]) => [name, { port: u.port, ...(u.healthPath && { healthPath: u.healthPath }) }]),
  );
}

/** The tier on a Docker target: Caddy routes to the catalog; frozen services' routes answer "maintenance". */
export function dockerProxyArgs(
  proxy: ResolvedProxy,
  wiring: { upstreams: Record<string, Upstream>; maintenanceRoutes: string[]; safety: StatefulSafety },
): Omit<DockerProxyArgs, "placement"> {
  return {
    image: proxy.image,
    domain: proxy.domain,
    tls: proxy.tls,
    bindAddress: proxy.bindAddress,
    httpPort: proxy.httpPort,
    httpsPort: proxy.httpsPort,
    basicAuthUsers: proxy.basicAuthUsers,
    routes: proxy.routes,
    upstreams: wiring.upstreams,
    maintenanceRoutes: wiring.maintenanceRoutes,
    requireExposureDecision: proxy.requireExposureDecision,
    memoryMb: proxy.memoryMb,
    safety: wiring.safety,
  };
}

/** The tier on an AWS target: an ALB, deletion-protected in production unless configured. */
export function albProxyArgs(
  proxy: ResolvedProxy,
  wiring: {
    environment: Environment;
    upstreams: Record<string, Upstream>;
    accessLogsBucket?: AlbProxyArgs["accessLogsBucket"];
  },
): Omit<AlbProxyArgs, "placement"> {
  const { aws } = proxy;
  return {
    domain: proxy.domain,
    routes: proxy.routes,
    upstreams: albUpstreams(wiring.upstreams),
    ...(aws.certificateArn !== undefined && { certificateArn: aws.certificateArn }),
    ...(aws.hostedZoneId !== undefined && { hostedZoneId: aws.hostedZoneId }),
    dnsRecords: aws.dnsRecords,
    ...(aws.allowedCidrs !== undefined && { allowedCidrs: aws.allowedCidrs }),
    deletionProtection: aws.deletionProtection ?? wiring.environment === "production",
    idleTimeoutSeconds: aws.idleTimeoutSeconds,
    requireExposureDecision: proxy.requireExposureDecision,
    ...(wiring.accessLogsBucket !== undefined && { accessLogsBucket: wiring.accessLogsBucket }),
  };
}
