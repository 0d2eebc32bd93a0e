/**
 * Starts the policy pack the way the Pulumi engine does and talks to it over its real gRPC Analyzer interface —
 * the engine's side of `pulumi preview --policy-pack policies --policy-pack-config <file>`, without a Pulumi CLI.
 *
 * Read from pulumi/pulumi at 1b59498 (CLI 3.259.0):
 * - `pkg/resource/plugin/analyzer_plugin.go` `NewPolicyAnalyzer`: a `runtime: nodejs` pack is started through the
 *   Node language host's `RunPlugin` (kind `analyzer`, args `[engineAddress]`), then `Handshake` (Unimplemented is
 *   accepted) and `ConfigureStack` (stack, project, organization, dry run, decrypted config, tags).
 * - `sdk/nodejs/cmd/pulumi-language-nodejs/main.go` `RunPlugin`: resolves `@pulumi/pulumi/cmd/run-policy-pack` from
 *   the pack's directory (`require.resolve`, so a parent's node_modules serve), runs
 *   `node <run-policy-pack> <engineAddress> <packDir>` in the pack's directory with `PULUMI_NODEJS_TYPESCRIPT=true`
 *   (the `typescript` runtime option defaults to true) and, from the `ConfigureStack` its `sdk/policy_proxy.go`
 *   intercepts, `PULUMI_CONFIG` (the stack's config as a JSON map of `project:key` → string) and
 *   `PULUMI_NODEJS_{ORGANIZATION,PROJECT,STACK,DRY_RUN}`; the pack prints its port as its first stdout line.
 * - `pkg/engine/update.go` `LoadLocalPolicyPackAnalyzers`: `GetAnalyzerInfo`, then the `--policy-pack-config` file
 *   reconciled with the pack's policies (`pkg/resource/analyzer/config.go`, ported below), then `Configure`.
 * - `analyzer_plugin.go` `Analyze`/`AnalyzeStack`: properties marshalled with unknowns (the unknown sentinel string)
 *   and secrets (the secret signature object) kept and internal `__` keys skipped.
 * `run-policy-pack` drops its engine-address argument (`argv._.shift()`), so no Engine service is needed.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as pb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { SECRET_MASK, UNKNOWN_MASK } from "../../src/synth/recorder";

type Level = "advisory" | "mandatory" | "remediate" | "disabled";
const LEVEL_NAMES: Record<number, Level> = {
  [pb.EnforcementLevel.ADVISORY]: "advisory",
  [pb.EnforcementLevel.MANDATORY]: "mandatory",
  [pb.EnforcementLevel.REMEDIATE]: "remediate",
  [pb.EnforcementLevel.DISABLED]: "disabled",
};
const LEVEL_VALUES = Object.fromEntries(
  Object.entries(LEVEL_NAMES).map(([k, v]) => [v, Number(k)]),
) as Record<Level, pb.EnforcementLevel>;
const SEVERITY_NAMES: Record<number, string | undefined> = {
  [pb.PolicySeverity.POLICY_SEVERITY_LOW]: "low",
  [pb.PolicySeverity.POLICY_SEVERITY_MEDIUM]: "medium",
  [pb.PolicySeverity.POLICY_SEVERITY_HIGH]: "high",
  [pb.PolicySeverity.POLICY_SEVERITY_CRITICAL]: "critical",
};

/** sdk/go/common/resource/sig: how the engine marshals a secret and an unknown (`plugin/rpc.go`). */
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface PackLaunch {
  /** The policy pack's directory (where PulumiPolicy.yaml is). */
  packDir: string;
  organization: string;
  project: string;
  stack: string;
  /** The stack's decrypted config, `project:key` → string (objects JSON-encoded), as `target.Config.Decrypt`. */
  config: Record<string, string>;
  secretKeys: string[];
  dryRun: boolean;
  tags: Record<string, string>;
  /** How long the pack may take to print its port. */
  startTimeoutMs: number;
}

export interface EnginePolicyConfig {
  enforcementLevel: Level | "";
  properties?: Record<string, unknown>;
}

