/**
 * Rollback = roll forward to a recorded update. Every decision (which entry, which entries are refused, what
 * counts as data at risk, config drift) is tested pure; the executor is driven with a fake git that "checks out"
 * a commit by writing its files, a fake npm, and in-memory StackOps replaying recorded-shape fixtures.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { main } from "../../src/ops/cli";
import {
  configDrift,
  dataAtRisk,
  executeRollback,
  pickEntry,
  refusalReasons,
  renderRollbackOutcome,
  type RollbackRequest,
  type Runner,
} from "../../src/ops/rollback";
import type { StackFile } from "../../src/synth/stackFile";
import { automationStackOps, StackOpsError } from "../../src/ops/stackOps";
import {
  cliWorld,
  eventsFixture,
  fakePulumi,
  fixture,
  historyFixture,
  memoryStackOps,
  type MemoryStackOps,
} from "./fakePulumi";

type FakePulumi = ReturnType<typeof fakePulumi>;

const diy = historyFixture("history-diy.json");
const cloud = historyFixture("history-cloud.json");
const [dirtyEntry, failedEntry, refreshEntry, goodEntry, inlineEntry] = diy;
const GOOD_TIME = "2026-03-01T08:30:00.000Z";
const GOOD_COMMIT = "1234567890abcdef1234567890abcdef12345678";
const POLICY_PACK = "/repo/policies";
const POLICY_CONFIG = "/repo/policies/config/staging.json";

describe("pickEntry", () => {
  it("finds a file-backend entry by its ISO start time, with or without milliseconds", () => {
    expect(pickEntry(diy, GOOD_TIME)).toEqual({ entry: goodEntry });
    expect(pickEntry(diy, "2026-03-01T08:30:00Z")).toEqual({ entry: goodEntry });
  });

  it("explains that a file backend has no versions and shows a start time to use instead", () => {
    const picked = pickEntry(diy, "3");
    expect("error" in picked && picked.error).toMatch(
      /every update is version 0.*--to 2026-03-04T09:15:02.000Z/,
    );
  });

  it("finds a Pulumi Cloud entry by version", () => {
    expect(pickEntry(cloud, "11")).toEqual({ entry: cloud[1] });
    expect(pickEntry(cloud, "7")).toEqual({ error: "no update with version 7 in the 2 most recent" });
  });

  it("rejects what is neither a version nor an ISO time, and times nothing started at", () => {
    expect(pickEntry(diy, "yesterday")).toEqual({ error: expect.stringContaining("not 'yesterday'") });
    expect(pickEntry(diy, "2026-03-01T08:30:01Z")).toEqual({
      error: expect.stringContaining("no update started at 2026-03-01T08:30:01.000Z"),
    });
  });
});

describe("refusalReasons", () => {
  it("accepts a clean, succeeded update with a commit", () => {
    expect(refusalReasons(goodEntry!)).toEqual([]);
    expect(refusalReasons(cloud[1]!)).toEqual([]);
  });

  it.each([
    ["a failed update", failedEntry, /it failed/],
    [
      "an update from a dirty working tree",
      dirtyEntry,
      /uncommitted changes \(git\.dirty=true\): commit f00dfac/,
    ],
    ["a refresh", refreshEntry, /it is a refresh, not an update/],
    ["an update without git.head", inlineEntry, /recorded no git commit/],
    ["an update still running", cloud[0], /has not finished \(result: in-progress\)/],
  ])("refuses %s", (_what, entry, reason) => {
    expect(refusalReasons(entry!).join("\n")).toMatch(reason);
  });

  it("refuses an update that did not record whether its tree was clean", () => {
    const unknown = { ...goodEntry!, environment: { "git.head": GOOD_COMMIT } };
    expect(refusalReasons(unknown)).toEqual([expect.stringContaining("git.dirty")]);
  });
});

describe("dataAtRisk", () => {
  it("flags the replacement of a protected volume, once, and not the container update or the create", () => {
    expect(dataAtRisk(eventsFixture("preview-replace-volume.ndjson"))).toEqual([
      {
        op: "replace",
        type: "docker:index/volume:Volume",
        name: "database-data",
        urn: expect.stringContaining("::database-data"),
        protect: true,
        retainOnDelete: true,
      },
    ]);
    expect(dataAtRisk(eventsFixture("preview-safe.ndjson"))).toEqual([]);
  });

  it("flags deleting an RDS instance or an S3 bucket even when unprotected, and any protected resource", () => {
    const step = (op: string, type: string, name: string, protect = false) => ({
      resourcePreEvent: {
        metadata: {
          op,
          type,
          urn: `urn:pulumi:p::stackport::${type}::${name}`,
          old: { protect, inputs: {} },
        },
      },
    });
    const risky = dataAtRisk([
      step("delete", "aws:rds/instance:Instance", "db"),
      step("delete-replaced", "aws:s3/bucketV2:BucketV2", "raw"),
      step("delete", "random:index/randomPassword:RandomPassword", "pw", true),
      step("update", "aws:rds/instance:Instance", "db2"),
      step("discard", "docker:index/volume:Volume", "kept"),
    ]);
    expect(risky.map((r) => `${r.op} ${r.name}`)).toEqual(["delete db", "replace raw", "delete pw"]);
  });
});

describe("configDrift", () => {
  const stackFile = (config: Record<string, string>): StackFile => ({
    project: "stackport",
    stack: "staging",
    config: { ...config, "stackport:adminPassword": "offline-secret-placeholder" },
    secretKeys: ["stackport:adminPassword"],
  });

  it("is empty when the commit's stack file holds what the update recorded (JSON formatting aside)", () => {
    expect(
      configDrift(
        goodEntry!.config,
        stackFile({
          "stackport:environment": "staging",
          "stackport:database": JSON.stringify({ memoryMb: 4096, on: "homelab" }),
        }),
      ),
    ).toEqual([]);
  });

  it("names changed, missing and added keys, never their values, and skips secrets", () => {
    const drift = configDrift(
      goodEntry!.config,
      stackFile({ "stackport:database": '{"on":"homelab","memoryMb":8192}', "stackport:proxy": "{}" }),
    );
    expect(drift).toEqual([
      "stackport:database: the commit's value differs from the recorded one",
      "stackport:environment: recorded by the update, missing in the commit",
      "stackport:proxy: set in the commit, not recorded by the update",
    ]);
    expect(drift.join()).not.toContain("8192");
  });
});

// ---------------------------------------------------------------------------------------------------------

const STACK_FILE = `config:
  stackport:environment: staging
  stackport:database:
    on: homelab
    memoryMb: 4096
  stackport:adminPassword:
    secure: v1:abc:def
`;

interface World {
  /** Every StackOps call, in the repo (history) and in the worktree (preview, up). */
  calls: MemoryStackOps["calls"];
  gitCalls: { args: string[]; cwd: string }[];
  npmCalls: { args: string[]; cwd: string }[];
  progress: string[];
  worktree: string;
  run(req: Partial<RollbackRequest>): ReturnType<typeof executeRollback>;
}

