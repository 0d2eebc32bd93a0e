import * as pulumi from "@pulumi/pulumi";
import { type Recorder, installRecorder, settle } from "./recorder";
import type { StackFile } from "./stackFile";
import { PLACED_TIERS } from "../config/checks";
import { type CutoverSummary, cutoverSummaries } from "../config/cutover";

export interface Plan extends Recorder {
  stack: string;
  project: string;
  /** Names of the stack outputs the program exports. */
  outputs: string[];
  /** Cutovers in progress and what this update does about them; absent when there is none. */
  cutovers?: CutoverSummary[];
}

/**
 * Runs the real program (the same function `pulumi up` runs) under the mock runtime with the given stack's config
 * and returns everything it registered. `organization` is what `pulumi.getOrganization()` returns (bucket names on
 * AWS depend on it); by default the file backend's, `organization`. Refuses an empty plan for a stack that places a
 * tier: a program that registered nothing then is a bug here, never a valid plan.
 */
export async function synthesize(
  stackFile: StackFile,
  opts: { preview?: boolean; organization?: string } = {},
): Promise<Plan> {
  const recorder = await installRecorder({
    project: stackFile.project,
    stack: stackFile.stack,
    preview: opts.preview ?? false,
    ...(opts.organization && { organization: opts.organization }),
  });
  pulumi.runtime.setAllConfig(stackFile.config, stackFile.secretKeys);
  // Loaded after the mocks are in place so nothing registers on the no-engine fake path.
  const { runProgram } = await import("../program");
  // The SDK records a stack trace on every promise it makes (for leak reports and source positions the engine
  // would show); offline nobody reads them, and they cost a fifth of a synth. STACKPORT_DEBUG=1 keeps them.
  const stackTraceLimit = Error.stackTraceLimit;
  if (!process.env["STACKPORT_DEBUG"]) Error.stackTraceLimit = 0;
  let cutovers: CutoverSummary[] | undefined;
  // A stack that places no tier (everything removed, e.g. before decommissioning a target) plans nothing.
  let placesTiers = true;
  let outputs: Awaited<ReturnType<typeof pulumi.runtime.runInPulumiStack>>;
  try {
    outputs = await pulumi.runtime.runInPulumiStack(() =>
      runProgram((cfg) => {
        placesTiers = PLACED_TIERS.some((tier) => cfg[tier] !== undefined);
        const summaries = cutoverSummaries(cfg);
        if (summaries.length > 0) cutovers = summaries;
      }),
    );
    await settle();
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (recorder.resources.length === 0 && placesTiers) {
    throw new Error(
      `synth of stack '${stackFile.stack}' recorded no resources: the mock runtime was not attached`,
    );
  }
  return {
    ...recorder,
    stack: stackFile.stack,
    project: stackFile.project,
    outputs: Object.keys(outputs ?? {}).sort(),
    ...(cutovers && { cutovers }),
  };
}
