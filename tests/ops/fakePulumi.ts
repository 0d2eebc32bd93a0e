/**
 * An in-process fake Pulumi CLI for the Automation API (the CLI the Automation API's LocalWorkspace spawns, @pulumi/pulumi `automation/localWorkspace.ts`): it
 * records every argv and replays recorded-shape JSON from tests/fixtures/ops. Its version is 3.205.0 so the SDK
 * hands it an event-log FILE (`--event-log <path>`), into which it writes the fixture's NDJSON engine events.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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

export const FIXTURES = join(__dirname, "..", "fixtures", "ops");
export const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

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
  /** NDJSON written to the event log by `preview` and `up`. */
  events?: string;
}

export function fakePulumi(opts: FakePulumiOptions): { command: PulumiCommand; calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const fail = (stderr: string, code = 255) => {
    throw createCommandError(new CommandResult("", stderr, code));
  };
  const command = {
    command: "pulumi",
    version: semver.parse("3.205.0"),
    run: async (args: string[], cwd: string, env: Record<string, string>) => {
      calls.push({ args, cwd, env });
      const stackFlag = args.indexOf("--stack");
      const stack = stackFlag >= 0 ? args[stackFlag + 1]! : undefined;
      if (stack !== undefined && !opts.stacks.includes(stack))
        fail(`error: no stack named '${stack}' found\n`);
      const eventLog = args.indexOf("--event-log");
      if (eventLog >= 0) writeFileSync(args[eventLog + 1]!, opts.events ?? "");
      let stdout = "";
      if (args[0] === "stack" && args[1] === "history") {
        const all = JSON.parse(opts.history ?? "[]") as unknown[];
        const size = args.indexOf("--page-size");
        stdout = JSON.stringify(size >= 0 ? all.slice(0, Number(args[size + 1])) : all.slice(0, 10));
      } else if (args[0] === "stack" && args[1] === "output") {
        stdout = "{}";
      }
      return new CommandResult(stdout, "", 0);
    },
  };
  return { command: command as unknown as PulumiCommand, calls };
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
  }[];
}

const policyOf = (req: { policyPacks?: string[]; policyPackConfigs?: string[] }) => ({
  ...(req.policyPacks && { policyPacks: req.policyPacks }),
  ...(req.policyPackConfigs && { policyPackConfigs: req.policyPackConfigs }),
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
