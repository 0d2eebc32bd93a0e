import { loadStackConfig } from "./config";
import { createPlatform, platformOutputs } from "./platform";

/** The whole program: load config → build the platform → outputs. `pulumi up` and `synth` both run exactly this. */
export async function runProgram(): Promise<Record<string, unknown>> {
  const cfg = loadStackConfig();
  return platformOutputs(cfg, createPlatform(cfg));
}
