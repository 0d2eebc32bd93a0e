/**
 * The Automation API adapter against a fake CLI replaying recorded-shape JSON: the argv stackport sends (paging,
 * never --show-secrets, policy packs, message), what comes back (DIY history with version 0, streamed engine
 * events), and readable errors.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { automationStackOps, StackOpsError } from "../../src/ops/stackOps";
import type { EngineEvent } from "../../src/ops/review";
import { fakePulumi, fixture } from "./fakePulumi";

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
    expect(history[0]!.startTime.toISOString()).toBe("2026-03-04T09:15:02.123Z");
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
