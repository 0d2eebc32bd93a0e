/**
 * Turns raw stack configuration into a fully-defaulted, cross-checked `ResolvedConfig` — a pure function, so it is
 * tested (and property-tested) without the Pulumi runtime. Nothing here registers resources.
 */
import { z } from "zod";
import { ConfigError, type ConfigIssue } from "./errors";
import {
  type DatabaseConfig,
  type DockerTargetConfig,
  type Environment,
  type ProxyConfig,
  type PublishConfig,
  type StackConfig,
  type StorageConfig,
  type TargetConfig,
  stackConfigSchema,
} from "./schema";
import { upstreamCatalog } from "./upstreams";

export const CONFIG_NAMESPACE = "stackport";

/** Stateful-resource safety, decided once per stack and applied explicitly to each stateful child. */
export interface Safety {
  protect: boolean;
  retainOnDelete: boolean;
}

export type Published = PublishConfig | undefined;

export interface ResolvedStorage extends Omit<StorageConfig, "publishApi" | "publishConsole"> {
  publishApi: Published;
  publishConsole: Published;
}
export interface ResolvedDatabase extends Omit<DatabaseConfig, "publish"> {
  publish: Published;
}
export interface ResolvedProxy extends Omit<ProxyConfig, "bindAddress"> {
  bindAddress: string;
}

export interface ResolvedConfig {
  environment: Environment;
  targets: Record<string, TargetConfig>;
  safety: Safety;
  storage?: ResolvedStorage;
  database?: ResolvedDatabase;
  proxy?: ResolvedProxy;
}

export type TierName = "storage" | "database" | "proxy";
export const TIERS: TierName[] = ["storage", "database", "proxy"];

/** The full config key for a path inside the namespace: `stackport:proxy.routes.api.to`, `…allowFrom[0]`. */
export const configKey = (path: PropertyKey[]) =>
  `${CONFIG_NAMESPACE}:${path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("")}`;

/**
 * Validates and defaults the `stackport:` config of a stack.
 * @param raw the namespace's values with the namespace stripped (`{ environment: "local", targets: {...} }`)
 * @throws ConfigError listing every problem with its config key
 */
export function resolveConfig(raw: Record<string, unknown>): ResolvedConfig {
  const parsed = stackConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error));
  const cfg = parsed.data;
  const issues = crossCheck(cfg);
  if (issues.length > 0) throw new ConfigError(issues);
  return normalize(cfg);
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys"
      ? issue.keys.map((k) => ({
          key: configKey([...issue.path, k]),
          message: `unknown key '${k}'; allowed here: ${allowedKeys(issue.path).join(", ")} (see docs/configuration.md)`,
        }))
      : [{ key: configKey(issue.path), message: describeIssue(issue) }],
  );
}

/** The keys a strict object at `path` accepts, found by walking the schema (for "did you mean" style errors). */
function allowedKeys(path: PropertyKey[]): string[] {
  let schema: z.ZodType = stackConfigSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = schema.shape[segment as string] ?? schema;
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
  }
  schema = unwrap(schema);
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodDiscriminatedUnion) {
    return [...new Set(schema.options.flatMap((o) => Object.keys((o as z.ZodObject).shape)))];
  }
  return [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) {
    s = s.unwrap() as z.ZodType;
  }
  return s;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator) {
        return `'${issue.discriminator}' must be one of the allowed kinds (${issue.message})`;
      }
      return issue.message;
    case "invalid_type":
      return issue.input === undefined
        ? `is required (${issue.expected})`
        : `must be ${article(issue.expected)}`;
    default:
      return issue.message;
  }
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

/** Rules that span keys: placements, port clashes on one host, route upstreams. */
function crossCheck(cfg: StackConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const targetNames = Object.keys(cfg.targets);
  for (const tier of TIERS) {
    const placed = cfg[tier];
    if (!placed) continue;
    const target = cfg.targets[placed.on];
    if (!target) {
      issues.push({
        key: configKey([tier, "on"]),
        message: `unknown target '${placed.on}'; targets of this stack: ${targetNames.join(", ")}`,
      });
    } else if (target.kind !== "docker") {
      issues.push({
        key: configKey([tier, "on"]),
        message: `target '${placed.on}' is of kind '${target.kind}'; the ${tier} tier has no '${target.kind}' backend yet (allowed: docker targets)`,
      });
    }
  }
  issues.push(...portClashes(cfg), ...routeProblems(cfg));
  if (cfg.database?.publish && isWildcard(cfg.database.publish.address)) {
    issues.push({
      key: configKey(["database", "publish", "address"]),
      message: "the database is never published on all interfaces; use 127.0.0.1 or a specific LAN address",
    });
  }
  return issues;
}

