/**
 * An in-process fake Pulumi CLI for the Automation API (the CLI the Automation API's LocalWorkspace spawns,
 * @pulumi/pulumi `automation/localWorkspace.ts`): it records every argv and replays recorded-shape JSON from
 * tests/fixtures/ops.
 *
 * Engine events reach the SDK the way the CLI's version makes the SDK ask for them (`Stack.setupEventLog` in
 * @pulumi/pulumi 3.248.0 `automation/stack.ts`): a CLI newer than 3.205.0 is given `--event-log tcp://<addr>` and
 * streams each event as JSON over the SDK's gRPC `Events.StreamEvents` (proto/pulumi/events.proto), closing the
 * stream before it exits (pulumi/pulumi `pkg/backend/display/display.go`, `startEventLogger`); an older one is
 * given a file path and writes NDJSON there. By default the fake is the CLI matching the SDK installed.
 *
 * Update plans (pulumi/pulumi `pkg/cmd/pulumi/operations/preview.go` `--save-plan`, `up.go` `--plan`, which works
 * without PULUMI_EXPERIMENTAL, only hidden from --help): `preview --save-plan <file>` writes the steps each resource
 * is planned for (apitype.DeploymentPlanV1, `resourcePlans.<urn>.steps`); `up --plan <file>` checks every step the
 * update takes against them as `pkg/resource/deploy/step_generator.go` does (`ConstrainedTo` in step.go) and fails
 * with the engine's message, e.g. `error: replace is not allowed by the plan: this resource is constrained to
 * update` (the engine's own test output: `pkg/engine/lifecycletest/testdata/output/TestUnplannedCreate`).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as semver from "semver";
import type { PulumiCommand } from "@pulumi/pulumi/automation";
import { parseEngineEvents, type EngineEvent } from "../../src/ops/review";
import type { StackOps, UpdateSummary } from "../../src/ops/stackOps";
import type { CliDeps } from "../../src/ops/cli";
import type { Runner } from "../../src/ops/rollback";

// Internal to the SDK but exported in its JS: the real CLI runner throws exactly these on a non-zero exit.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createCommandError } = require("@pulumi/pulumi/automation/errors");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { CommandResult } = require("@pulumi/pulumi/automation/cmd");
// The SDK's own generated client for the events service, and the grpc-js copy it is built on.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { EventsClient } = require("@pulumi/pulumi/proto/events_grpc_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { EventRequest } = require("@pulumi/pulumi/proto/events_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const grpc = require(
  require.resolve("@grpc/grpc-js", { paths: [dirname(require.resolve("@pulumi/pulumi"))] }),
);

export const FIXTURES = join(__dirname, "..", "fixtures", "ops");
export const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

/** The CLI release matching the installed SDK (Pulumi's advice: keep them in step). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CURRENT_CLI: string = require("@pulumi/pulumi/package.json").version;
/** The newest CLI the SDK still hands an event-log file (`semver.gt(ver, "3.205.0")` picks gRPC). */
export const FILE_EVENT_LOG_CLI = "3.205.0";

