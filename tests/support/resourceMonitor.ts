/**
 * A recording Pulumi engine for running a program under `@pulumi/pulumi`'s own runner (`cmd/run`): one gRPC server
 * that serves the ResourceMonitor and Engine services the runner dials (`--monitor`, `--engine`), records every
 * registration and log message, and answers the way the engine does for a stack with no prior state.
 *
 * What it reproduces, from pulumi/pulumi (the snapshot fetched for this repo, sdk/nodejs 3.260):
 * - `pkg/resource/deploy/source_eval.go` `supportsFeatureID`: the features a current engine reports (so the SDK
 *   sends secrets as secret sig values and resource references, as it would to a real CLI);
 * - URNs `urn:pulumi:<stack>::<project>::<parent type chain>$<type>::<name>`, the root stack left out of the chain;
 * - a create in preview returns the inputs and no id (outputs only the provider knows stay unknown, so `apply`
 *   bodies on them do not run); a provider's id in preview is the unknown sentinel; an update returns the inputs
 *   plus the stand-in outputs synth uses (`src/synth/mockOutputs.ts`), ids `<name>-id`;
 * - `SignalAndWaitForShutdown` answers at once (no resource hooks to run).
 */
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { mockOutputs } from "../../src/synth/mockOutputs";

/* eslint-disable @typescript-eslint/no-require-imports -- generated CommonJS stubs without usable typings */
const resproto = require("@pulumi/pulumi/proto/resource_pb");
const resrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
const engproto = require("@pulumi/pulumi/proto/engine_pb");
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

/** The SDK's sentinel for a value not known during preview (`runtime/rpc.js` `unknownValue`). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** The property that marks a special value and the signature of a secret (`runtime/rpc.js`). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

const FEATURES = new Set([
  "secrets",
  "resourceReferences",
  "outputValues",
  "aliasSpecs",
  "deletedWith",
  "replaceWith",
  "transforms",
  "invokeTransforms",
  "parameterization",
  "resourceHooks",
  "errorHooks",
]);

export interface Registration {
  type: string;
  name: string;
  urn: string;
  /** Logical name of the parent; null for children of the root stack (and the stack itself). */
  parent: string | null;
  custom: boolean;
  /** The inputs exactly as the program sent them (secrets as `{[SIG_KEY]: SECRET_SIG, value}`). */
  inputs: Record<string, unknown>;
  /** Milliseconds since the current run began. */
  at: number;
}

export interface LogEntry {
  /** `DEBUG` | `INFO` | `WARNING` | `ERROR` (`proto/engine.proto` LogSeverity). */
  severity: string;
  message: string;
  /** Milliseconds since the current run began. */
  at: number;
}

/** One program run's worth of records; `begin` starts a new one. */
export interface Run {
  project: string;
  stack: string;
  preview: boolean;
  registrations: Registration[];
  logs: LogEntry[];
  /** Outputs registered per URN (`RegisterResourceOutputs`: components' and the stack's), as sent. */
  outputs: Map<string, Record<string, unknown>>;
  rootUrn?: string;
  started: number;
}

export interface RecordingEngine {
  /** `127.0.0.1:<port>`, for both `--monitor` and `--engine`. */
  address: string;
  /** Starts recording a new run (the runner is started next). */
  begin(project: string, stack: string, preview: boolean): Run;
  stop(): Promise<void>;
}

const SEVERITY: Record<number, string> = { 0: "DEBUG", 1: "INFO", 2: "WARNING", 3: "ERROR" };

