import * as pulumi from "@pulumi/pulumi";
import * as runtimeConfig from "@pulumi/pulumi/runtime/config";
import { CONFIG_NAMESPACE, type ResolvedConfig, resolveConfig } from "./resolve";

/** The SDK's own test for `PULUMI_CONFIG_SECRET_KEYS` (what `Config.get` and `getSecret` use; internal, untyped). */
const isConfigSecret = (runtimeConfig as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

/**
 * Reads the `stackport:` namespace from the running stack's configuration and resolves it.
 * Structured values arrive from the engine as JSON strings; plain strings stay strings.
 */
export function loadStackConfig(): ResolvedConfig {
  const all = pulumi.runtime.allConfig();
  const prefix = `${CONFIG_NAMESPACE}:`;
  const secretKeys = Object.keys(all)
    .filter((k) => k.startsWith(prefix) && isConfigSecret(k))
    .map((k) => k.slice(prefix.length));
  return resolveConfig(rawNamespace(all), secretKeys);
}

/**
 * The namespace's values by key, structured values parsed. The engine hands a YAML string and a structured value
 * alike as a string, so a string that starts like JSON but is not (`"[draft"`) stays a string: the schema then names
 * its key and says what was expected, instead of the program crashing on a JSON syntax error.
 */
export function rawNamespace(all: Record<string, string>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    raw[fullKey.slice(prefix.length)] = /^\s*[[{]/.test(value) ? parseJson(value) : value;
  }
  return raw;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/**
 * Every string in the namespace's secret keys (`secure:` in the stack file, `PULUMI_CONFIG_SECRET_KEYS` to the
 * program): `allConfig()` hands them over as plain strings, so the program marks whatever contains one as a secret
 * (see `program.ts`). The engine marks a whole key secret when any value inside it is, and passes the whole value
 * decrypted, so every string of a structured secret key counts. Longest first, for containment checks.
 */
export function secretConfigValues(all: Record<string, string> = pulumi.runtime.allConfig()): string[] {
  const values = new Set<string>();
  const collect = (v: unknown): void => {
    if (typeof v === "string") {
      if (v !== "") values.add(v);
    } else if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(`${CONFIG_NAMESPACE}:`) && isConfigSecret(key)) {
      values.add(value);
      collect(/^\s*[[{]/.test(value) ? parseJson(value) : value);
    }
  }
  return [...values].sort((a, b) => b.length - a.length);
}
