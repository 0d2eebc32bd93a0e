import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE, type ResolvedConfig, resolveConfig } from "./resolve";

/**
 * Reads the `stackport:` namespace from the running stack's configuration and resolves it.
 * Structured values arrive from the engine as JSON strings; plain strings stay strings.
 */
export function loadStackConfig(): ResolvedConfig {
  return resolveConfig(rawNamespace(pulumi.runtime.allConfig()));
}

export function rawNamespace(all: Record<string, string>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(prefix)) continue;
    raw[fullKey.slice(prefix.length)] = /^\s*[[{]/.test(value) ? JSON.parse(value) : value;
  }
  return raw;
}