function world(opts: {
  events: string;
  stackFile?: string;
  history?: string;
  /** Preview and up through the Automation API over this fake CLI instead of in-memory StackOps. */
  cli?: FakePulumi;
  failNpm?: string;
  failCheckout?: boolean;
}): World {
  const root = mkdtempSync(join(tmpdir(), "stackport-rollback-"));
  const worktree = join(root, "worktree");
  const calls: MemoryStackOps["calls"] = [];
  const history = opts.history ? historyFixture(opts.history) : diy;
  const events = eventsFixture(opts.events);
  const w: Partial<World> & Pick<World, "gitCalls" | "npmCalls" | "progress"> = {
    gitCalls: [],
    npmCalls: [],
    progress: [],
  };
  // `git worktree add` writes the commit's files; `remove` deletes them: enough to prove the executor reads the
  // commit's stack file and always cleans up.
  const git: Runner = async (args, cwd) => {
    w.gitCalls.push({ args, cwd });
    if (args[1] === "add") {
      if (opts.failCheckout)
        return { code: 128, stdout: "", stderr: `fatal: invalid reference: ${args[4]}\n` };
      mkdirSync(args[3]!, { recursive: true });
      writeFileSync(join(args[3]!, "package.json"), JSON.stringify({ scripts: { build: "tsc" } }));
      writeFileSync(join(args[3]!, "Pulumi.yaml"), "name: stackport\nruntime: nodejs\n");
      writeFileSync(join(args[3]!, "Pulumi.staging.yaml"), opts.stackFile ?? STACK_FILE);
    }
    if (args[1] === "remove") rmSync(args[3]!, { recursive: true, force: true });
    return { code: 0, stdout: "", stderr: "" };
  };
  const npm: Runner = async (args, cwd) => {
    w.npmCalls.push({ args, cwd });
    return args[0] === opts.failNpm
      ? { code: 1, stdout: "", stderr: "npm ERR! lockfile out of sync\n" }
      : { code: 0, stdout: "", stderr: "" };
  };
  return Object.assign(w, {
    calls,
    worktree,
    run: (req: Partial<RollbackRequest>) =>
      executeRollback(
        { stack: "staging", to: GOOD_TIME, yes: false, allowDataLoss: false, ...req },
        {
          ops: memoryStackOps({ history }, root, calls),
          opsIn: (dir) =>
            opts.cli
              ? automationStackOps({ workDir: dir, pulumiCommand: opts.cli.command })
              : memoryStackOps({ history, events }, dir, calls),
          git,
          npm,
          repoRoot: root,
          worktreePath: () => worktree,
          progress: (line) => w.progress.push(line),
          policy: { policyPacks: [POLICY_PACK], policyPackConfigs: [POLICY_CONFIG] },
        },
      ),
  }) as World;
}

