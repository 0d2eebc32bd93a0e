/**
 * The built program under Pulumi's real Node.js runner (`@pulumi/pulumi/cmd/run`, launched as the language host
 * launches it, tests/support/runner.ts) against a recording engine (tests/support/resourceMonitor.ts): what the
 * engine would be asked to register must be exactly synth's offline plan, for every shipped stack and example, in
 * preview and update; a config error must reach the engine at once; a `secure:` value must stay a secret.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { listExampleStackFiles, listStacks, readStackFile } from "../../src/synth/stackFile";
import {
  type RecordingEngine,
  type Run,
  SECRET_SIG,
  SIG_KEY,
  startRecordingEngine,
} from "../support/resourceMonitor";
import { type RunnerOptions, killRunners, runProgram, supportedNodes } from "../support/runner";
import { ROOT } from "../harness";

const MAIN = (parse(readFileSync(join(ROOT, "Pulumi.yaml"), "utf8")) as { main: string }).main;
const STACKS = [...listStacks(ROOT), ...listExampleStackFiles(ROOT)];
/** The runner must finish a whole stack well inside this; a hang fails the test instead of stalling the suite. */
const RUN_TIMEOUT = 45_000;
// Above RUN_TIMEOUT (a runner is killed, and the test fails, before jest gives up) plus two synth runs.
jest.setTimeout(120_000);

interface PlanResource {
  type: string;
  name: string;
  parent: string | null;
  inputs: Record<string, unknown>;
}

let engine: RecordingEngine;

beforeAll(async () => {
  if (!existsSync(join(ROOT, MAIN)))
    throw new Error(`${MAIN} (Pulumi.yaml's main) is not built: run 'npm run build' first`);
  engine = await startRecordingEngine();
});
afterEach(killRunners);
afterAll(async () => {
  killRunners();
  await engine?.stop();
});

/** Runs the program for a stack file's config through the runner and returns what the engine recorded. */
async function runStack(
  stackOrPath: string,
  preview: boolean,
  opts: Partial<
    Pick<RunnerOptions, "config" | "secretKeys" | "organization" | "nodeArgs" | "nodeBinary">
  > = {},
) {
  const file = readStackFile(ROOT, stackOrPath);
  const run = engine.begin(file.project, file.stack, preview);
  const result = await runProgram({
    root: ROOT,
    main: MAIN,
    monitor: engine.address,
    organization: "organization",
    project: file.project,
    stack: file.stack,
    preview,
    config: file.config,
    secretKeys: file.secretKeys,
    timeoutMs: RUN_TIMEOUT,
    ...opts,
  });
  return { run, result };
}

/** `npm run synth -- <stack> --json`, run as the user runs it. */
function synthPlan(stackOrPath: string, extra: string[] = []): PlanResource[] {
  let out: string;
  try {
    out = execFileSync(
      process.execPath,
      [join(ROOT, "bin/src/synth/cli.js"), stackOrPath, "--json", ...extra],
      {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 64 << 20,
        timeout: RUN_TIMEOUT,
      },
    );
  } catch (e) {
    // Exit 1 is a mandatory policy violation: the plan is still printed.
    const err = e as { status?: number; stdout?: string };
    if (err.status !== 1 || !err.stdout) throw e;
    out = err.stdout;
  }
  return (JSON.parse(out) as { resources: PlanResource[] }).resources;
}

const key = (r: PlanResource) => `${r.type}::${r.name} <- ${r.parent ?? "(stack)"}`;
const registered = (run: Run) =>
  run.registrations
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map(key)
    .sort();

describe.each(STACKS)("stack %s under the real runner", (stack) => {
  let plan: string[];
  beforeAll(() => {
    plan = synthPlan(stack).map(key).sort();
  });

  it.each([true, false])("registers exactly synth's plan (preview=%s)", async (preview) => {
    const { run, result } = await runStack(stack, preview);
    expect({
      code: result.code,
      timedOut: result.timedOut,
      errors: run.logs.filter((l) => l.severity === "ERROR"),
    }).toEqual({ code: 0, timedOut: false, errors: [] });
    expect(plan.length).toBeGreaterThan(10);
    expect(registered(run)).toEqual(plan);
    // The root stack, exactly once, named as the engine names it.
    expect(run.registrations.filter((r) => r.type === "pulumi:pulumi:Stack").map((r) => r.name)).toEqual([
      `stackport-${run.stack}`,
    ]);
  });
});

