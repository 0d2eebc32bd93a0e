/**
 * The proxy tier. On AWS it comes before the application tiers (their services attach to the ALB's target
 * groups); on Docker it comes after them (Caddy routes to containers that must exist first).
 */
import type * as pulumi from "@pulumi/pulumi";
import { DockerProxy } from "../../components/proxy/dockerProxy";
import type { ProxyTargetGroup } from "../../components/proxy/albProxy";
import type { ProxyEndpoint } from "../../components/proxy/contract";
import { maintenanceRoutes } from "../config/cutover";
import { albProxyArgs, dockerProxyArgs } from "../config/tiers/proxy";
import { upstreamCatalog } from "../config/upstreams";
import { type BuildContext, awsComponents } from "./context";
import type { BuiltStorage } from "./data";

export interface BuiltProxy {
  endpoint: ProxyEndpoint;
  apiKeys: Record<string, pulumi.Output<string>>;
  resource: pulumi.ComponentResource;
}

export interface BuiltAlb extends BuiltProxy {
  targetGroups: Record<string, ProxyTargetGroup>;
}

/** The ALB, when the proxy is placed on an AWS target (its access logs go to the S3 tier's log bucket). */
export function buildAlbProxy(ctx: BuildContext, storage: BuiltStorage | undefined): BuiltAlb | undefined {
  const { cfg } = ctx;
  const where = cfg.proxy && ctx.placeOn(cfg.proxy.on);
  if (!cfg.proxy || where?.kind !== "aws") return undefined;
  const alb = new (awsComponents().AlbProxy)("proxy", {
    ...albProxyArgs(cfg.proxy, {
      environment: cfg.environment,
      upstreams: upstreamCatalog(cfg),
      ...(storage?.accessLogsBucket && { accessLogsBucket: storage.accessLogsBucket }),
    }),
    placement: where.placement,
  });
  return { endpoint: alb.endpoint, apiKeys: {}, resource: alb, targetGroups: alb.targetGroups };
}

/** Caddy, when the proxy is placed on a Docker target: after every tier it routes to. */
export function buildDockerProxy(ctx: BuildContext, dependsOn: pulumi.Resource[]): BuiltProxy | undefined {
  const { cfg } = ctx;
  const where = cfg.proxy && ctx.placeOn(cfg.proxy.on);
  if (!cfg.proxy || where?.kind !== "docker") return undefined;
  const caddy = new DockerProxy(
    "proxy",
    {
      ...dockerProxyArgs(cfg.proxy, {
        upstreams: upstreamCatalog(cfg),
        maintenanceRoutes: maintenanceRoutes(cfg),
        safety: cfg.safety,
      }),
      placement: where.placement,
    },
    { dependsOn },
  );
  return { endpoint: caddy.endpoint, apiKeys: caddy.apiKeys, resource: caddy };
}
