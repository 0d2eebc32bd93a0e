import type * as pulumi from "@pulumi/pulumi";

/** What the proxy tier tells the rest of the platform and the user. */
export interface ProxyEndpoint {
  /** Base URLs users open, one per site (host). */
  urls: pulumi.Output<string[]>;
  /** Generated basic-auth passwords by user name (secrets). */
  basicAuthPasswords: Record<string, pulumi.Output<string>>;
}

/**
 * A service another tier exposes to the proxy, by the name routes use in `to:`: reachable as `host:port` on the
 * target's backend network (Docker) or as an ECS service (AWS, where `host` is unused).
 */
export interface Upstream {
  /** The tier that exposes it (`storage`, `ingestion`…): proxy and upstream must share a target. */
  tier: string;
  host: string;
  port: number;
  /** Path the proxy health-checks, if the service has one. */
  healthPath?: string;
}

/** A route the proxy serves: which requests, to which upstream, for whom. The same on Caddy and on an ALB. */
export interface ProxyRoute {
  /** Host name the route answers on. @default the proxy's `domain` */
  host?: string;
  /** Path prefix: the prefix itself and everything below it (`/tiles`, `/tiles/…`). @default every path */
  path?: string;
  /** Remove the prefix before proxying (`/tiles/0/0/0` → `/0/0/0`). Needs a `path`. @default false */
  stripPrefix?: boolean;
  /** An upstream's name (a key of the proxy's `upstreams`) or `host:port`. @example "storage" */
  to: string;
  /**
   * `basic`: HTTP basic auth with the proxy's generated users. `apiKey`: requests must carry header `X-API-Key`
   * equal to the route's generated key (Caddy only). @default "none"
   */
  auth?: "none" | "basic" | "apiKey";
  /** Only these client networks (IPv4 CIDR blocks) may use the route; others get 403. @default everyone */
  allowFrom?: string[];
  /**
   * The route is meant to be reachable by anyone who can reach the proxy: the explicit exposure decision for a
   * route with neither `allowFrom` nor `auth`, when the proxy requires one (`requireExposureDecision`). Cannot be
   * combined with `allowFrom`. @default false
   */
  public?: boolean;
}