// On every Node major package.json supports: the runner's slow error formatting depends on Node's util.inspect.
describe.each(supportedNodes(ROOT))("errors under the real runner on Node $major", ({ major, binary }) => {
  it("runs that Node major", () => {
    expect(execFileSync(binary, ["--version"], { encoding: "utf8" })).toMatch(new RegExp(`^v${major}\\.`));
  });

  it("a config error reaches the engine within 5 s, as one readable message, and fails the run", async () => {
    const file = readStackFile(ROOT, "local");
    const config = { ...file.config, "stackport:database": JSON.stringify({ on: "nas" }) };
    const { run, result } = await runStack("local", true, { config, nodeBinary: binary });
    const errors = run.logs.filter((l) => l.severity === "ERROR");
    expect(errors.map((l) => l.message)).toEqual([
      expect.stringContaining("stackport:database.on: unknown target 'nas'"),
    ]);
    expect(errors[0]!.message).not.toMatch(/\n\s+at /); // no stack trace
    // Timed from the root stack's registration, which the runner makes just before it loads the program: the SDK's
    // start-up before that is not the program's to shorten, and varies with the machine's load. (Not from the
    // runner's "Running program" debug log: log messages queue behind a blocked event loop just like the error.)
    const stackRegistered = run.registrations.find((r) => r.type === "pulumi:pulumi:Stack");
    expect(stackRegistered).toBeDefined();
    expect(errors[0]!.at - stackRegistered!.at).toBeLessThan(5000);
    expect(result.timedOut).toBe(false);
    // 32: "the program already told the user", so the language host adds no message of its own.
    expect(result.code).toBe(32);
    expect(run.registrations.filter((r) => r.type !== "pulumi:pulumi:Stack")).toEqual([]);
  });

  it("any other error too: at once, with its message and where it was thrown", async () => {
    // A dependency that fails inside the SDK while the program builds resources (a bug, not bad input: it asks for
    // the organization a CLI did not pass), loaded with `nodeargs`. An error thrown from the SDK's own source-mapped
    // frames is the one the runner's util.inspect loops on.
    const dir = mkdtempSync(join(tmpdir(), "stackport-runner-"));
    try {
      const preload = join(dir, "throwing-random.js");
      writeFileSync(
        preload,
        // Patched when the program first loads it: loading the SDK before the runner has read its arguments
        // would leave it without an engine to log to.
        `const Module = require("node:module");
const load = Module.prototype.require;
Module.prototype.require = function (id) {
  const loaded = load.apply(this, arguments);
  if (id === "@pulumi/random") Object.defineProperty(loaded, "RandomPassword", { configurable: true, get: () => class {
    constructor() { require(${JSON.stringify(require.resolve("@pulumi/pulumi", { paths: [ROOT] }))}).getOrganization(); } } });
  return loaded;
};
`,
      );
      const { run, result } = await runStack("local", true, {
        nodeArgs: ["--require", preload],
        organization: undefined,
        nodeBinary: binary,
      });
      const errors = run.logs.filter((l) => l.severity === "ERROR");
      expect(errors.map((l) => l.message)).toEqual([
        expect.stringContaining("Error: Missing organization name"),
      ]);
      expect(errors[0]!.message).toMatch(/\n\s+at new Docker\w+ \(/); // the stack, for the bug report
      const stackRegistered = run.registrations.find((r) => r.type === "pulumi:pulumi:Stack");
      expect(errors[0]!.at - stackRegistered!.at).toBeLessThan(5000);
      expect(result.code).toBe(32);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("stack secrets under the real runner", () => {
  // What `pulumi config set --secret --path stackport:ingestion.services.api.environment.UPSTREAM_URL …` gives the
  // program: the engine marks the whole key secret and passes its value decrypted.
  const SECRET = "s3cr3t-9f2c7e41";
  const secretConfig = () => {
    const file = readStackFile(ROOT, "local");
    const ingestion = JSON.parse(file.config["stackport:ingestion"]!) as {
      services: Record<string, { environment?: Record<string, string> }>;
    };
    ingestion.services["api"]!.environment = {
      UPSTREAM_URL: `https://feed:${SECRET}@upstream.example.org/v1`,
    };
    return { ...file.config, "stackport:ingestion": JSON.stringify(ingestion) };
  };

  /** Plain strings in a value as the engine received it, and the values of its secrets. */
  function split(value: unknown, plainOut: string[], secretOut: unknown[]): void {
    if (typeof value === "string") plainOut.push(value);
    else if (Array.isArray(value)) value.forEach((v) => split(v, plainOut, secretOut));
    else if (value && typeof value === "object") {
      const o = value as Record<string, unknown>;
      if (o[SIG_KEY] === SECRET_SIG) secretOut.push(o["value"]);
      else Object.values(o).forEach((v) => split(v, plainOut, secretOut));
    }
  }

  it.each([false, true])(
    "a value from a secret key reaches resources only as a secret (preview=%s)",
    async (preview) => {
      const { run, result } = await runStack("local", preview, {
        config: secretConfig(),
        secretKeys: ["stackport:ingestion"],
      });
      expect(result.code).toBe(0);
      const plainStrings: string[] = [];
      const secrets: unknown[] = [];
      for (const r of run.registrations) split(r.inputs, plainStrings, secrets);
      for (const o of run.outputs.values()) split(o, plainStrings, secrets);
      expect(plainStrings.filter((v) => v.includes(SECRET))).toEqual([]);
      // Not vacuous: the value did reach the api's container, inside a secret.
      expect(JSON.stringify(secrets)).toContain(SECRET);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    },
  );

  it("offline, synth shows a nested secure: value as [secret] wherever it flows", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackport-secret-"));
    try {
      const stackFile = join(dir, "Pulumi.secret-local.yaml");
      const local = readFileSync(join(ROOT, "Pulumi.local.yaml"), "utf8");
      const withSecret = local.replace(
        /^( {6}api:\n)/m,
        "$1        environment:\n          UPSTREAM_URL:\n            secure: v1:AAAAAAAAAAAAAAAA\n",
      );
      expect(withSecret).not.toBe(local);
      writeFileSync(stackFile, withSecret);
      const plan = synthPlan(stackFile);
      const api = plan.find(
        (r) => r.type === "docker:index/container:Container" && r.name === "ingestion-api-1",
      );
      expect(api?.inputs["envs"]).toContain("[secret]");
      expect(JSON.stringify(plan)).not.toContain("offline-secret-placeholder");
      expect(JSON.stringify(plan)).not.toContain("v1:AAAA");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("application secrets (stackport:secrets and a generated one) reach their services only as secrets", async () => {
    // Pulumi.staging.yaml maps the stack secret emqx-dashboard-password and the generated mqtt-jwt-key (shared by
    // mqtt and telemetry); the engine hands the program the stack secret decrypted, the key whole as a secret.
    const APP_SECRET = "emqx-dash-5e1f0a77";
    const file = readStackFile(ROOT, "staging");
    expect(file.secretKeys).toContain("stackport:secrets");
    const config = {
      ...file.config,
      "stackport:secrets": JSON.stringify({ "emqx-dashboard-password": APP_SECRET }),
    };
    const { run, result } = await runStack("staging", false, { config });
    expect(result.code).toBe(0);
    // The recording engine's stand-in value of a generated password (src/synth/mockOutputs.ts).
    const GENERATED = "mock-password-ingestion-secret-mqtt-jwt-key";
    const plainStrings: string[] = [];
    const secrets: unknown[] = [];
    for (const r of run.registrations) split(r.inputs, plainStrings, secrets);
    for (const o of run.outputs.values()) split(o, plainStrings, secrets);
    for (const value of [APP_SECRET, GENERATED]) {
      expect(plainStrings.filter((v) => v.includes(value))).toEqual([]);
      expect(result.stdout + result.stderr).not.toContain(value);
    }
    // Not vacuous: both reached containers, inside secrets (their envs).
    const envs = JSON.stringify(secrets);
    expect(envs).toContain(`EMQX_DASHBOARD__DEFAULT_PASSWORD=${APP_SECRET}`);
    expect(envs.split(`MQTT_JWT_KEY=${GENERATED}`).length - 1).toBeGreaterThanOrEqual(2);
  });

  it("without a secret key, the same value is plain (the check above can see it)", async () => {
    const { run, result } = await runStack("local", false, { config: secretConfig(), secretKeys: [] });
    expect(result.code).toBe(0);
    const plainStrings: string[] = [];
    for (const r of run.registrations) split(r.inputs, plainStrings, []);
    expect(plainStrings.some((v) => v.includes(SECRET))).toBe(true);
  });
});

describe("organization", () => {
  const BUCKET = "aws:s3/bucket:Bucket";
  const bucketNames = (resources: { type: string; name: string; inputs: Record<string, unknown> }[]) =>
    Object.fromEntries(resources.filter((r) => r.type === BUCKET).map((r) => [r.name, r.inputs["bucket"]]));
  const synthBuckets = (extra: string[]) => bucketNames(synthPlan("production", extra));

  it("synth --organization plans the bucket names a stack in that organization gets", async () => {
    const { run, result } = await runStack("production", true, { organization: "acme-corp" });
    expect(result.code).toBe(0);
    const underRunner = bucketNames(run.registrations);
    expect(Object.keys(underRunner).length).toBeGreaterThan(0);
    expect(synthBuckets(["--organization", "acme-corp"])).toEqual(underRunner);
    // The default is the file backend's organization, and the organization matters.
    expect(synthBuckets([])).not.toEqual(underRunner);
  });

  it("a CLI that passes no organization gets the file backend's names instead of a failure", async () => {
    const { run, result } = await runStack("production", true, { organization: undefined });
    expect(result.code).toBe(0);
    expect(run.logs.filter((l) => l.severity === "ERROR")).toEqual([]);
    expect(bucketNames(run.registrations)).toEqual(synthBuckets([]));
  });
});