const isWildcard = (address: string) => address === "0.0.0.0";

interface Binding {
  key: string;
  target: string;
  address: string;
  port: number;
}

function portClashes(cfg: StackConfig): ConfigIssue[] {
  const bindings: Binding[] = [];
  const resolved = normalizePublishing(cfg);
  const add = (path: PropertyKey[], target: string, p: Published) => {
    if (p) bindings.push({ key: configKey(path), target, address: p.address, port: p.port });
  };
  if (cfg.storage && resolved.storage) {
    add(["storage", "publishApi", "port"], cfg.storage.on, resolved.storage.publishApi);
    add(["storage", "publishConsole", "port"], cfg.storage.on, resolved.storage.publishConsole);
  }
  if (cfg.database && resolved.database)
    add(["database", "publish", "port"], cfg.database.on, resolved.database.publish);
  if (cfg.proxy && resolved.proxy) {
    const address = resolved.proxy.bindAddress;
    add(["proxy", "httpPort"], cfg.proxy.on, { address, port: cfg.proxy.httpPort });
    if (cfg.proxy.tls.mode !== "http")
      add(["proxy", "httpsPort"], cfg.proxy.on, { address, port: cfg.proxy.httpsPort });
  }
  const issues: ConfigIssue[] = [];
  bindings.forEach((b, i) => {
    const clash = bindings
      .slice(0, i)
      .find(
        (o) =>
          o.target === b.target &&
          o.port === b.port &&
          (o.address === b.address || isWildcard(o.address) || isWildcard(b.address)),
      );
    if (clash) {
      issues.push({
        key: b.key,
        message: `port ${b.port} on target '${b.target}' is already taken by ${clash.key}; choose another port`,
      });
    }
  });
  return issues;
}

function routeProblems(cfg: StackConfig): ConfigIssue[] {
  if (!cfg.proxy) return [];
  const issues: ConfigIssue[] = [];
  const catalog = upstreamCatalog(cfg);
  const seen = new Map<string, string>();
  for (const [name, route] of Object.entries(cfg.proxy.routes)) {
    if (!/^[^:]+:\d{1,5}$/.test(route.to) && !catalog[route.to]) {
      const known = Object.keys(catalog);
      issues.push({
        key: configKey(["proxy", "routes", name, "to"]),
        message: `unknown upstream '${route.to}'; allowed: ${known.length ? known.join(", ") : "(no tier exposes a service yet)"}, or host:port`,
      });
    }
    if (route.auth === "basic" && cfg.proxy.basicAuthUsers.length === 0) {
      issues.push({
        key: configKey(["proxy", "routes", name, "auth"]),
        message: "'basic' needs at least one user in stackport:proxy.basicAuthUsers",
      });
    }
    if (route.stripPrefix && !route.path) {
      issues.push({
        key: configKey(["proxy", "routes", name, "stripPrefix"]),
        message: "needs a 'path' to strip",
      });
    }
    if (route.path && route.path.replace(/\/+$/, "") === "/healthz") {
      issues.push({
        key: configKey(["proxy", "routes", name, "path"]),
        message: "/healthz is the proxy's own health endpoint; choose another path",
      });
    }
    // `/x` and `/x/` match the same requests.
    const match = `${route.host ?? cfg.proxy.domain}${(route.path ?? "/").replace(/(.)\/+$/, "$1")}`;
    const other = seen.get(match);
    if (other) {
      issues.push({
        key: configKey(["proxy", "routes", name]),
        message: `matches the same host and path (${match}) as route '${other}'; give it another host or path`,
      });
    }
    seen.set(match, name);
  }
  return issues;
}

/** Environment-driven defaults: publish on loopback in `local`, nothing published on hosts elsewhere. */
function normalizePublishing(cfg: StackConfig) {
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

function normalize(cfg: StackConfig): ResolvedConfig {
  const local = cfg.environment === "local";
  const p = normalizePublishing(cfg);
  return {
    environment: cfg.environment,
    targets: cfg.targets,
    safety: {
      protect: cfg.safety.protect ?? !local,
      retainOnDelete: cfg.safety.retainOnDelete ?? !local,
    },
    ...(cfg.storage && { storage: { ...cfg.storage, ...p.storage! } }),
    ...(cfg.database && { database: { ...cfg.database, ...p.database! } }),
    ...(cfg.proxy && { proxy: { ...cfg.proxy, ...p.proxy! } }),
  };
}

export function dockerTarget(cfg: ResolvedConfig, name: string): DockerTargetConfig {
  const t = cfg.targets[name];
  if (t?.kind !== "docker") throw new Error(`internal: target '${name}' is not a docker target`);
  return t;
}
