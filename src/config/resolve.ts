/**
 * Turns raw stack configuration into a fully-defaulted, cross-checked `ResolvedConfig` — a pure function, so it is
 * tested (and property-tested) without the Pulumi runtime. Nothing here registers resources.
 */
import { z } from "zod";
import { crossCheck } from "./checks";
import { ConfigError, type ConfigIssue } from "./errors";
import { OFFLINE_SECRET_PLACEHOLDER, configKey } from "./keys";
import { allRoutes } from "./routes";
import type { Environment } from "./schema";
import { type TargetConfig, resolveTarget } from "./tiers/targets";
import { type StackConfig, stackConfigSchema } from "./stack";
import { type AwsObservabilitySettings, resolveAwsObservability } from "./tiers/aws";
import { type ResolvedProxy, resolveProxy } from "./tiers/proxy";
import { type ResolvedBackups, resolveBackups } from "./tiers/backups";
import { type ResolvedStorage, resolveStorage } from "./tiers/storage";
import { type ResolvedDatabase, resolveDatabase } from "./tiers/database";
import type { BasemapConfig } from "./tiers/basemap";
import type { CutoverConfig } from "./tiers/cutover";
import { type ResolvedIngestion, resolveIngestion } from "./tiers/ingestion";
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
  ingestion?: ResolvedIngestion;
  basemap?: BasemapConfig;
  observability?: ResolvedObservabilityTier;
  backups?: ResolvedBackups;
  cutover?: CutoverConfig;
  /** `stackport:secrets`, for the keys that name one outside the ingestion tier (an external source's connection). */
  secrets?: Record<string, string>;
}

/**
 * Validates and defaults the `stackport:` config of a stack.
 * @param raw the namespace's values with the namespace stripped (`{ environment: "local", targets: {...} }`)
 * @param secretKeys the keys of `raw` the engine holds as secrets (`secure:` values), e.g. `["secrets"]`; the program
 *   always passes them (`loadStackConfig`). Without them (a tool reading a stack file's values), only what the values
 *   themselves show is checked.
 * @throws ConfigError listing every problem with its config key
 */
export function resolveConfig(raw: Record<string, unknown>, secretKeys?: readonly string[]): ResolvedConfig {
  // reportInput: the issues carry the value given, so a message can say what was wrong with it.
  const parsed = stackConfigSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error));
  const cfg = parsed.data;
  const issues = [...plainSecrets(cfg.secrets, secretKeys?.includes("secrets")), ...crossCheck(cfg)];
  if (issues.length > 0) throw new ConfigError(issues);
  return normalize(cfg);
}

/**
 * `stackport:secrets` holds secrets only. The engine marks the whole key secret when any value in it is, and hands
 * the program every value decrypted, so a plain value next to a secure one is told apart only offline, where each
 * `secure:` value is the placeholder: there, a value that is not is a plain one.
 */
function plainSecrets(
  secrets: Record<string, string> | undefined,
  keyIsSecret: boolean | undefined,
): ConfigIssue[] {
  const values = Object.entries(secrets ?? {});
  const offline = values.some(([, v]) => v === OFFLINE_SECRET_PLACEHOLDER);
  return values
    .filter(([, v]) => keyIsSecret === false || (offline && v !== OFFLINE_SECRET_PLACEHOLDER))
    .map(([name]) => ({
      key: configKey(["secrets", name]),
      message: `must be a secret, not a plain value (it would be stored in clear text in the stack file); set it with pulumi config set --secret --path 'stackport:secrets.${name}' <value>`,
    }));
}

/** Keys that moved, by config path pattern: an old stack file is told where the key lives now. */
const MOVED_KEYS: [RegExp, (path: PropertyKey[]) => string][] = [
  [
    /^ingestion\.services\.[^.]+\.aws\.schedule$/,
    (p) =>
      `moved to stackport:ingestion.services.${String(p[2])}.schedule (it schedules the service on Docker as well as on AWS)`,
  ],
];

function movedKey(path: PropertyKey[]): string | undefined {
  const dotted = path.map(String).join(".");
  return MOVED_KEYS.find(([pattern]) => pattern.test(dotted))?.[1](path);
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) => describeIssues(issue, []));
}

/** One zod issue as config issues, at `prefix` + its path; a union that failed inside one branch says why there. */
function describeIssues(issue: z.core.$ZodIssue, prefix: PropertyKey[]): ConfigIssue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => {
      const moved = movedKey([...path, k]);
      if (moved) return { key: configKey([...path, k]), message: moved };
      const allowed = allowedKeys(path);
      return {
        key: configKey([...path, k]),
        message: `unknown key '${k}'; ${allowed.length ? `allowed here: ${allowed.join(", ")}` : "this value takes no keys"} (see docs/configuration.md)`,
      };
    });
  }
  if (issue.code === "invalid_union" && !("discriminator" in issue && issue.discriminator)) {
    // The input had the shape of one branch (an object where an object or `false` is allowed): its problems are
    // the useful ones. Otherwise, list what each branch expected.
    const nested = issue.errors.filter((branch) =>
      branch.some((i) => i.path.length > 0 || i.code === "unrecognized_keys"),
    );
    if (nested.length === 1) return nested[0]!.flatMap((i) => describeIssues(i, path));
    const expected = [...new Set(issue.errors.flatMap((branch) => branch.map(expectation)))];
    return [
      { key: configKey(path), message: `expected ${expected.join(" or ")}, got ${given(issue.input, path)}` },
    ];
  }
  return [{ key: configKey(path), message: describeIssue(issue, path) }];
}

