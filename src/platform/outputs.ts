/** What the program outputs: the serving side of each tier's contract, and what the tiers added on the way. */
import * as pulumi from "@pulumi/pulumi";
import type { ResolvedConfig } from "../config";
import type { BuiltDatabase, BuiltStorage } from "./data";
import type { BuiltProxy } from "./proxy";

/** The tiers as built, each exposing its contract; `resource` is the component instance (for dependsOn). */
export interface Platform {
  targets: Record<string, pulumi.ComponentResource>;
  storage?: BuiltStorage | undefined;
  database?: BuiltDatabase | undefined;
  proxy?: BuiltProxy | undefined;
  extraOutputs: Record<string, unknown>;
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
    // The extra databases' roles: the owner's URL is what that database's own migrations run with.
    ...(database?.connection.databases &&
      Object.keys(database.connection.databases).length > 0 && {
        databases: Object.fromEntries(
          Object.entries(database.connection.databases).map(([db, roles]) => [
            db,
            Object.fromEntries(
              Object.entries(roles).map(([role, c]) => [role, { url: pulumi.secret(c.url) }]),
            ),
          ]),
        ),
      }),
    ...(proxy && {
      urls: proxy.endpoint.urls,
      basicAuthPasswords: proxy.endpoint.basicAuthPasswords,
      ...(Object.keys(proxy.apiKeys).length > 0 && { apiKeys: proxy.apiKeys }),
    }),
    ...platform.extraOutputs,
  };
}
