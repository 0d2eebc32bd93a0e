/**
 * The sign-off report: data at risk first, counts, changes by tier, policy results, a Mermaid diagram of the
 * real staging plan, a checklist — online from recorded-shape preview events, offline from two synth plans.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/ops/cli";
import { StackOpsError } from "../../src/ops/stackOps";
import { buildBasePlan, buildSignoffReport, mermaidDiagram, type BasePlanDeps } from "../../src/ops/signoff";
import { planDocument, type PlanDocument } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile } from "../../src/synth/stackFile";
import { cliWorld, eventsFixture, memoryStackOps } from "./fakePulumi";

let head: PlanDocument;

beforeAll(async () => {
  head = planDocument(await synthesize(readStackFile(join(__dirname, "..", ".."), "staging")));
});

const section = (markdown: string, title: string) => {
  const start = markdown.indexOf(`## ${title}`);
  expect(start).toBeGreaterThanOrEqual(0);
  const next = markdown.indexOf("\n## ", start + 3);
  return markdown.slice(start, next < 0 ? undefined : next);
};

describe("online sign-off (real preview events)", () => {
  const report = () =>
    buildSignoffReport({ stack: "staging", head, events: eventsFixture("preview-replace-volume.ndjson") });

  it("flags the protected volume's replacement first, before counts and changes", () => {
    const { markdown, flagged } = report();
    expect(flagged).toEqual([
      "**replace** database-data (docker:index/volume:Volume; protected, retained on delete)",
    ]);
    const risk = markdown.indexOf("## Data at risk");
    expect(risk).toBeGreaterThan(0);
    expect(risk).toBeLessThan(markdown.indexOf("## Counts"));
    expect(section(markdown, "Data at risk")).toContain(":warning: **replace** database-data");
  });

  it("is not ready to sign with a mandatory violation, and lists policy results mandatory first", () => {
    const { markdown, blocked, reasons } = report();
    expect(blocked).toBe(true);
    // The engine fails a preview that would replace a protected resource: its error is a reason too.
    expect(reasons).toEqual(["1 mandatory policy violation(s)", "1 preview error(s)"]);
    const policy = section(markdown, "Policy results")
      .split("\n")
      .filter((l) => l.startsWith("| "));
    expect(policy[2]).toMatch(/^\| \*\*mandatory\*\* \| high \| `stateful-protected` \| `database-data`/);
    // The engine's "description\nmessage" is reduced to the rule's own message.
    expect(policy[2]).toContain("volume database-data is replaced: its data would be lost");
    expect(policy[3]).toMatch(/^\| advisory \| low \| `container-memory-limit`/);
    expect(markdown).toContain("with the policy pack(s) stackport 0.1.0");
  });

  it("counts from the engine summary and groups changes by tier", () => {
    const { markdown } = report();
    expect(section(markdown, "Counts")).toContain(
      "| replace | 1 |\n| create | 1 |\n| update | 1 |\n| same | 12 |",
    );
    const changes = section(markdown, "Changes by tier");
    expect(changes.indexOf("### database (2)")).toBeLessThan(changes.indexOf("### proxy (1)"));
    expect(changes).toContain("- update `database-server` docker:index/container:Container — `shmSize`");
  });

  it("a safe preview is ready for review and says no data is at risk", () => {
    const { markdown, blocked, flagged } = buildSignoffReport({
      stack: "staging",
      head,
      events: eventsFixture("preview-safe.ndjson"),
    });
    expect(blocked).toBe(false);
    expect(flagged).toEqual([]);
    expect(markdown).toContain("No stateful resource (volume, bucket, database) is deleted or replaced.");
    expect(section(markdown, "Sign-off checklist")).toContain("- [ ] Mandatory policy violations: none");
  });
});

describe("offline sign-off (synth plans of base and head)", () => {
  const withBase = () => {
    const base: PlanDocument = structuredClone(head);
    const volume = base.resources.find((r) => r.name === "database-data")!;
    volume.inputs = { ...volume.inputs, name: "an-older-volume-name" };
    base.resources.push({ ...volume, name: "legacy-data", inputs: { name: "legacy" } });
    return base;
  };

  it("flags a removed stateful resource and a changed one, and says offline cannot know replacements", () => {
    const { markdown, flagged } = buildSignoffReport({
      stack: "staging",
      head,
      offline: { baseRef: "origin/main", base: withBase() },
    });
    expect(flagged[0]).toBe("**delete** legacy-data (docker:index/volume:Volume; protected)");
    expect(flagged[1]).toMatch(
      /^\*\*changed\*\* database-data \(docker:index\/volume:Volume\): name — may force a replacement/,
    );
    expect(markdown).toContain("Offline report: built from synth plans");
    expect(section(markdown, "Counts")).toContain("| removed | 1 |\n| changed | 1 |");
    expect(section(markdown, "Sign-off checklist")).toContain("`stackport signoff staging`");
  });

  it("is not ready to sign when the head skips a cutover phase the base stood at", () => {
    const at = (phase: "replicate" | "freeze" | "backfill"): PlanDocument => ({
      ...structuredClone(head),
      cutovers: [{ tier: "database", from: "homelab", to: "cloud", phase, actions: [], runbook: "r.md" }],
    });
    const reasons = (base: PlanDocument, next: PlanDocument) =>
      buildSignoffReport({ stack: "staging", head: next, offline: { baseRef: "main", base } }).reasons;
    expect(reasons(at("replicate"), at("backfill"))).toEqual([
      "database: cutover cannot go from replicate to backfill: run freeze first",
    ]);
    expect(reasons(at("replicate"), at("freeze"))).toEqual([]);
    // Starting a cutover anywhere but at its first phase is a skip too.
    expect(reasons(head, at("freeze"))).toEqual([
      "database: cutover cannot go from no cutover to freeze: run replicate first",
    ]);
  });

  it("reports a base that could not synthesize instead of failing", () => {
    const { markdown } = buildSignoffReport({
      stack: "staging",
      head,
      offline: { baseRef: "v0.1.0", baseProblem: "synth of staging at v0.1.0 failed: no stack file" },
    });
    expect(markdown).toContain("No base plan: synth of staging at v0.1.0 failed: no stack file");
    expect(section(markdown, "Counts")).toContain(`| added | ${head.resources.length} |`);
  });
});

describe("cutover in progress", () => {
  it("says what this phase does and asks for the runbook's phase checklist", async () => {
    const staging = readStackFile(join(__dirname, "..", ".."), "staging");
    const config = {
      ...staging.config,
      "stackport:targets": JSON.stringify({
        ...JSON.parse(staging.config["stackport:targets"]!),
        cloud: { kind: "aws", region: "eu-central-1", vpc: { cidr: "10.50.0.0/16" } },
      }),
      "stackport:cutover": JSON.stringify({ storage: { from: "homelab", to: "cloud", phase: "freeze" } }),
    };
    const moving = planDocument(await synthesize({ ...staging, config }));
    const { markdown } = buildSignoffReport({
      stack: "staging",
      head: moving,
      offline: { baseRef: "main", base: head },
    });
    const cutover = section(markdown, "Cutover in progress");
    expect(cutover).toContain("| storage | `homelab` → `cloud` | `freeze` |");
    expect(cutover).toContain("storage runs on both homelab and cloud (the cloud side as storage-cloud)");
    expect(cutover).toMatch(/writes frozen: [a-z-, ]+ scaled to zero, their routes answer 503/);
    expect(cutover).toContain("objects mirrored homelab → cloud continuously");
    expect(section(markdown, "Sign-off checklist")).toContain(
      "- [ ] Cutover of storage (homelab → cloud): the `freeze` checklist of [the runbook](docs/runbooks/cutover-homelab-to-aws.md#freeze) ticked",
    );
    // No cutover, no section.
    expect(
      buildSignoffReport({ stack: "staging", head, offline: { baseRef: "main", base: head } }).markdown,
    ).not.toContain("Cutover in progress");
  });
});

describe("mermaidDiagram", () => {
  it("draws the stack → component → children tree of the real staging plan with valid, unique node ids", () => {
    const diagram = mermaidDiagram(head);
    const lines = diagram.split("\n");
    expect(lines[0]).toBe("graph TD");
    const nodes = lines.filter((l) => /^ {2}n_\w+[[(]/.test(l)).map((l) => l.trim().split(/[[(]/)[0]!);
    expect(nodes).toHaveLength(head.resources.length);
    expect(new Set(nodes).size).toBe(nodes.length);
    for (const id of nodes) expect(id).toMatch(/^n_[A-Za-z0-9_]+$/);
    // The database component hangs off the stack; its volume hangs off the component and is marked stateful.
    expect(lines).toContain("  stack --> n_database");
    expect(lines).toContain("  n_database --> n_database_data");
    expect(diagram).toMatch(
      / {2}n_database_data\["database-data<br\/><small>docker:index\/volume:Volume<\/small>"\]:::stateful/,
    );
    // One edge per resource, and every edge's ends are declared nodes.
    const edges = lines.filter((l) => l.includes(" --> "));
    expect(edges).toHaveLength(head.resources.length);
    for (const e of edges)
      for (const end of e.trim().split(" --> ")) expect(["stack", ...nodes]).toContain(end);
  });

  it("escapes quotes and de-duplicates names that sanitize alike", () => {
    const diagram = mermaidDiagram({
      stack: 's"1',
      resources: [
        {
          type: "t:x:Y",
          name: "a-b",
          parent: null,
          provider: null,
          inputs: {},
          protect: false,
          retainOnDelete: false,
          dependsOn: [],
        },
        {
          type: "t:x:Y",
          name: "a.b",
          parent: null,
          provider: null,
          inputs: {},
          protect: false,
          retainOnDelete: false,
          dependsOn: [],
        },
      ],
    });
    expect(diagram).toContain('stack(["stack s#quot;1"])');
    expect(diagram).toContain("stack --> n_a_b\n");
    expect(diagram).toContain("stack --> n_a_b_2");
  });
});

describe("buildBasePlan", () => {
  const deps = (synth: { code: number; stdout: string; stderr: string }) => {
    const calls: string[] = [];
    const runner = (tool: string) => async (args: string[], cwd: string) => {
      calls.push(`${tool} ${args.join(" ")} @${cwd}`);
      return tool === "node" ? synth : { code: 0, stdout: "", stderr: "" };
    };
    const d: BasePlanDeps = {
      git: runner("git"),
      npm: runner("npm"),
      node: runner("node"),
      repoRoot: "/repo",
      worktreePath: () => "/tmp/base",
      progress: () => undefined,
    };
    return { d, calls };
  };

  it("synthesizes the base in its own worktree with its own dependencies, then removes the worktree", async () => {
    const { d, calls } = deps({ code: 0, stdout: JSON.stringify(head), stderr: "" });
    const { base } = await buildBasePlan("origin/main", "staging", d);
    expect(base?.resources).toHaveLength(head.resources.length);
    expect(calls).toEqual([
      "git worktree add --detach /tmp/base origin/main @/repo",
      "npm ci --no-audit --no-fund @/tmp/base",
      "npm run build @/tmp/base",
      "node bin/src/synth/cli.js staging --json @/tmp/base",
      "git worktree remove --force /tmp/base @/repo",
    ]);
  });

  it("returns the base's synth error as a problem (a stack the base does not have)", async () => {
    const { d, calls } = deps({
      code: 2,
      stdout: "",
      stderr: "stackport synth: no stack file Pulumi.new.yaml\n",
    });
    expect(await buildBasePlan("origin/main", "new", d)).toEqual({
      problem: "synth of new at origin/main failed: stackport synth: no stack file Pulumi.new.yaml",
    });
    expect(calls.at(-1)).toBe("git worktree remove --force /tmp/base @/repo");
  });
});

describe("stackport signoff", () => {
  it("previews with the repo's policy pack and stack config, writes the report, exits 1 when not ready", async () => {
    const ops = memoryStackOps({ events: eventsFixture("preview-replace-volume.ndjson") });
    const preview = jest.spyOn(ops, "preview");
    const out = join(mkdtempSync(join(tmpdir(), "stackport-signoff-")), "report.md");
    const w = cliWorld({ stackOps: () => ops, headPlan: async () => head });

    expect(await main(["signoff", "staging", "--out", out], w.deps)).toBe(1);

    const root = w.deps.root;
    expect(preview.mock.calls[0]![1]).toMatchObject({
      policyPacks: [join(root, "policies")],
      policyPackConfigs: [join(root, "policies", "config", "staging.json")],
    });
    expect(readFileSync(out, "utf8")).toContain("## Data at risk");
    expect(w.stderr()).toContain(
      `report written to ${out}: not ready to sign: 1 mandatory policy violation(s); 1 preview error(s); 1 stateful resource(s) at risk`,
    );
    expect(w.stderr()).toContain("stackport: pulumi preview of staging");
  });

  it("still reports when the preview fails after streaming events (a mandatory violation stops the CLI)", async () => {
    const events = eventsFixture("preview-replace-volume.ndjson");
    const w = cliWorld({
      headPlan: async () => head,
      stackOps: () => ({
        ...memoryStackOps({}),
        preview: async (_stack, req) => {
          for (const e of events) req?.onEvent?.(e);
          throw new StackOpsError("pulumi failed for stack 'staging':\nerror: preview failed");
        },
      }),
    });
    expect(await main(["signoff", "staging"], w.deps)).toBe(1);
    expect(w.stdout()).toContain("## Preview errors");
    expect(w.stdout()).toContain("error: preview failed");
  });

  it("--offline --base builds the base in a worktree and needs no Pulumi CLI", async () => {
    const ran: string[] = [];
    const ok =
      (tool: string, stdout = "") =>
      async (args: string[]) => {
        ran.push(`${tool} ${args[0]}`);
        return { code: 0, stdout, stderr: "" };
      };
    const w = cliWorld({
      headPlan: async () => head,
      git: ok("git"),
      npm: ok("npm"),
      node: ok("node", JSON.stringify(head)),
      stackOps: () => {
        throw new Error("no Pulumi CLI offline");
      },
    });
    expect(await main(["signoff", "staging", "--offline", "--base", "origin/main"], w.deps)).toBe(0);
    expect(ran).toEqual(["git worktree", "npm ci", "npm run", "node bin/src/synth/cli.js", "git worktree"]);
    expect(w.stdout()).toContain("No changes.");
  });

  it("--offline without --base is a usage error", async () => {
    const w = cliWorld();
    expect(await main(["signoff", "staging", "--offline"], w.deps)).toBe(64);
    expect(w.stderr()).toContain("--offline and --base <git-ref> go together");
  });
});
