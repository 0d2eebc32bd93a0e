/**
 * Turns raw stack configuration into a fully-defaulted, cross-checked `ResolvedConfig` — a pure function, so it is
 * tested (and property-tested) without the Pulumi runtime. Nothing here registers resources.
 */
import { z } from "zod";
import { crossCheck } from "./checks";
import { ConfigError, type ConfigIssue } from "./errors";
import { configKey } from "./keys";
import { allRoutes } from "./routes";
import type { Environment } from "./schema";
import type { TargetConfig } from "./tiers/targets";
import { type StackConfig, stackConfigSchema } from "./stack";
import { type AwsObservabilitySettings, resolveAwsObservability } from "./tiers/aws";
import { type ResolvedProxy, resolveProxy } from "./tiers/proxy";
import { type ResolvedBackups, resolveBackups } from "./tiers/backups";
import { type ResolvedStorage, resolveStorage } from "./tiers/storage";
import { type ResolvedDatabase, resolveDatabase } from "./tiers/database";
import type { BasemapConfig } from "./tiers/basemap";
import type { CutoverConfig } from "./tiers/cutover";
import type { IngestionConfig } from "./tiers/ingestion";
import { type ResolvedObservability, resolveObservability } from "./tiers/observability";

export { CONFIG_NAMESPACE, configKey } from "./keys";
export type { Published } from "./schema";
export type { ResolvedStorage } from "./tiers/storage";
export type { ResolvedDatabase } from "./tiers/database";
export type { ResolvedProxy } from "./tiers/proxy";

/** Stateful-resource safety, decided once per stack and applied explicitly to each stateful child. */
export interface Safety {
  protect: boolean;
  retainOnDelete: boolean;
}

export type ResolvedObservabilityTier = ResolvedObservability & { aws: AwsObservabilitySettings };

export interface ResolvedConfig {
  environment: Environment;
  targets: Record<string, TargetConfig>;
  safety: Safety;
  storage?: ResolvedStorage;
  database?: ResolvedDatabase;
  proxy?: ResolvedProxy;
  ingestion?: IngestionConfig;
  basemap?: BasemapConfig;
  observability?: ResolvedObservabilityTier;
  backups?: ResolvedBackups;
  cutover?: CutoverConfig;
}

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

function normalize(cfg: StackConfig): ResolvedConfig {
  const local = cfg.environment === "local";
  const env = cfg.environment;
  const storage = cfg.storage && resolveStorage(cfg.storage, env);
  const database = cfg.database && resolveDatabase(cfg.database, env);
  return {
    environment: env,
    targets: cfg.targets,
    safety: {
      protect: cfg.safety.protect ?? !local,
      retainOnDelete: cfg.safety.retainOnDelete ?? !local,
    },
    ...(storage && { storage }),
    ...(database && { database }),
    ...(cfg.proxy && { proxy: resolveProxy(cfg.proxy, env, allRoutes(cfg)) }),
    ...(cfg.ingestion && { ingestion: cfg.ingestion }),
    ...(cfg.basemap && { basemap: cfg.basemap }),
    ...(cfg.observability && {
      observability: {
        ...resolveObservability(cfg.observability, env),
        aws: resolveAwsObservability(env, cfg.observability.aws),
      },
    }),
    ...(cfg.backups && database && { backups: resolveBackups(cfg.backups, database, storage) }),
    ...(cfg.cutover && { cutover: cfg.cutover }),
  };
}
