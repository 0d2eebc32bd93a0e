export const CONFIG_NAMESPACE = "stackport";

/** The full config key for a path inside the namespace: `stackport:proxy.routes.api.to`, `…allowFrom[0]`. */
export const configKey = (path: PropertyKey[]) =>
  `${CONFIG_NAMESPACE}:${path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")}`;
