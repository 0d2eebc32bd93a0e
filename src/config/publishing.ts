import type { PublishConfig } from "./schema";
import type { StackConfig } from "./stack";

/** A host binding, or undefined when the port is not published. */
export type Published = PublishConfig | undefined;

/** Environment-driven defaults: publish on loopback in `local`, nothing published on hosts elsewhere. */
export function publishing(cfg: Pick<StackConfig, "environment" | "storage" | "database" | "proxy">) {
  const local = cfg.environment === "local";
  const publish = (value: PublishConfig | false | undefined, localPort: number): Published =>
    value === false ? undefined : (value ?? (local ? { port: localPort, address: "127.0.0.1" } : undefined));
  return {
    storage: cfg.storage && {
      publishApi: publish(cfg.storage.publishApi, 9000),
      publishConsole: publish(cfg.storage.publishConsole, 9001),
    },
    database: cfg.database && { publish: publish(cfg.database.publish, 5432) },
    proxy: cfg.proxy && { bindAddress: cfg.proxy.bindAddress ?? (local ? "127.0.0.1" : "0.0.0.0") },
  };
}
