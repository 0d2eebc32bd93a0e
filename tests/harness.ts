/**
 * The one place tests touch Pulumi's mock runtime. Everything goes through the same recorder `npm run synth` uses,
 * and every helper refuses an empty recording, so a test can never pass on a plan nobody registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { type Recorder, type RecorderOptions, installRecorder, settle } from "../src/synth/recorder";
import { type Plan, synthesize as synthesizeStackFile } from "../src/synth/run";
import { readStackFile } from "../src/synth/stackFile";
import { join } from "node:path";

export const ROOT = join(__dirname, "..");
export const PROJECT = "stackport";

/** Synthesizes a shipped stack file (`Pulumi.<stack>.yaml`) exactly as `npm run synth` does. */
export function synthesizeStack(stack: string, opts: { preview?: boolean } = {}): Promise<Plan> {
  return synthesizeStackFile(readStackFile(ROOT, stack), opts);
}

/** Synthesizes the real program with an in-memory `stackport:` config (keys without the namespace). */
export function synthesizeConfig(
  stack: string,
  config: Record<string, unknown>,
  opts: { preview?: boolean } = {},
): Promise<Plan> {
  const values = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [
      `${PROJECT}:${k}`,
      typeof v === "string" ? v : JSON.stringify(v),
    ]),
  );
  return synthesizeStackFile({ project: PROJECT, stack, config: values, secretKeys: [] }, opts);
}

/**
 * Runs an arbitrary block (e.g. one component) under the mock runtime inside a stack, and returns what it
 * registered plus the block's result.
 */
export async function record<T>(
  fn: () => T,
  opts: { stack?: string; preview?: boolean; outputs?: RecorderOptions["outputs"] } = {},
): Promise<{ recorder: Recorder; result: T }> {
  const recorder = await installRecorder({
    project: PROJECT,
    stack: opts.stack ?? "test",
    preview: opts.preview ?? false,
    ...(opts.outputs && { outputs: opts.outputs }),
  });
  let result!: T;
  await pulumi.runtime.runInPulumiStack(async () => {
    result = fn();
    return {};
  });
  await settle();
  if (recorder.resources.length === 0)
    throw new Error("the recorder saw no resources: the mock runtime was not attached");
  return { recorder, result };
}

/** Resolves an Output's value in a test (undefined if unknown in preview); never hangs like `apply`-promises do. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T | undefined> {
  return (o as unknown as { promise(): Promise<T | undefined> }).promise();
}

export function isSecret<T>(o: pulumi.Output<T>): Promise<boolean> {
  return pulumi.isSecret(o);
}

/** Finds exactly one recorded resource by name, failing with the names that do exist. */
export function one(recorder: Recorder, name: string) {
  const r = recorder.byName(name);
  if (!r)
    throw new Error(
      `no resource named '${name}'; recorded: ${recorder.resources.map((x) => x.name).join(", ")}`,
    );
  return r;
}
