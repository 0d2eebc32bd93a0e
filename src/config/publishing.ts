import type { StackConfig } from "./stack";

/** Environment-driven defaults: the proxy listens on loopback in `local`, on every interface elsewhere. */
export function publishing(cfg: Pick<StackConfig, "environment" | "proxy">) {
  const local = cfg.environment === "local";
  return {
    proxy: cfg.proxy && { bindAddress: cfg.proxy.bindAddress ?? (local ? "127.0.0.1" : "0.0.0.0") },
  };
}
