/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands them to a program: values under the
 * project namespace become strings (structured values as JSON). Encrypted `secure:` values cannot be decrypted
 * offline, so they become a placeholder and are registered as secret keys — they never print.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export interface StackFile {
  project: string;
  stack: string;
  /** Full keys (`stackport:environment`) to engine-style string values. */
  config: Record<string, string>;
  secretKeys: string[];
}

export const OFFLINE_SECRET_PLACEHOLDER = "offline-secret-placeholder";

/** Stack files shipped as examples (`examples/<name>/Pulumi.<stack>.yaml`), as paths relative to the root. */
export function listExampleStackFiles(root: string): string[] {
  const dir = join(root, "examples");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((example) =>
      existsSync(join(dir, example))
        ? readdirSync(join(dir, example))
            .filter((f) => /^Pulumi\.[A-Za-z0-9_.-]+\.yaml$/.test(f))
            .map((f) => `examples/${example}/${f}`)
        : [],
    )
    .sort();
}

export function listStacks(root: string): string[] {
  return readdirSync(root)
    .map((f) => /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => Boolean(s))
    .sort();
}

/**
 * @param stack a stack name (`local` → `Pulumi.local.yaml` in the root) or the path of a stack file
 *   (`examples/aws-staging/Pulumi.aws-staging.yaml`), read with the root project's `Pulumi.yaml`
 */
export function readStackFile(root: string, stackOrPath: string): StackFile {
  const project = (parse(readFileSync(join(root, "Pulumi.yaml"), "utf8")) as { name: string }).name;
  const fromPath = /^(?:.*\/)?Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(stackOrPath);
  const stack = fromPath ? fromPath[1]! : stackOrPath;
  const path = fromPath ? join(root, stackOrPath) : join(root, `Pulumi.${stack}.yaml`);
  if (!existsSync(path)) {
    const known = listStacks(root);
    throw new StackNotFoundError(
      `no stack file Pulumi.${stack}.yaml; stacks here: ${known.join(", ") || "(none)"}`,
    );
  }
  const doc = (parse(readFileSync(path, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    if (value && typeof value === "object" && "secure" in (value as object)) {
      config[key] = OFFLINE_SECRET_PLACEHOLDER;
      secretKeys.push(key);
    } else {
      config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { project, stack, config, secretKeys };
}

export class StackNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackNotFoundError";
  }
}
