/**
 * Reads `Pulumi.yaml` and `Pulumi.<stack>.yaml` the way the Pulumi CLI hands them to a program: values under the
 * project namespace become strings (structured values as JSON). Encrypted `secure:` values cannot be decrypted
 * offline, so they become a placeholder and are registered as secret keys — they never print.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { YAMLParseError, parse } from "yaml";
import { OFFLINE_SECRET_PLACEHOLDER } from "../config/keys";

export interface StackFile {
  project: string;
  stack: string;
  /** Full keys (`stackport:environment`) to engine-style string values. */
  config: Record<string, string>;
  secretKeys: string[];
}

export { OFFLINE_SECRET_PLACEHOLDER };

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
 * @param stack a stack name (`local` → `Pulumi.local.yaml` in the root) or the path of a stack file, relative to the
 *   root or absolute (`examples/aws-staging/Pulumi.aws-staging.yaml`), read with the root project's `Pulumi.yaml`
 * @throws StackNotFoundError when the stack file does not exist; StackFileError when it or `Pulumi.yaml` is
 *   missing or not valid YAML of the expected shape (the message names the file and, for YAML errors, the line)
 */
export function readStackFile(root: string, stackOrPath: string): StackFile {
  const projectFile = join(root, "Pulumi.yaml");
  if (!existsSync(projectFile)) {
    throw new StackFileError(`no Pulumi.yaml in ${resolve(root)}; run this from the project's directory`);
  }
  const projectDoc = readYaml(root, projectFile);
  const project = isMapping(projectDoc) && typeof projectDoc["name"] === "string" ? projectDoc["name"] : "";
  if (!project)
    throw new StackFileError(`${displayPath(root, projectFile)}: 'name' must be the project's name`);
  const fromPath = /^(?:.*\/)?Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/.exec(stackOrPath);
  const stack = fromPath ? fromPath[1]! : stackOrPath;
  const path = fromPath ? resolve(root, stackOrPath) : join(root, `Pulumi.${stack}.yaml`);
  if (!existsSync(path)) {
    const known = listStacks(root);
    throw new StackNotFoundError(
      `no stack file ${fromPath ? displayPath(root, path) : basename(path)}; stacks here: ${known.join(", ") || "(none)"}`,
    );
  }
  const doc = readYaml(root, path) ?? {};
  const where = displayPath(root, path);
  if (!isMapping(doc)) throw new StackFileError(`${where}: must be a mapping with a 'config:' section`);
  const section = doc["config"] ?? {};
  if (!isMapping(section)) throw new StackFileError(`${where}: 'config' must be a mapping of key: value`);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(section)) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    if (isMapping(value) && "secure" in value) {
      config[key] = OFFLINE_SECRET_PLACEHOLDER;
      secretKeys.push(key);
    } else {
      // A `secure:` inside a structure (`pulumi config set --secret --path`): the engine makes the whole key secret.
      let nestedSecret = false;
      const plain = replaceSecure(value, () => (nestedSecret = true));
      config[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
      if (nestedSecret) secretKeys.push(key);
    }
  }
  return { project, stack, config, secretKeys };
}

/** The value with every nested `{ secure: … }` replaced by the offline placeholder; `found` is called for each. */
function replaceSecure(value: unknown, found: () => void): unknown {
  if (Array.isArray(value)) return value.map((v) => replaceSecure(v, found));
  if (!isMapping(value)) return value;
  if ("secure" in value && Object.keys(value).length === 1) {
    found();
    return OFFLINE_SECRET_PLACEHOLDER;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v, found)]));
}

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A path as the user would type it: relative to the root when inside it. */
function displayPath(root: string, path: string): string {
  const rel = relative(root, path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/** Parses a YAML file; a syntax error (a duplicate key, a bad indent) names the file, line and column. */
function readYaml(root: string, path: string): unknown {
  try {
    return parse(readFileSync(path, "utf8"));
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const at = e.linePos?.[0];
      const reason = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
      throw new StackFileError(`${displayPath(root, path)}${at ? `:${at.line}:${at.col}` : ""}: ${reason}`);
    }
    throw e;
  }
}

export class StackNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackNotFoundError";
  }
}

/**
 * A stack file or `Pulumi.yaml` that cannot be read as a stack: bad YAML, a missing project file, a wrong shape.
 * A kind of StackNotFoundError, so every command that reports a missing stack as bad input (exit 2) reports this too.
 */
export class StackFileError extends StackNotFoundError {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}
