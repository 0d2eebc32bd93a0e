import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type ResolvedConfig, resolveConfig } from "./resolve";

/**
 * Reads the `stackport:` namespace from the running stack's configuration and resolves it.
 * Structured values arrive from the engine as JSON strings; plain strings stay strings.
 */
export function loadStackConfig(): ResolvedConfig {
  return resolveConfig(rawNamespace(pulumi.runtime.allConfig()));
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
