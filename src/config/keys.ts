export const CONFIG_NAMESPACE = "stackport";

/**
 * The full config key for a path inside the namespace: `stackport:proxy.routes.api.to`, `…allowFrom[0]`. A name
 * that is not a plain word (empty, with a space or a dot) is quoted, so the key still shows where it is:
 * `stackport:proxy.routes["My Route"]`.
 */
export const configKey = (path: PropertyKey[]) =>
  `${CONFIG_NAMESPACE}:${path.map((p, i) => (typeof p === "number" ? `[${p}]` : segment(String(p), i === 0))).join("")}`;

const segment = (name: string, first: boolean) =>
  /^[A-Za-z0-9_-]+$/.test(name) ? `${first ? "" : "."}${name}` : `[${JSON.stringify(name)}]`;

/**
 * The value offline synthesis (`npm run synth`) puts in place of a `secure:` config value it cannot decrypt; the
 * config checks print it as `[secret]`, like any value of a secret-looking key.
 */
export const OFFLINE_SECRET_PLACEHOLDER = "offline-secret-placeholder";