export interface PolicyInfo {
  name: string;
  enforcementLevel: Level;
  schema?: { properties: Record<string, Record<string, unknown>>; required: string[] };
}

export interface Diagnostic {
  policyName: string;
  message: string;
  urn: string;
  enforcementLevel: Level;
  severity?: string;
}

/** A resource as the engine sends it to `Analyze` / `AnalyzeStack`. */
export interface EngineResource {
  urn: string;
  type: string;
  name: string;
  properties: Record<string, unknown>;
  protect: boolean;
  parent?: string;
  dependencies: string[];
  provider?: { urn: string; type: string; name: string; properties: Record<string, unknown> };
}

/** What the engine's marshaller sends for a recorded value: masks become the secret and unknown encodings. */
export function toEngineValue(value: unknown): unknown {
  if (value === UNKNOWN_MASK) return UNKNOWN_STRING;
  if (value === SECRET_MASK) return { [SECRET_SIG_KEY]: SECRET_SIG, value: SECRET_MASK };
  if (Array.isArray(value)) return value.map(toEngineValue);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!k.startsWith("__")) out[k] = toEngineValue(v);
    return out;
  }
  return value;
}

const struct = (o: Record<string, unknown>) => Struct.fromJavaScript(toEngineValue(o) as never);

function unary<Res>(client: AnalyzerClient, method: string, req: unknown, deadlineMs: number): Promise<Res> {
  const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method]!.bind(client);
  return new Promise((resolve, reject) =>
    fn(req, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

const isUnimplemented = (e: unknown) => (e as grpc.ServiceError)?.code === grpc.status.UNIMPLEMENTED;

/** A running pack process and the engine's calls on it. `close()` always ends the process. */
export class RunningPolicyPack {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly client: AnalyzerClient,
    private readonly rpcTimeoutMs: number,
    private readonly output: { stderr: string },
  ) {
    this.exited = new Promise((r) => child.once("exit", () => r()));
  }

  /** `node <run-policy-pack> <engineAddress> <packDir>` with the language host's environment; Handshake, ConfigureStack. */
  static async start(launch: PackLaunch, runPolicyPack: string): Promise<RunningPolicyPack> {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PULUMI_NODEJS_TYPESCRIPT: "true",
      PULUMI_CONFIG: JSON.stringify(launch.config),
      PULUMI_NODEJS_ORGANIZATION: launch.organization,
      PULUMI_NODEJS_PROJECT: launch.project,
      PULUMI_NODEJS_STACK: launch.stack,
      PULUMI_NODEJS_DRY_RUN: String(launch.dryRun),
    };
    // Jest's own settings must not leak into the pack (the engine's environment has none of them).
    delete env["NODE_OPTIONS"];
    delete env["JEST_WORKER_ID"];
    const child = spawn(process.execPath, [runPolicyPack, "127.0.0.1:0", launch.packDir], {
      cwd: launch.packDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output = { stderr: "" };
    child.stderr!.on("data", (d) => (output.stderr += String(d)));
    let port: number;
    try {
      port = await readPort(child, launch.startTimeoutMs, () => output.stderr);
    } catch (e) {
      child.kill("SIGKILL");
      throw e;
    }
    const client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const pack = new RunningPolicyPack(child, client, launch.startTimeoutMs, output);
    try {
      const hs = new pb.AnalyzerHandshakeRequest();
      hs.setEngineAddress("127.0.0.1:0");
      hs.setRootDirectory(launch.packDir);
      hs.setProgramDirectory(launch.packDir);
      await pack.call("handshake", hs).catch((e) => {
        if (!isUnimplemented(e)) throw e;
      });
      const cs = new pb.AnalyzerStackConfigureRequest();
      cs.setStack(launch.stack);
      cs.setProject(launch.project);
      cs.setOrganization(launch.organization);
      cs.setDryRun(launch.dryRun);
      for (const [k, v] of Object.entries(launch.config)) cs.getConfigMap().set(k, v);
      cs.setConfigSecretKeysList(launch.secretKeys);
      for (const [k, v] of Object.entries(launch.tags)) cs.getTagsMap().set(k, v);
      await pack.call("configureStack", cs).catch((e) => {
        if (!isUnimplemented(e)) throw e;
      });
    } catch (e) {
      await pack.close();
      throw e;
    }
    return pack;
  }

  private async call<Res>(method: string, req: unknown): Promise<Res> {
    try {
      return await unary<Res>(this.client, method, req, this.rpcTimeoutMs);
    } catch (e) {
      throw Object.assign(
        new Error(`Analyzer.${method} failed: ${(e as Error).message}\npack stderr:\n${this.output.stderr}`),
        { code: (e as grpc.ServiceError).code },
      );
    }
  }

  async info(): Promise<{ name: string; version: string; policies: PolicyInfo[] }> {
    const ai = await this.call<pb.AnalyzerInfo>("getAnalyzerInfo", new Empty());
    return {
      name: ai.getName(),
      version: ai.getVersion(),
      policies: ai.getPoliciesList().map((p) => {
        const schema = p.getConfigschema();
        return {
          name: p.getName(),
          enforcementLevel: LEVEL_NAMES[p.getEnforcementlevel()]!,
          ...(schema && {
            schema: {
              properties: (schema.getProperties()?.toJavaScript() ?? {}) as NonNullable<
                PolicyInfo["schema"]
              >["properties"],
              required: schema.getRequiredList(),
            },
          }),
        };
      }),
    };
  }

  /** `analyzer.Configure`: every level must be valid (the engine refuses an empty one before sending). */
  async configure(config: Record<string, EnginePolicyConfig>): Promise<void> {
    const req = new pb.ConfigureAnalyzerRequest();
    for (const [name, c] of Object.entries(config)) {
      if (!c.enforcementLevel) throw new Error(`invalid enforcement level "" for ${name}`);
      const pc = new pb.PolicyConfig();
      pc.setEnforcementlevel(LEVEL_VALUES[c.enforcementLevel]);
      pc.setProperties(Struct.fromJavaScript((c.properties ?? {}) as never));
      req.getPolicyconfigMap().set(name, pc);
    }
    await this.call("configure", req);
  }

  async analyze(r: EngineResource): Promise<Diagnostic[]> {
    const req = new pb.AnalyzeRequest();
    req.setUrn(r.urn);
    req.setType(r.type);
    req.setName(r.name);
    req.setProperties(struct(r.properties));
    req.setOptions(options(r));
    if (r.provider) req.setProvider(provider(r.provider));
    return diagnostics(await this.call<pb.AnalyzeResponse>("analyze", req));
  }

  async analyzeStack(resources: EngineResource[]): Promise<Diagnostic[]> {
    const req = new pb.AnalyzeStackRequest();
    req.setResourcesList(
      resources.map((r) => {
        const ar = new pb.AnalyzerResource();
        ar.setUrn(r.urn);
        ar.setType(r.type);
        ar.setName(r.name);
        ar.setProperties(struct(r.properties));
        ar.setOptions(options(r));
        if (r.provider) ar.setProvider(provider(r.provider));
        if (r.parent) ar.setParent(r.parent);
        ar.setDependenciesList(r.dependencies);
        return ar;
      }),
    );
    return diagnostics(await this.call<pb.AnalyzeResponse>("analyzeStack", req));
  }

  /** Closes the channel and kills the process (SIGKILL after 2 s); resolves once it has exited. */
  async close(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 2000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

function options(r: EngineResource): pb.AnalyzerResourceOptions {
  const o = new pb.AnalyzerResourceOptions();
  o.setProtect(r.protect);
  if (r.parent) o.setParent(r.parent);
  o.setCustomtimeouts(new pb.AnalyzerResourceOptions.CustomTimeouts());
  return o;
}

function provider(p: NonNullable<EngineResource["provider"]>): pb.AnalyzerProviderResource {
  const pr = new pb.AnalyzerProviderResource();
  pr.setUrn(p.urn);
  pr.setType(p.type);
  pr.setName(p.name);
  pr.setProperties(struct(p.properties));
  return pr;
}

function diagnostics(res: pb.AnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policyName: d.getPolicyname(),
    message: d.getMessage(),
    urn: d.getUrn(),
    enforcementLevel: LEVEL_NAMES[d.getEnforcementlevel()]!,
    severity: SEVERITY_NAMES[d.getSeverity()],
  }));
}

/** The pack's first stdout line is its port (`server.js` `serve`); fails with its stderr if it exits or times out. */
function readPort(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`the policy pack did not start: ${why}\nstderr:\n${stderr()}`));
    };
    const timer = setTimeout(() => fail(`no port on stdout within ${timeoutMs} ms`), timeoutMs);
    child.once("exit", (code, signal) => fail(`it exited (code ${code}, signal ${signal})`));
    child.once("error", (e) => fail(e.message));
    child.stdout!.on("data", (d) => {
      out += String(d);
      const line = /^(\d+)\r?\n/.exec(out);
      if (line) {
        clearTimeout(timer);
        resolve(Number(line[1]));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// pulumi/pulumi 1b59498 pkg/resource/analyzer/config.go, ported: the `--policy-pack-config` file, reconciled.

/** `parsePolicyPackConfig`: a string is a level; an object's `enforcementLevel` is taken out of its properties. */
export function parsePolicyPackConfigFile(path: string): Record<string, EnginePolicyConfig> {
  const text = readFileSync(path, "utf8");
  if (!text.trim()) return {};
  const doc = JSON.parse(text) as Record<string, unknown>;
  const out: Record<string, EnginePolicyConfig> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === "environments") continue;
    let level: Level | "" = "";
    let properties: Record<string, unknown> | undefined;
    if (typeof v === "string") level = checkLevel(k, v);
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      const { enforcementLevel, ...rest } = v as Record<string, unknown>;
      if (enforcementLevel !== undefined) level = checkLevel(k, enforcementLevel);
      if (Object.keys(rest).length > 0) properties = rest;
    } else throw new Error(`parsing "${k}": ${String(v)} is not a valid value; must be a string or object`);
    if (level === "" && !properties) continue;
    out[k] = { enforcementLevel: level, ...(properties && { properties }) };
  }
  return out;
}

