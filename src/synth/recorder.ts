/**
 * Runs a Pulumi program under the SDK's mock runtime and records every resource registration — the offline plan.
 *
 * The SDK's `MockResourceArgs` lack parent, protect, retainOnDelete, dependencies and the import id (pulumi/pulumi#14421), so we
 * wrap the mock monitor's `registerResource` and read them from the raw request. Secret values are masked as
 * `"[secret]"` at capture time: nothing downstream (tree, JSON, snapshots) can leak them.
 */
import * as pulumi from "@pulumi/pulumi";
import { deserializeProperties, specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { getMonitor } from "@pulumi/pulumi/runtime/settings";
import { isUnknown } from "@pulumi/pulumi/output";
import { mockOutputs } from "./mockOutputs";

export const SECRET_MASK = "[secret]";
/** The organization a file backend (`pulumi login --local`, `file://`) gives every stack. */
export const DEFAULT_ORGANIZATION = "organization";
export const UNKNOWN_MASK = "[unknown]";

export interface RecordedResource {
  type: string;
  name: string;
  urn: string;
  /** Logical name of the parent resource; null for children of the stack. */
  parent: string | null;
  custom: boolean;
  /** Logical name of the explicit provider, if any. */
  provider: string | null;
  /** Inputs as the engine would receive them, secrets masked. */
  inputs: Record<string, unknown>;
  protect: boolean;
  retainOnDelete: boolean;
  /** Logical names of the resources this one depends on (explicit `dependsOn` and input dependencies). */
  dependsOn: string[];
  /** The `import` resource option: the id of an existing resource to adopt instead of creating one. */
  import?: string;
}

export interface Recorder {
  resources: RecordedResource[];
  byType(type: string): RecordedResource[];
  byName(name: string): RecordedResource | undefined;
}

export interface RecorderOptions {
  project: string;
  stack: string;
  /** Preview mode: outputs not known before creation stay unknown, exactly as in `pulumi preview`. */
  preview?: boolean;
  /** What `pulumi.getOrganization()` returns. @default "organization" (the file backend's) */
  organization?: string;
  /** Outputs to report instead of the stand-ins, for tests of failure paths (a job that exits non-zero). */
  outputs?: (type: string, name: string) => Record<string, unknown> | undefined;
}

/**
 * Outputs a real provider marks secret (via additionalSecretOutputs, which the mock monitor ignores). The mock
 * returns them as secrets so the program sees what it would see on a real engine.
 */
const SECRET_OUTPUTS: Record<string, string[]> = {
  "random:index/randomPassword:RandomPassword": ["result", "bcryptHash"],
  "aws:iam/accessKey:AccessKey": ["secret", "sesSmtpPasswordV4"],
};

export async function installRecorder(opts: RecorderOptions): Promise<Recorder> {
  const resources: RecordedResource[] = [];
  const nameByUrn = new Map<string, string>();
  // The mock monitor deserializes each request's inputs once for `newResource`, synchronously inside its
  // `registerResource`; the recorder keeps that object instead of deserializing the same request a second time.
  // Its callback runs later, so the inputs are handed over through `seen`, filled as soon as the call returns.
  let mockInputs: Record<string, unknown> | undefined;
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        mockInputs = args.inputs;
        const computed = {
          ...mockOutputs(args.type, args.name, args.inputs),
          ...opts.outputs?.(args.type, args.name),
        };
        for (const key of SECRET_OUTPUTS[args.type] ?? []) {
          if (key in computed) computed[key] = pulumi.secret(computed[key]);
        }
        return { id: args.custom ? `${args.name}-id` : "", state: { ...args.inputs, ...computed } };
      },
      call: () => ({}),
    },
    opts.project,
    opts.stack,
    opts.preview ?? false,
    opts.organization ?? DEFAULT_ORGANIZATION,
  );

  const monitor = getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: (err: unknown, resp?: { getUrn(): string }) => void): void;
  };
  const original = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    mockInputs = undefined;
    const seen: { inputs?: Record<string, unknown> } = {};
    original(req, (err, resp) => {
      if (!err && resp) {
        const urn = resp.getUrn();
        nameByUrn.set(urn, req.getName());
        if (req.getType() !== "pulumi:pulumi:Stack")
          resources.push(capture(req, urn, nameByUrn, seen.inputs));
      }
      callback(err, resp);
    });
    seen.inputs = mockInputs;
    mockInputs = undefined;
  };

  return {
    resources,
    byType: (type) => resources.filter((r) => r.type === type),
    byName: (name) => resources.find((r) => r.name === name),
  };
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getObject(): Parameters<typeof deserializeProperties>[0];
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDependenciesList(): string[];
  getImportid(): string;
}

/**
 * @param inputs the request's inputs as the mock monitor deserialized them; deserialized here when absent (an SDK
 *   whose monitor does not call `newResource` synchronously)
 */
function capture(
  req: RegisterRequest,
  urn: string,
  nameByUrn: Map<string, string>,
  inputs: Record<string, unknown> = deserializeProperties(req.getObject()),
): RecordedResource {
  const parentUrn = req.getParent();
  const parentName = parentUrn ? nameByUrn.get(parentUrn) : undefined;
  const providerRef = req.getProvider();
  const importId = req.getImportid();
  return {
    type: req.getType(),
    name: req.getName(),
    urn,
    parent: parentName && !parentUrn.includes("::pulumi:pulumi:Stack::") ? parentName : null,
    custom: req.getCustom(),
    provider: providerRef ? (nameByUrn.get(providerRef.split("::").slice(0, -1).join("::")) ?? null) : null,
    inputs: mask(inputs) as Record<string, unknown>,
    protect: req.getProtect() ?? false,
    retainOnDelete: req.getRetainondelete() ?? false,
    dependsOn: [...new Set(req.getDependenciesList().map((u) => nameByUrn.get(u) ?? u))].sort(),
    ...(importId && { import: importId }),
  };
}

/** Replaces secrets with "[secret]" and preview unknowns with "[unknown]", recursively. */
export function mask(value: unknown): unknown {
  if (isUnknown(value)) return UNKNOWN_MASK;
  if (Array.isArray(value)) return value.map(mask);
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[specialSigKey] === specialSecretSig) return SECRET_MASK;
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return "[asset]";
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj)) out[k] = mask(obj[k]);
    return out;
  }
  return value;
}

/** Waits until every registration the program started has reached the recorder. */
export async function settle(): Promise<void> {
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}