describe("executeRollback", () => {
  it("refuses a dirty update before touching git", async () => {
    const w = world({ events: "preview-safe.ndjson" });
    const outcome = await w.run({ to: "2026-03-04T09:15:02.000Z", yes: true });
    expect(outcome.status).toBe("refused");
    expect(outcome.reasons.join()).toMatch(/uncommitted changes/);
    expect(w.gitCalls).toEqual([]);
  });

  it("without --yes: checks out the recorded commit, installs, builds, previews there, changes nothing", async () => {
    const w = world({ events: "preview-safe.ndjson" });
    const outcome = await w.run({});
    expect(outcome.status).toBe("previewed");
    expect(w.gitCalls[0]).toEqual({
      args: ["worktree", "add", "--detach", w.worktree, GOOD_COMMIT],
      cwd: expect.not.stringContaining("worktree"),
    });
    expect(w.npmCalls.map((c) => [c.args.join(" "), c.cwd])).toEqual([
      ["ci --no-audit --no-fund", w.worktree],
      ["run build", w.worktree],
    ]);
    // Under today's policy pack and the stack's config, like any new update; saving an update plan.
    expect(w.calls.filter((c) => c.op !== "history")).toEqual([
      {
        op: "preview",
        stack: "staging",
        workDir: w.worktree,
        policyPacks: [POLICY_PACK],
        policyPackConfigs: [POLICY_CONFIG],
        plan: expect.stringMatching(/stackport-plan-[^/]+\/plan\.json$/),
      },
    ]);
    expect(w.gitCalls.at(-1)!.args).toEqual(["worktree", "remove", "--force", w.worktree]);
    expect(existsSync(w.worktree)).toBe(false);
    expect(w.progress.length).toBeGreaterThan(2);
  });

  it("with --yes: runs up in the worktree, under the policy pack, with a message naming the commit and entry", async () => {
    const w = world({ events: "preview-safe.ndjson" });
    const outcome = await w.run({ yes: true });
    expect(outcome.status).toBe("rolled-back");
    const up = w.calls.find((c) => c.op === "up");
    const plan = w.calls.find((c) => c.op === "preview")!.plan!;
    expect(up).toEqual({
      op: "up",
      stack: "staging",
      workDir: w.worktree,
      message: `rollback to 1234567 (history entry started ${GOOD_TIME}: database: 4 GiB | shm 256 MiB)`,
      policyPacks: [POLICY_PACK],
      policyPackConfigs: [POLICY_CONFIG],
      // Held to the plan its own preview saved: it does what was previewed.
      plan,
    });
    // The plan file (it holds the stack's config) does not outlive the rollback.
    expect(existsSync(dirname(plan))).toBe(false);
    expect(renderRollbackOutcome("staging", outcome)).toContain("rolled back: rollback to 1234567");
  });

  it("refuses when the preview replaces a protected volume, even with --yes; --allow-data-loss proceeds", async () => {
    const refused = world({ events: "preview-replace-volume.ndjson" });
    const outcome = await refused.run({ yes: true });
    expect(outcome.status).toBe("refused");
    expect(refused.calls.some((c) => c.op === "up")).toBe(false);
    const text = renderRollbackOutcome("staging", outcome);
    expect(text).toContain(
      "! replace database-data (docker:index/volume:Volume; protected, retained on delete)",
    );
    expect(text).toContain("--allow-data-loss");

    const allowed = world({ events: "preview-replace-volume.ndjson" });
    expect((await allowed.run({ yes: true, allowDataLoss: true })).status).toBe("rolled-back");
  });

  it("refuses when the commit's stack file is not the recorded configuration", async () => {
    const w = world({ events: "preview-safe.ndjson", stackFile: STACK_FILE.replace("4096", "8192") });
    const outcome = await w.run({ yes: true });
    expect(outcome.status).toBe("refused");
    expect(outcome.reasons.join("\n")).toContain("stackport:database: the commit's value differs");
    expect(w.calls.some((c) => c.op === "preview")).toBe(false);
  });

  it("fails readably when the commit is not in the clone, and when npm ci fails (worktree still removed)", async () => {
    const missing = world({ events: "preview-safe.ndjson", failCheckout: true });
    const out1 = await missing.run({});
    expect(out1.status).toBe("failed");
    expect(out1.reasons[0]).toMatch(/cannot check out 1234567890.*invalid reference.*git fetch/);
    expect(missing.npmCalls).toEqual([]);

    const broken = world({ events: "preview-safe.ndjson", failNpm: "ci" });
    const out2 = await broken.run({});
    expect(out2.status).toBe("failed");
    expect(out2.reasons[0]).toBe(
      "npm ci --no-audit --no-fund failed in the 1234567 worktree: npm ERR! lockfile out of sync",
    );
    expect(broken.gitCalls.at(-1)!.args[1]).toBe("remove");
  });
});