function checkLevel(key: string, v: unknown): Level {
  if (typeof v !== "string" || !["advisory", "mandatory", "remediate", "disabled"].includes(v))
    throw new Error(
      `parsing enforcement level for "${key}": ${JSON.stringify(v)} is not a valid enforcement level`,
    );
  return v as Level;
}

/**
 * `ReconcilePolicyPackConfig` (no initial config: the pack passes none): schema defaults and each policy's level,
 * then `all`, then per-key config — including keys that name no policy, which the engine passes on and the pack
 * ignores. Schema validation: only `required` is checked (our schemas declare types the values already have).
 */
export function reconcilePolicyPackConfig(
  policies: PolicyInfo[],
  file: Record<string, EnginePolicyConfig>,
): Record<string, EnginePolicyConfig> {
  const result: Record<string, EnginePolicyConfig> = {};
  for (const p of policies) {
    const defaults = Object.entries(p.schema?.properties ?? {}).filter(([, s]) => "default" in s);
    result[p.name] = {
      enforcementLevel: p.enforcementLevel,
      ...(defaults.length > 0 && {
        properties: Object.fromEntries(defaults.map(([k, s]) => [k, s["default"]])),
      }),
    };
  }
  const all = file["all"];
  if (all?.enforcementLevel) {
    for (const k of Object.keys(result))
      result[k] = { ...result[k]!, enforcementLevel: all.enforcementLevel };
  }
  for (const [k, given] of Object.entries(file)) {
    const base = result[k] ?? { enforcementLevel: "" };
    const properties =
      given.properties || base.properties ? { ...base.properties, ...given.properties } : undefined;
    result[k] = {
      enforcementLevel: given.enforcementLevel || base.enforcementLevel,
      ...(properties && { properties }),
    };
  }
  for (const p of policies) {
    for (const req of p.schema?.required ?? []) {
      if (!(req in (result[p.name]?.properties ?? {})))
        throw new Error(`validating policy config: ${p.name}: ${req} is required`);
    }
  }
  return result;
}
