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