type Unary = (call: { request: any }, callback: grpc.sendUnaryData<unknown>) => void; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function startRecordingEngine(): Promise<RecordingEngine> {
  let run: Run | undefined;
  const current = (): Run => {
    if (!run) throw new Error("recording engine: a program called before begin()");
    return run;
  };
  const typeChain = new Map<string, string>();
  const nameByUrn = new Map<string, string>();

  const registerResource: Unary = ({ request: req }, cb) => {
    const r = current();
    const type: string = req.getType();
    const name: string = req.getName();
    const parentUrn: string = req.getParent();
    const parentChain = parentUrn ? typeChain.get(parentUrn) : undefined;
    const chain = parentChain && parentChain !== "pulumi:pulumi:Stack" ? `${parentChain}$${type}` : type;
    const urn = `urn:pulumi:${r.stack}::${r.project}::${chain}::${name}`;
    typeChain.set(urn, chain);
    nameByUrn.set(urn, name);
    const inputs = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
    r.registrations.push({
      type,
      name,
      urn,
      parent: parentChain && parentChain !== "pulumi:pulumi:Stack" ? nameByUrn.get(parentUrn)! : null,
      custom: req.getCustom(),
      inputs,
      at: Date.now() - r.started,
    });
    const resp = new resproto.RegisterResourceResponse();
    resp.setUrn(urn);
    const isProvider = type.startsWith("pulumi:providers:");
    if (req.getCustom()) resp.setId(r.preview ? (isProvider ? UNKNOWN : "") : `${name}-id`);
    const outputs: Record<string, unknown> =
      r.preview || !req.getCustom() ? {} : mockOutputs(type, name, plain(inputs));
    // The engine returns the outputs a resource declares secret (`additionalSecretOutputs`) as secrets.
    for (const key of req.getAdditionalsecretoutputsList() as string[])
      if (key in outputs) outputs[key] = { [SIG_KEY]: SECRET_SIG, value: outputs[key] };
    resp.setObject(Struct.fromJavaScript({ ...inputs, ...outputs } as never));
    cb(null, resp);
  };

  const monitor = {
    supportsFeature: (({ request }, cb) => {
      const resp = new resproto.SupportsFeatureResponse();
      resp.setHassupport(FEATURES.has(request.getId()));
      cb(null, resp);
    }) as Unary,
    registerResource,
    registerResourceOutputs: (({ request }, cb) => {
      current().outputs.set(request.getUrn(), request.getOutputs()?.toJavaScript() ?? {});
      cb(null, new Empty());
    }) as Unary,
    invoke: ((_call, cb) => {
      const resp = new resproto.InvokeResponse();
      resp.setReturn(Struct.fromJavaScript({}));
      cb(null, resp);
    }) as Unary,
    signalAndWaitForShutdown: ((_call, cb) => cb(null, new Empty())) as Unary,
  };
  const engine = {
    log: (({ request }, cb) => {
      const r = current();
      r.logs.push({
        severity: SEVERITY[request.getSeverity()] ?? String(request.getSeverity()),
        message: request.getMessage(),
        at: Date.now() - r.started,
      });
      cb(null, new Empty());
    }) as Unary,
    setRootResource: (({ request }, cb) => {
      current().rootUrn = request.getUrn();
      cb(null, new engproto.SetRootResourceResponse());
    }) as Unary,
    getRootResource: ((_call, cb) => {
      const resp = new engproto.GetRootResourceResponse();
      resp.setUrn(current().rootUrn ?? "");
      cb(null, resp);
    }) as Unary,
  };

  const server = new grpc.Server();
  // Unimplemented methods (Call, ReadResource, RegisterPackage, ...) answer UNIMPLEMENTED: the program uses none.
  server.addService(resrpc.ResourceMonitorService, monitor);
  server.addService(engrpc.EngineService, engine);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    begin(project, stack, preview) {
      typeChain.clear();
      nameByUrn.clear();
      run = { project, stack, preview, registrations: [], logs: [], outputs: new Map(), started: Date.now() };
      return run;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Connections a killed runner left open must not keep the test waiting.
        setTimeout(() => server.forceShutdown(), 2000).unref();
      }),
  };
}

/** Inputs with secrets unwrapped and unknowns kept, for computing stand-in outputs. */
function plain(value: unknown): Record<string, unknown> {
  const unwrap = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(unwrap);
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (o[SIG_KEY] === SECRET_SIG) return unwrap(o["value"]);
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
    }
    return v;
  };
  return unwrap(value) as Record<string, unknown>;
}