export interface FakeCall {
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export interface FakePulumiOptions {
  /** Stacks that exist; selecting any other fails like the real CLI ("no stack named … found"). */
  stacks: string[];
  /** `stack history --json` output. */
  history?: string;
  /** NDJSON the engine emits for `preview` (and for `up`, unless `upEvents` is given). */
  events?: string;
  /** NDJSON of the steps `up` takes, when they differ from the preview's (the program or the world changed). */
  upEvents?: string;
  /** The version the fake reports; default CURRENT_CLI. */
  version?: string;
}

/** How the fake's engine events were delivered, per command: over gRPC or into a file. */
export type EventTransport = "grpc" | "file";

export function fakePulumi(opts: FakePulumiOptions): {
  command: PulumiCommand;
  calls: FakeCall[];
  transports: EventTransport[];
} {
  const calls: FakeCall[] = [];
  const transports: EventTransport[] = [];
  const fail = (stderr: string, code = 255) => {
    throw createCommandError(new CommandResult("", stderr, code));
  };
  const command = {
    command: "pulumi",
    version: semver.parse(opts.version ?? CURRENT_CLI),
    run: async (args: string[], cwd: string, env: Record<string, string>) => {
      calls.push({ args, cwd, env });
      const flag = (name: string) => {
        const i = args.indexOf(name);
        return i >= 0 ? args[i + 1] : undefined;
      };
      const stack = flag("--stack");
      if (stack !== undefined && !opts.stacks.includes(stack))
        fail(`error: no stack named '${stack}' found\n`);
      let events = parseEngineEvents(
        (args[0] === "up" ? opts.upEvents : undefined) ?? opts.events ?? "",
      ).events;
      let violation: { urn: string; message: string } | undefined;
      const savePlan = flag("--save-plan");
      if (args[0] === "preview" && savePlan) writeFileSync(savePlan, JSON.stringify(planOf(events), null, 4));
      const plan = flag("--plan");
      if (args[0] === "up" && plan) {
        violation = planViolation(JSON.parse(readFileSync(plan, "utf8")) as DeploymentPlan, events);
        // The engine stops at the violating step: an error diagnostic, a failed summary (TestUnplannedCreate).
        if (violation) events = failedAt(events, violation);
      }
      const eventLog = flag("--event-log");
      if (eventLog) {
        transports.push(eventLog.startsWith("tcp://") ? "grpc" : "file");
        if (eventLog.startsWith("tcp://")) await streamEvents(eventLog.slice("tcp://".length), events);
        else writeFileSync(eventLog, events.map((e) => `${JSON.stringify(e)}\n`).join(""));
      }
      if (violation) fail(`error: ${violation.message}\n`);
      let stdout = "";
      if (args[0] === "stack" && args[1] === "history") {
        const all = JSON.parse(opts.history ?? "[]") as unknown[];
        const size = flag("--page-size");
        stdout = JSON.stringify(size !== undefined ? all.slice(0, Number(size)) : all.slice(0, 10));
      } else if (args[0] === "stack" && args[1] === "output") {
        stdout = "{}";
      }
      return new CommandResult(stdout, "", 0);
    },
  };
  return { command: command as unknown as PulumiCommand, calls, transports };
}

/** The CLI's side of `Events.StreamEvents`: one JSON event per request (json.Encoder: newline-terminated). */
async function streamEvents(address: string, events: EngineEvent[]): Promise<void> {
  const client = new EventsClient(address, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) => {
      const call = client.streamEvents((err: Error | null) => (err ? reject(err) : resolve()));
      for (const e of events) {
        const request = new EventRequest();
        request.setEvent(`${JSON.stringify(e)}\n`);
        call.write(request);
      }
      // CloseAndRecv: the SDK's server answers once it has read every event, before the CLI exits.
      call.end();
    });
  } finally {
    client.close();
  }
}

interface DeploymentPlan {
  manifest: { time: string; magic: string; version: string };
  resourcePlans: Record<
    string,
    { goal?: { type: string; name: string; custom: boolean }; steps: string[]; state: object }
  >;
}

const stepsOf = (events: EngineEvent[]) =>
  events.flatMap((e) => (e.resourcePreEvent ? [e.resourcePreEvent.metadata] : []));

/** apitype.DeploymentPlanV1 with each resource's planned steps, in the order the engine generated them. */
function planOf(events: EngineEvent[]): DeploymentPlan {
  const resourcePlans: DeploymentPlan["resourcePlans"] = {};
  for (const step of stepsOf(events)) {
    const name = step.urn.split("::").pop()!;
    resourcePlans[step.urn] ??= { goal: { type: step.type, name, custom: true }, steps: [], state: {} };
    resourcePlans[step.urn]!.steps.push(step.op);
  }
  return {
    manifest: { time: new Date(0).toISOString(), magic: "", version: `v${CURRENT_CLI}` },
    resourcePlans,
  };
}

/** pulumi/pulumi `pkg/resource/deploy/step.go` `ConstrainedTo`: which op a planned op allows. */
function constrainedTo(op: string, constraint: string): boolean {
  if (constraint === "create" || constraint === "update") return [constraint, "same"].includes(op);
  if (["replace", "create-replacement", "delete-replaced"].includes(constraint))
    return [constraint, "same", "update"].includes(op);
  return op === constraint;
}

