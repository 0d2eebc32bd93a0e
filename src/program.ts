import { type ResolvedConfig, loadStackConfig } from "./config";
import { createPlatform, platformOutputs } from "./platform";

/**
 * The whole program: load config → build the platform → outputs. `pulumi up` and `synth` both run exactly this;
 * synth passes `observe` to read the resolved config (e.g. the cutovers to summarize) without resolving it again.
 */
export async function runProgram(observe?: (cfg: ResolvedConfig) => void): Promise<Record<string, unknown>> {
  const cfg = loadStackConfig();
  observe?.(cfg);
  return platformOutputs(cfg, createPlatform(cfg));
}