/** The keys a strict object at `path` accepts, found by walking the schema (for "did you mean" style errors). */
function allowedKeys(path: PropertyKey[]): string[] {
  let schemas: z.ZodType[] = [stackConfigSchema];
  for (const segment of path) {
    schemas = schemas.flatMap(objectLike).flatMap((s) => {
      if (s instanceof z.ZodObject)
        return s.shape[segment as string] ? [s.shape[segment as string] as z.ZodType] : [];
      if (s instanceof z.ZodRecord) return [s.valueType as z.ZodType];
      if (s instanceof z.ZodArray) return [s.element as z.ZodType];
      return [];
    });
  }
  return [
    ...new Set(
      schemas.flatMap(objectLike).flatMap((s) => (s instanceof z.ZodObject ? Object.keys(s.shape) : [])),
    ),
  ];
}

/** The object, record and array schemas a value at this schema may match, through wrappers and unions. */
function objectLike(schema: z.ZodType): z.ZodType[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodUnion || s instanceof z.ZodDiscriminatedUnion) {
    return (s.options as z.ZodType[]).flatMap(objectLike);
  }
  return [s];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else return s;
  }
}

function describeIssue(issue: z.core.$ZodIssue, path: PropertyKey[]): string {
  const got = () => given(issue.input, path);
  switch (issue.code) {
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}; got ${got()}`;
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator) {
        const options = ((issue as { options?: unknown[] }).options ?? []).map((o) => JSON.stringify(o));
        const value = (issue.input as Record<string, unknown> | undefined)?.[issue.discriminator];
        return value === undefined
          ? `'${issue.discriminator}' is required: one of ${options.join(", ")}`
          : `'${issue.discriminator}' must be one of ${options.join(", ")}; got ${given(value, path)}`;
      }
      return issue.message;
    case "invalid_type":
      return issue.input === undefined
        ? `is required (${expectation(issue)})`
        : `expected ${expectation(issue)}, got ${got()}`;
    case "invalid_key":
      return `'${String(path[path.length - 1])}' is not allowed as a name here: ${issue.issues.map((i) => i.message).join("; ")}`;
    case "too_big":
    case "too_small":
      return `${bound(issue)}; got ${got()}`;
    case "invalid_format":
      return `${issue.message}; got ${got()}`;
    default:
      return issue.message;
  }
}

/** What an issue's schema accepts, in words: `a string`, `a whole number`, `an object`, `false`. */
function expectation(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value") return issue.values.map((v) => JSON.stringify(v)).join(" or ");
  if (issue.code !== "invalid_type") return "a valid value";
  const words: Record<string, string> = {
    int: "a whole number",
    number: "a number",
    string: "a string",
    boolean: "true or false",
    object: "an object (key: value)",
    array: "a list",
    record: "an object (key: value)",
  };
  return words[issue.expected] ?? article(issue.expected);
}

function bound(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const limit = issue.code === "too_big" ? issue.maximum : issue.minimum;
  const inclusive = issue.inclusive !== false;
  const cmp =
    issue.code === "too_big" ? (inclusive ? "at most" : "less than") : inclusive ? "at least" : "more than";
  const unit =
    issue.origin === "string"
      ? " characters"
      : issue.origin === "array" || issue.origin === "set"
        ? " items"
        : "";
  const what = issue.origin === "string" ? "must have" : issue.origin === "array" ? "must list" : "must be";
  return `${what} ${cmp} ${String(limit)}${unit}`;
}

/** Config keys whose values are credentials: their values never appear in a message. */
const SECRET_KEY = /pass(word|phrase)?$|secret|token|credential|private|key$/i;

/** The value a user gave, for a message: short scalars as written, structures by kind, secrets never. */
export function given(value: unknown, path: PropertyKey[]): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return `a list (${value.length} item${value.length === 1 ? "" : "s"})`;
  if (typeof value === "object") return "an object";
  const kind =
    typeof value === "string" ? "a string" : typeof value === "number" ? "a number" : `a ${typeof value}`;
  const secret =
    path.some((p) => typeof p === "string" && SECRET_KEY.test(p)) ||
    (typeof value === "string" && value === OFFLINE_SECRET_PLACEHOLDER);
  if (secret) return `${kind} ([secret])`;
  const text = typeof value === "string" ? JSON.stringify(value) : String(value);
  return `${kind} (${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

const article = (t: string) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`);

function normalize(cfg: StackConfig): ResolvedConfig {
  const local = cfg.environment === "local";
  const env = cfg.environment;
  const storage = cfg.storage && resolveStorage(cfg.storage, env);
  const database = cfg.database && resolveDatabase(cfg.database, env);
  return {
    environment: env,
    targets: Object.fromEntries(
      Object.entries(cfg.targets).map(([name, target]) => [name, resolveTarget(target, env)]),
    ),
    safety: {
      protect: cfg.safety.protect ?? !local,
      retainOnDelete: cfg.safety.retainOnDelete ?? !local,
    },
    ...(storage && { storage }),
    ...(database && { database }),
    ...(cfg.proxy && { proxy: resolveProxy(cfg.proxy, env, allRoutes(cfg)) }),
    ...(cfg.ingestion && { ingestion: resolveIngestion(cfg.ingestion, cfg) }),
    ...(cfg.basemap && { basemap: cfg.basemap }),
    ...(cfg.observability && {
      observability: {
        ...resolveObservability(cfg.observability, env),
        aws: resolveAwsObservability(env, cfg.observability.aws),
      },
    }),
    ...(cfg.backups && database && { backups: resolveBackups(cfg.backups, database, storage, cfg.secrets) }),
    ...(cfg.cutover && { cutover: cfg.cutover }),
    ...(cfg.secrets && { secrets: cfg.secrets }),
  };
}