/** The first step the plan does not allow, with the engine's message (step_generator.go), or undefined. */
function planViolation(
  plan: DeploymentPlan,
  events: EngineEvent[],
): { urn: string; message: string } | undefined {
  const remaining = new Map(Object.entries(plan.resourcePlans ?? {}).map(([urn, p]) => [urn, [...p.steps]]));
  for (const step of stepsOf(events)) {
    const planned = remaining.get(step.urn);
    const refuse = (why: string) => ({
      urn: step.urn,
      message: `${step.op} is not allowed by the plan: ${why}`,
    });
    if (!planned) {
      if (!constrainedTo(step.op, "same")) return refuse("no steps were expected for this resource");
      continue;
    }
    const constraint = planned.shift();
    if (constraint === undefined) return refuse("no more steps were expected for this resource");
    if (!constrainedTo(step.op, constraint)) return refuse(`this resource is constrained to ${constraint}`);
  }
  return undefined;
}

/** What the engine emits when a step violates the plan: its error diagnostic and a failed summary. */
function failedAt(events: EngineEvent[], violation: { urn: string; message: string }): EngineEvent[] {
  return [
    ...events.filter((e) => e.preludeEvent),
    {
      diagnosticEvent: {
        urn: violation.urn,
        message: `${violation.message}\n`,
        severity: "error",
      },
    },
    { summaryEvent: { resourceChanges: {}, result: "failed", durationSeconds: 1, PolicyPacks: {} } },
  ];
}

// ---------------------------------------------------------------------------------------------------------
// In-memory StackOps (for everything above the adapter)

/** History JSON as the Automation API returns it: start/end times revived to Dates. */
export const historyFixture = (name: string): UpdateSummary[] =>
  JSON.parse(fixture(name), (key, value) =>
    key === "startTime" || key === "endTime" ? new Date(value) : value,
  );

export const eventsFixture = (name: string): EngineEvent[] => parseEngineEvents(fixture(name)).events;

export interface MemoryStackOps extends StackOps {
  calls: {
    op: "history" | "preview" | "up";
    stack: string;
    workDir?: string;
    message?: string;
    policyPacks?: string[];
    policyPackConfigs?: string[];
    plan?: string;
  }[];
}

const policyOf = (req: { policyPacks?: string[]; policyPackConfigs?: string[]; plan?: string }) => ({
  ...(req.policyPacks && { policyPacks: req.policyPacks }),
  ...(req.policyPackConfigs && { policyPackConfigs: req.policyPackConfigs }),
  ...(req.plan && { plan: req.plan }),
});

/** A StackOps that answers from fixtures; `workDir` labels the calls so tests can tell which checkout ran them. */
export function memoryStackOps(
  opts: { history?: UpdateSummary[]; events?: EngineEvent[] },
  workDir?: string,
  calls: MemoryStackOps["calls"] = [],
): MemoryStackOps {
  return {
    calls,
    async history(stack) {
      calls.push({ op: "history", stack, workDir });
      return opts.history ?? [];
    },
    async preview(stack, req = {}) {
      calls.push({ op: "preview", stack, workDir, ...policyOf(req) });
      for (const e of opts.events ?? []) req.onEvent?.(e);
      const summary = (opts.events ?? []).find((e) => e.summaryEvent)?.summaryEvent?.resourceChanges ?? {};
      return { changeSummary: summary };
    },
    async up(stack, req) {
      calls.push({ op: "up", stack, workDir, message: req.message, ...policyOf(req) });
      return { summary: (opts.history ?? [])[0]! };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// The stackport command with everything injected

export interface CliWorld {
  deps: CliDeps;
  out: string[];
  err: string[];
  stdout(): string;
  stderr(): string;
}

export function cliWorld(overrides: Partial<CliDeps> = {}): CliWorld {
  const out: string[] = [];
  const err: string[] = [];
  const refuse: Runner = async (args) => ({ code: 1, stdout: "", stderr: `not expected: ${args.join(" ")}` });
  return {
    out,
    err,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    deps: {
      root: join(__dirname, "..", ".."),
      stdout: (t) => void out.push(t),
      stderr: (t) => void err.push(t),
      interactive: false,
      stackOps: () => memoryStackOps({}),
      git: refuse,
      npm: refuse,
      node: refuse,
      worktreePath: () => "/nonexistent/worktree",
      headPlan: async () => {
        throw new Error("headPlan not expected");
      },
      ...overrides,
    },
  };
}