describe("executeRollback: up held to the preview's update plan, through the CLI", () => {
  const safe = fixture("preview-safe.ndjson");
  const cliWorldFor = (upEvents?: string) => {
    const cli = fakePulumi({
      stacks: ["staging"],
      history: fixture("history-diy.json"),
      events: safe,
      upEvents,
    });
    return { cli, w: world({ events: "preview-safe.ndjson", cli }) };
  };
  const flag = (cli: FakePulumi, command: string, name: string) => {
    const args = cli.calls.find((c) => c.args[0] === command)!.args;
    return args[args.indexOf(name) + 1];
  };

  it("passes the plan file the preview saved to up", async () => {
    const { cli, w } = cliWorldFor();
    expect((await w.run({ yes: true })).status).toBe("rolled-back");
    const saved = flag(cli, "preview", "--save-plan");
    expect(saved).toMatch(/plan\.json$/);
    expect(flag(cli, "up", "--plan")).toBe(saved);
    expect(existsSync(saved!)).toBe(false);
  });

  it("fails, with the engine's message, when up would do other than what was previewed", async () => {
    const { w } = cliWorldFor(safe.replace('"op": "update"', '"op": "replace"'));
    const run = w.run({ yes: true });
    await expect(run).rejects.toBeInstanceOf(StackOpsError);
    await expect(run).rejects.toThrow(
      "error: replace is not allowed by the plan: this resource is constrained to update",
    );
    expect(w.gitCalls.at(-1)!.args[1]).toBe("remove");
  });
});

describe("executeRollback: cutover phase order", () => {
  // The commit's stack file at a phase, as the update at that phase recorded it (history-cutover.json).
  const stackAt = (phase: string) => `config:
  stackport:environment: staging
  stackport:database:
    on: homelab
  stackport:adminPassword:
    secure: v1:abc:def
  stackport:cutover:
    database: { from: homelab, to: aws, phase: ${phase} }
`;

  it("rolls back one phase (backfill → freeze) while the source still serves", async () => {
    const w = world({
      events: "preview-safe.ndjson",
      history: "history-cutover.json",
      stackFile: stackAt("freeze"),
    });
    const outcome = await w.run({ to: "2026-05-03T09:00:00.000Z" });
    expect(outcome.reasons).toEqual(["re-run with --yes to apply this preview"]);
    expect(outcome.status).toBe("previewed");
  });

  it("refuses to skip back two phases, before any preview, naming both phases and the runbook", async () => {
    const w = world({
      events: "preview-safe.ndjson",
      history: "history-cutover.json",
      stackFile: stackAt("replicate"),
    });
    const outcome = await w.run({ to: "2026-05-02T09:00:00.000Z", yes: true });
    expect(outcome.status).toBe("refused");
    expect(outcome.reasons).toEqual([
      "rolling back to update 2026-05-02T09:00:00.000Z would skip a cutover phase:",
      'stackport:cutover.database.phase: the stack is at backfill (its last successful update, 2026-05-04T09:00:00.000Z, commit e1e1e1e) and this change asks for replicate: cutover goes back one phase at a time (backfill → freeze) (see docs/runbooks/cutover-homelab-to-aws.md, "Every phase, the same loop")',
    ]);
    expect(w.calls.filter((c) => c.op !== "history")).toEqual([]);
    expect(w.gitCalls.at(-1)!.args[1]).toBe("remove");
  });
});

describe("stackport rollback", () => {
  it("exits 1 and says why when the update is refused", async () => {
    const w = cliWorld({ stackOps: () => memoryStackOps({ history: diy }) });
    expect(await main(["rollback", "staging", "--to", "2026-03-03T18:02:11.000Z", "--yes"], w.deps)).toBe(1);
    expect(w.stdout()).toContain("refused:\n  update 2026-03-03T18:02:11.000Z: it failed");
  });

  it("requires --to", async () => {
    const w = cliWorld();
    expect(await main(["rollback", "staging"], w.deps)).toBe(64);
    expect(w.stderr()).toContain("--to <version|start time> is required");
  });
});
