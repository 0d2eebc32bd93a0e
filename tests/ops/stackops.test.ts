/**
 * The Automation API adapter against a fake CLI replaying recorded-shape JSON: the argv stackport sends (paging,
 * never --show-secrets, policy packs, message, update plans), what comes back (DIY history with version 0, engine
 * events streamed over gRPC by a current CLI, or through a file by one at 3.205.0 or older), and readable errors.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { automationStackOps, StackOpsError } from "../../src/ops/stackOps";
import type { EngineEvent } from "../../src/ops/review";
import { gt as semverGt } from "semver";
import { CURRENT_CLI, fakePulumi, FILE_EVENT_LOG_CLI, fixture } from "./fakePulumi";

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), "stackport-ops-"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: stackport\nruntime: nodejs\n");
  return dir;
}

describe("automationStackOps over a fake pulumi CLI", () => {
  it("reads a file-backend history: version 0 everywhere, dates revived, secrets never requested", async () => {
    const fake = fakePulumi({ stacks: ["staging"], history: fixture("history-diy.json") });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });

    const history = await ops.history("staging");

    expect(history).toHaveLength(5);
    expect(history.every((h) => h.version === 0)).toBe(true);
    expect(history[0]!.startTime).toBeInstanceOf(Date);
    expect(history[0]!.startTime.toISOString()).toBe("2026-03-04T09:15:02.000Z");
    expect(history[1]!.result).toBe("failed");
    expect(history[0]!.environment["git.dirty"]).toBe("true");
    const historyCall = fake.calls.find((c) => c.args[1] === "history")!;
    expect(historyCall.args).not.toContain("--show-secrets");
    // The CLI's default page size is 10; stackport always asks for an explicit page.
    expect(historyCall.args).toEqual(expect.arrayContaining(["--page-size", "100", "--page", "1"]));
  });

  it("passes envVars to every CLI call and runs in the project directory", async () => {
    const fake = fakePulumi({ stacks: ["staging"], history: "[]" });
    const workDir = project();
    const ops = automationStackOps({
      workDir,
      pulumiCommand: fake.command,
      envVars: { PULUMI_BACKEND_URL: "file:///srv/state" },
    });
    await ops.history("staging");
    expect(fake.calls.length).toBeGreaterThan(0);
    for (const call of fake.calls) {
      expect(call.cwd).toBe(workDir);
      expect(call.env["PULUMI_BACKEND_URL"]).toBe("file:///srv/state");
    }
  });

  it("streams preview events (a protected volume's replace, policy events) and sends the policy pack", async () => {
    const fake = fakePulumi({ stacks: ["staging"], events: fixture("preview-replace-volume.ndjson") });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });
    const events: EngineEvent[] = [];

    const result = await ops.preview("staging", {
      policyPacks: ["/repo/policies"],
      policyPackConfigs: ["/repo/policies/config/staging.json"],
      onEvent: (e) => events.push(e),
    });

    // A current CLI: the SDK serves the events over gRPC (`--event-log tcp://…`), not through a file.
    expect(semverGt(CURRENT_CLI, FILE_EVENT_LOG_CLI)).toBe(true);
    expect(fake.transports).toEqual(["grpc"]);
    expect(fake.calls.find((c) => c.args[0] === "preview")!.args.join(" ")).toMatch(
      /--event-log tcp:\/\/127\.0\.0\.1:\d+/,
    );
    const replace = events.find((e) => e.resourcePreEvent?.metadata.op === "replace");
    expect(replace?.resourcePreEvent?.metadata.type).toBe("docker:index/volume:Volume");
    expect(events.filter((e) => e.policyEvent).map((e) => e.policyEvent!.policyName)).toEqual([
      "stateful-protected",
      "container-memory-limit",
    ]);
    expect(result.changeSummary).toEqual({ replace: 1, update: 1, create: 1, same: 12 });
    const previewCall = fake.calls.find((c) => c.args[0] === "preview")!;
    expect(previewCall.args).toEqual(
      expect.arrayContaining([
        "--policy-pack",
        "/repo/policies",
        "--policy-pack-config",
        "/repo/policies/config/staging.json",
        "--stack",
        "staging",
      ]),
    );
  });

  it("runs up with the message and the policy pack, and reads back the new entry without secrets", async () => {
    const fake = fakePulumi({
      stacks: ["staging"],
      history: fixture("history-diy.json"),
      events: fixture("preview-safe.ndjson"),
    });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });

    const { summary } = await ops.up("staging", {
      message: "rollback to 1234567 (history entry …)",
      policyPacks: ["/repo/policies"],
      policyPackConfigs: ["/repo/policies/config/staging.json"],
    });

    const upCall = fake.calls.find((c) => c.args[0] === "up")!;
    expect(upCall.args).toEqual(
      expect.arrayContaining(["--yes", "--message", "rollback to 1234567 (history entry …)"]),
    );
    expect(upCall.args.join(" ")).toContain(
      "--policy-pack /repo/policies --policy-pack-config /repo/policies/config/staging.json",
    );
    expect(summary.kind).toBe("update");
    // The SDK reads stack outputs with --show-secrets itself (to mark secrets; never printed by stackport), but
    // the history entry it returns must not carry decrypted config.
    const readBack = fake.calls.filter((c) => c.args[1] === "history");
    expect(readBack).toHaveLength(1);
    expect(readBack[0]!.args).not.toContain("--show-secrets");
  });

  it("still reads the events of a CLI at 3.205.0 or older, which the SDK hands an event-log file", async () => {
    const fake = fakePulumi({
      stacks: ["staging"],
      events: fixture("preview-replace-volume.ndjson"),
      version: FILE_EVENT_LOG_CLI,
    });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });
    const events: EngineEvent[] = [];
    const result = await ops.preview("staging", { onEvent: (e) => events.push(e) });
    expect(fake.transports).toEqual(["file"]);
    expect(events.filter((e) => e.policyEvent)).toHaveLength(2);
    expect(result.changeSummary).toEqual({ replace: 1, update: 1, create: 1, same: 12 });
  });

  it("saves the preview's update plan and holds up to it: up does what was previewed", async () => {
    const fake = fakePulumi({
      stacks: ["staging"],
      history: fixture("history-diy.json"),
      events: fixture("preview-safe.ndjson"),
    });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });
    const plan = join(mkdtempSync(join(tmpdir(), "stackport-plan-")), "plan.json");

    await ops.preview("staging", { plan });
    const saved = JSON.parse(readFileSync(plan, "utf8")) as {
      resourcePlans: Record<string, { steps: string[] }>;
    };
    expect(
      saved.resourcePlans[
        "urn:pulumi:staging::stackport::stackport:docker:Proxy$docker:index/container:Container::proxy-server"
      ]!.steps,
    ).toEqual(["update"]);
    await ops.up("staging", { message: "m", plan, onEvent: () => undefined });

    expect(fake.calls.find((c) => c.args[0] === "preview")!.args.join(" ")).toContain(`--save-plan ${plan}`);
    expect(fake.calls.find((c) => c.args[0] === "up")!.args.join(" ")).toContain(`--plan ${plan}`);
    // No PULUMI_EXPERIMENTAL needed: the CLI takes --plan without it.
    expect(fake.calls.every((c) => c.env["PULUMI_EXPERIMENTAL"] === undefined)).toBe(true);
  });

  it("fails the update with the engine's message when it would step outside the plan", async () => {
    const safe = fixture("preview-safe.ndjson");
    // Between preview and up the container's change became a replacement (the program or the world changed).
    const replaced = safe.replace('"op": "update"', '"op": "replace"');
    expect(replaced).not.toBe(safe);
    const fake = fakePulumi({
      stacks: ["staging"],
      history: fixture("history-diy.json"),
      events: safe,
      upEvents: replaced,
    });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });
    const plan = join(mkdtempSync(join(tmpdir(), "stackport-plan-")), "plan.json");
    await ops.preview("staging", { plan });
    expect(existsSync(plan)).toBe(true);

    const events: EngineEvent[] = [];
    const up = ops.up("staging", { message: "m", plan, onEvent: (e) => events.push(e) });
    await expect(up).rejects.toBeInstanceOf(StackOpsError);
    await expect(up).rejects.toThrow(
      "pulumi failed for stack 'staging':\nerror: replace is not allowed by the plan: this resource is constrained to update",
    );
    expect(events.find((e) => e.diagnosticEvent)?.diagnosticEvent).toMatchObject({
      severity: "error",
      urn: expect.stringContaining("::proxy-server"),
    });
    expect(events.find((e) => e.summaryEvent)?.summaryEvent?.result).toBe("failed");
    // Without the plan the same update would have gone ahead.
    const unheld = fakePulumi({
      stacks: ["staging"],
      history: fixture("history-diy.json"),
      events: safe,
      upEvents: replaced,
    });
    await automationStackOps({ workDir: project(), pulumiCommand: unheld.command }).up("staging", {
      message: "m",
    });
  });

  it("names an unknown stack instead of creating it", async () => {
    const fake = fakePulumi({ stacks: ["staging"] });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });
    const failure = ops.history("stagign");
    await expect(failure).rejects.toBeInstanceOf(StackOpsError);
    await expect(failure).rejects.toThrow("no stack named 'stagign'");
    expect(fake.calls.some((c) => c.args.includes("init"))).toBe(false);
  });

  it("never selects the stack: the user's own pulumi commands keep acting on the stack they chose", async () => {
    const fake = fakePulumi({ stacks: ["staging"], events: fixture("preview-safe.ndjson") });
    const ops = automationStackOps({ workDir: project(), pulumiCommand: fake.command });
    await ops.history("staging");
    await ops.preview("staging");
    expect(fake.calls.filter((c) => c.args[0] === "stack" && c.args[1] === "select")).toEqual([]);
    // Existence is checked with `pulumi stack --stack <name>`, and every command names the stack itself.
    expect(fake.calls.filter((c) => c.args.join(" ") === "stack --stack staging")).toHaveLength(2);
    expect(fake.calls.find((c) => c.args[0] === "preview")!.args).toEqual(
      expect.arrayContaining(["--stack", "staging"]),
    );
  });
});
