/**
 * Places each tier on its target and wires tiers together through their connection contracts. This is the only
 * file that knows which backend class serves which tier on which kind of target.
 */
import * as pulumi from "@pulumi/pulumi";
import { type ResolvedConfig, dockerTarget, upstreamCatalog } from "./config";
import { DockerTarget } from "./targets/docker";
import { DockerObjectStorage } from "../components/storage/dockerObjectStorage";
import { DockerDatabase } from "../components/database/dockerDatabase";
import { DockerProxy } from "../components/proxy/dockerProxy";

export interface Platform {
  targets: Record<string, DockerTarget>;
  storage?: DockerObjectStorage;
  database?: DockerDatabase;
  proxy?: DockerProxy;
}

export function createPlatform(cfg: ResolvedConfig): Platform {
  const targets: Record<string, DockerTarget> = {};
  // Only targets that carry a tier are created: a declared but unused target costs nothing.
  const placeOn = (name: string) =>
    (targets[name] ??= new DockerTarget(name, { config: dockerTarget(cfg, name) })).placement;

  const storage =
    cfg.storage &&
    new DockerObjectStorage("storage", {
      config: cfg.storage,
      placement: placeOn(cfg.storage.on),
      safety: cfg.safety,
    });
  const database =
    cfg.database &&
    new DockerDatabase("database", {
      config: cfg.database,
      placement: placeOn(cfg.database.on),
      safety: cfg.safety,
    });
  const proxy =
    cfg.proxy &&
    new DockerProxy(
      "proxy",
      {
        config: cfg.proxy,
        placement: placeOn(cfg.proxy.on),
        safety: cfg.safety,
        upstreams: upstreamCatalog(cfg),
      },
      { dependsOn: [storage, database].filter((t): t is NonNullable<typeof t> => Boolean(t)) },
    );
  return { targets, storage, database, proxy };
}

/** What `pulumi stack output` shows. Credentials are secrets; `pulumi stack output --show-secrets` reveals them. */
export function platformOutputs(cfg: ResolvedConfig, platform: Platform): Record<string, unknown> {
  const { storage, database, proxy } = platform;
  return {
    environment: cfg.environment,
    ...(storage && {
      storage: {
        endpoint: storage.connection.endpoint,
        buckets: storage.connection.buckets,
        accessKeyId: storage.connection.accessKeyId,
        secretAccessKey: storage.connection.secretAccessKey,
      },
    }),
    ...(database && {
      database: Object.fromEntries(
        Object.entries(database.connection.roles).map(([role, c]) => [role, { url: pulumi.secret(c.url) }]),
      ),
    }),
    ...(proxy && { urls: proxy.endpoint.urls, basicAuthPasswords: proxy.endpoint.basicAuthPasswords }),
  };
}
