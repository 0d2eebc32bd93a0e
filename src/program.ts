import * as pulumi from "@pulumi/pulumi";
import { type ResolvedConfig, loadStackConfig } from "./config";
import { secretConfigValues } from "./config/load";
import { createPlatform, platformOutputs } from "./platform";

/**
 * The whole program: load config → build the platform → outputs. `pulumi up` and `synth` both run exactly this;
 * synth passes `observe` to read the resolved config (e.g. the cutovers to summarize) without resolving it again.
 */
export async function runProgram(observe?: (cfg: ResolvedConfig) => void): Promise<Record<string, unknown>> {
  const cfg = loadStackConfig();
  observe?.(cfg);
  const secrets = secretConfigValues();
  if (secrets.length > 0) pulumi.runtime.registerStackTransformation(keepSecret(secrets));
  const outputs = platformOutputs(cfg, createPlatform(cfg));
  return secrets.length > 0 ? (asSecretWhereTainted(secrets, outputs) as Record<string, unknown>) : outputs;
}

/**
 * Config is resolved from plain strings (the schema checks them), so a value from a secret key loses its secret
 * marking on the way into a resource. This transformation, on every resource of the stack, puts it back: any input
 * value (a string, or an Output once resolved) containing a secret key's value becomes a Pulumi secret, so the engine
 * encrypts it in state and masks it in previews and logs. Only registered when a key is secret: plans without
 * secrets are untouched.
 */
function keepSecret(secrets: string[]): pulumi.ResourceTransformation {
  return ({ props, opts }) => ({ props: asSecretWhereTainted(secrets, props) as pulumi.Inputs, opts });
}

function asSecretWhereTainted(secrets: string[], value: unknown): unknown {
  const tainted = (v: unknown): boolean =>
    typeof v === "string"
      ? secrets.some((s) => v.includes(s))
      : Array.isArray(v)
        ? v.some(tainted)
        : isPlainObject(v) && Object.values(v).some(tainted);
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return tainted(v) ? pulumi.secret(v) : v;
    if (pulumi.Output.isInstance(v) || v instanceof Promise)
      return pulumi.output(v).apply((x) => (tainted(x) ? pulumi.secret(x) : x));
    if (Array.isArray(v)) return v.map(walk);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v; // resources, providers, assets: not config values
  };
  return walk(value);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" &&
  v !== null &&
  (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
