/**
 * The sign-off report: data at risk first, counts, changes by tier, policy results, a Mermaid diagram of the
 * real staging plan, a checklist — online from recorded-shape preview events, offline from two synth plans.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../src/ops/cli";
import { StackOpsError } from "../../src/ops/stackOps";
import {
  buildBasePlan,
  buildSignoffReport,
  mermaidDiagram,
  type BasePlanDeps,
  type InstallFiles,
} from "../../src/ops/signoff";
import { planDocument, type PlanDocument } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile } from "../../src/synth/stackFile";
import { cliWorld, eventsFixture, memoryStackOps } from "./fakePulumi";
import { NEW_INSTANCE_CLASS, productionChange } from "./productionChange";

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
    expect(section(markdown, "Data at risk")).toContain(
      ":warning: **replace** `database-data` (docker:index/volume:Volume; protected, retained on delete): the provider replaces it (real preview) — its files would be lost",
    );
  });

  it("is not ready to sign with a mandatory violation, and lists policy results mandatory first", () => {
    const { markdown, blocked, reasons } = report();
    expect(blocked).toBe(true);
    // The engine fails a preview that would replace a protected resource: its error is a reason too.
    expect(reasons).toEqual(["1 mandatory policy violation(s)", "1 preview error(s)"]);
    const policy = section(markdown, "Policy results")
      .split("\n")
      .filter((l) => l.startsWith("| "));
    // Online there is no base plan: the status says whether the change touches the resource.
    expect(policy[2]).toMatch(
      /^\| on a changed resource \| \*\*mandatory\*\* \| high \| `stateful-protected` \| `database-data`/,
    );
    // The engine's "description\nmessage" is reduced to the rule's own message.
    expect(policy[2]).toContain("volume database-data is replaced: its data would be lost");
    expect(policy[3]).toMatch(
      /^\| \*\*new\*\* \| advisory \| low \| `container-memory-limit` \| `proxy-maintenance`/,
    );
    // Policy before the change list; the headline keeps the data at risk next to the blocking reasons.
    expect(markdown.indexOf("## Policy results")).toBeLessThan(markdown.indexOf("## Changes by tier"));
    expect(markdown).toContain(
      "**Not ready to sign: 1 mandatory policy violation(s); 1 preview error(s).** Also: **1 resource with data at risk** (below).",
    );
    expect(markdown).toContain("with the policy pack(s) stackport 0.1.0");
  });

  it("lists a protection the update switches off, from the steps' old and new states", () => {
    const volume =
      "urn:pulumi:staging::stackport::stackport:docker:Database$docker:index/volume:Volume::database-data";
    const unprotect = {
      resourcePreEvent: {
        metadata: {
          op: "update",
          urn: volume,
          type: "docker:index/volume:Volume",
          old: { inputs: {}, protect: true, retainOnDelete: true },
          new: { inputs: {}, protect: false, retainOnDelete: false },
        },
      },
    };
    const r = buildSignoffReport({ stack: "staging", head, events: [unprotect] });
    expect(r.downgrades.map((d) => d.change)).toEqual([
      "protect true → false: a destroy or replacement deletes it",
      "retainOnDelete true → false: removing it from the program deletes it",
    ]);
    expect(section(r.markdown, "Safety downgrades")).toContain(
      "- :warning: `database-data (docker:index/volume:Volume)`: protect true → false",
    );
    expect(r.markdown).toMatch(/\*\*2 safety downgrade\(s\)\*\* \(below\)/);
    expect(section(report().markdown, "Safety downgrades")).toContain("No protection is switched off");
  });

  it("counts deployed resources from the preview's steps, and groups changes by tier with old → new values", () => {
    const { markdown } = report();
    const deployed = head.resources.filter((r) => !r.type.startsWith("stackport:")).length;
    expect(section(markdown, "Counts")).toContain(
      `| added | 1 |\n| replaced | 1 |\n| changed | 1 |\n| removed | 0 |\n| unchanged | ${deployed - 3} |`,
    );
    const changes = section(markdown, "Changes by tier");
    expect(changes.indexOf("### database (2)")).toBeLessThan(changes.indexOf("### proxy (1)"));
    expect(changes).toContain(
      "- changed `database-server` docker:index/container:Container — in place (real preview); `shmSize` `256` → `1024`",
    );
    expect(changes).toContain(
      '- replaced `database-data` docker:index/volume:Volume — replaced because of `name`; `name` `"stackport-staging-database-data"` → `"stackport-staging-pgdata"`',
    );
  });

  it("a safe preview is ready for review and says no data is at risk", () => {
    const { markdown, blocked, flagged } = buildSignoffReport({
      stack: "staging",
      head,
      events: eventsFixture("preview-safe.ndjson"),
    });
    expect(blocked).toBe(false);
    expect(flagged).toEqual([]);
    expect(markdown).toContain(
      "No resource holding data (volume, bucket, database, log group, secret, snapshot) is deleted, replaced or left behind.",
    );
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

  it("flags a removed protected volume and one a renamed volume replaces (predicted), and says it is offline", () => {
    const { markdown, flagged } = buildSignoffReport({
      stack: "staging",
      head,
      offline: { baseRef: "origin/main", base: withBase() },
    });
    // A protected volume removed: the engine refuses to delete it. A volume's new name replaces it (its files go).
    expect(flagged).toEqual([
      "**delete** legacy-data (docker:index/volume:Volume; protected, retained on delete)",
      "**replace** database-data (docker:index/volume:Volume; protected, retained on delete)",
    ]);
    expect(section(markdown, "Data at risk")).toContain(
      "- :warning: **cannot delete** `legacy-data` (docker:index/volume:Volume; protected, retained on delete): protected: the engine refuses to delete it",
    );
    expect(markdown).toContain("Offline report: built from synth plans");
    expect(section(markdown, "Counts")).toContain("| replaced | 1 |\n| changed | 0 |\n| removed | 1 |");
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
      "stackport:cutover.database.phase: cutover cannot go from replicate to backfill: run freeze first",
    ]);
    expect(reasons(at("replicate"), at("freeze"))).toEqual([]);
    // Starting a cutover anywhere but at its first phase is a skip too.
    expect(reasons(head, at("freeze"))).toEqual([
      "stackport:cutover.database.phase: cutover cannot go from no cutover to freeze: run replicate first",
    ]);
  });

  it("reports a base that could not synthesize instead of failing", () => {
    const { markdown } = buildSignoffReport({
      stack: "staging",
      head,
      offline: { baseRef: "v0.1.0", baseProblem: "synth of staging at v0.1.0 failed: no stack file" },
    });
    expect(markdown).toContain("No base plan: synth of staging at v0.1.0 failed: no stack file");
    const deployed = head.resources.filter((r) => !r.type.startsWith("stackport:")).length;
    expect(section(markdown, "Counts")).toContain(`| added | ${deployed} |`);
  });
});

describe("the production change of #17 (offline): a service added, a bucket and a scheduled job removed, a bigger database", () => {
  let change: { base: PlanDocument; head: PlanDocument };
  beforeAll(async () => {
    change = await productionChange();
  }, 120_000);
  const build = (base = change.base, next = change.head) =>
    buildSignoffReport({ stack: "production", head: next, offline: { baseRef: "origin/main", base } });

  it("shows the instance class old → new, classified in place with a reboot: downtime, not data at risk", () => {
    const { markdown, flagged } = build();
    expect(section(markdown, "Changes by tier")).toContain(
      `- changed \`database-instance\` aws:rds/instance:Instance — in place, with a failover to the standby (multiAz), in the next maintenance window (applyImmediately is not set); \`instanceClass\` \`"db.t4g.medium"\` → \`"${NEW_INSTANCE_CLASS}"\``,
    );
    expect(flagged.join("\n")).not.toContain("database-instance");
    expect(section(markdown, "Risk")).toMatch(/\| in place, with a restart \| 1: `database-instance` \|/);
    expect(section(markdown, "Risk")).toContain(
      "- `database-instance` (aws:rds/instance:Instance): new instance class: the database fails over to its standby, typically 60–120 s without connections",
    );
    // The checklist follows: downtime scheduled for the database, a restored backup only for data that goes.
    const checklist = section(markdown, "Sign-off checklist");
    expect(checklist).toContain(
      "- [ ] The downtime of `database-instance` (restart, reboot or failover) is scheduled and announced",
    );
    expect(checklist).toContain(
      "- [ ] The data of `ingestion-nightly-logs`, `ingestion-nightly-secret` is meant to go, and a backup or snapshot of each was taken and restored once",
    );
  });

  it("flags the job's log group and secret (data that goes with them) and the protected bucket the update cannot delete", () => {
    const { markdown, flagged } = build();
    expect(flagged).toEqual([
      "**delete** ingestion-nightly-logs (aws:cloudwatch/logGroup:LogGroup)",
      "**delete** ingestion-nightly-secret (aws:secretsmanager/secret:Secret)",
      "**delete** storage-logs (aws:s3/bucket:Bucket; protected, retained on delete)",
    ]);
    const risk = section(markdown, "Data at risk");
    expect(risk).toContain(
      "**delete** `ingestion-nightly-logs` (aws:cloudwatch/logGroup:LogGroup): deleted, with its log events",
    );
    expect(risk).toContain(
      "**cannot delete** `storage-logs` (aws:s3/bucket:Bucket; protected, retained on delete)",
    );
  });

  it("a retained, unprotected bucket removed is left behind, unmanaged, with its objects — in data at risk, not absent", () => {
    const base = structuredClone(change.base);
    base.resources.find((r) => r.name === "storage-logs")!.protect = false;
    const { markdown, unmanaged } = build(base);
    expect(unmanaged).toEqual(["storage-logs (aws:s3/bucket:Bucket)"]);
    expect(section(markdown, "Data at risk")).toContain(
      "- :warning: **left behind** `storage-logs` (aws:s3/bucket:Bucket; retained on delete): left behind, unmanaged, with its objects, every version",
    );
    expect(markdown).toMatch(/\*\*1 resource left behind unmanaged\*\*/);
    expect(section(markdown, "Sign-off checklist")).toContain(
      "- [ ] `storage-logs`: left behind unmanaged on purpose",
    );
  });

  it("the headline carries the blocking reason and the data at risk; policy comes before the changes", () => {
    const { markdown, reasons } = build();
    expect(reasons).toEqual(["1 mandatory policy violation(s)"]);
    expect(markdown).toContain(
      "**Not ready to sign: 1 mandatory policy violation(s).** Also: **3 resources with data at risk**;",
    );
    const order = [
      "## Data at risk",
      "## Safety downgrades",
      "## Policy results",
      "## Risk",
      "## Counts",
      "## Change diagram",
      "## Changes by tier",
      "## Component changes",
      "## Sign-off checklist",
    ];
    const at = order.map((h) => markdown.indexOf(h));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("counts deployed resources only, and lists component input changes apart", () => {
    const { markdown } = build();
    const deployed = change.head.resources.filter((r) => !r.type.startsWith("stackport:")).length;
    expect(section(markdown, "Counts")).toContain(
      `| added | 24 |\n| replaced | 2 |\n| changed | 4 |\n| removed | 20 |\n| unchanged | ${deployed - 30} |`,
    );
    expect(section(markdown, "Counts")).toContain(
      "Components (their inputs are configuration, nothing deployed): 1 added, 4 changed, 1 removed",
    );
    const components = section(markdown, "Component changes");
    expect(components).toContain(
      "- changed `storage` stackport:aws:ObjectStorage — `buckets` `4 keys` → `−logs`",
    );
    expect(components).toContain(
      "- changed `ingestion` stackport:aws:Ingestion — `services` `3 keys` → `+export, −nightly`",
    );
    expect(section(markdown, "Changes by tier")).not.toContain("stackport:aws:");
  });

  it("names the policy config, its edits against the base, the rules run, and marks violations new or existing", () => {
    const head = structuredClone(change.head);
    head.safety = { ...head.safety!, policy: { ...head.safety!.policy, "aws-alb-access-logs": "disabled" } };
    head.violations = head.violations.filter((v) => v.policy !== "aws-alb-access-logs");
    const base = structuredClone(change.base);
    const old = {
      policy: "aws-rds-multi-az",
      enforcementLevel: "advisory",
      severity: "low",
      type: "aws:rds/instance:Instance",
      name: "database-instance",
      message: "m",
    };
    base.violations.push(old);
    head.violations.push(old, { ...old, name: "ingestion-export-service", message: "n" });
    const policy = section(build(base, head).markdown, "Policy results");
    expect(policy).toContain("Policy config: `policies/config/production.json`.");
    expect(policy).toContain('- `aws-alb-access-logs: unset → "disabled"`');
    expect(policy).toMatch(
      /Rules evaluated: (\d+) of the pack's (\d+) \(disabled by the config: `aws-alb-access-logs`\)/,
    );
    const [, enabled, total] = /Rules evaluated: (\d+) of the pack's (\d+)/.exec(policy)!;
    expect(Number(enabled)).toBe(Number(total) - 1);
    expect(policy).toContain(
      "2 violations: 1 existing (already in the base plan), 1 new (not in the base plan).",
    );
    expect(policy).toContain("| existing | advisory | low | `aws-rds-multi-az` | `database-instance`");
    expect(policy).toContain("| **new** | advisory | low | `aws-rds-multi-az` | `ingestion-export-service`");
    expect(section(build().markdown, "Policy results")).toContain(
      "The policy config is the same as the base's.",
    );
  });

  it("never prints a secret among the values", () => {
    const base = structuredClone(change.base);
    const head = structuredClone(change.head);
    const alarm = (p: PlanDocument) => p.resources.find((r) => r.name === "observability-dashboard")!;
    alarm(base).inputs = { ...alarm(base).inputs, password: "hunter2", environment: ["API_TOKEN=abc123"] };
    alarm(head).inputs = { ...alarm(head).inputs, password: "hunter3", environment: ["API_TOKEN=abc456"] };
    const { markdown } = build(base, head);
    expect(markdown).not.toMatch(/hunter|abc123|abc456/);
    expect(markdown).toContain("`password` `[secret]` → `[secret]`");
  });

  it("keeps the whole-stack diagram available on request, out of the report by default", () => {
    expect(build().markdown).not.toContain("## Whole stack");
    const full = buildSignoffReport({
      stack: "production",
      head: change.head,
      offline: { baseRef: "origin/main", base: change.base },
      fullDiagram: true,
    }).markdown;
    expect(section(full, "Whole stack")).toContain(
      `Every resource of the head plan (${change.head.resources.length})`,
    );
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
    expect(diagram).toContain('stack(["stack s#34;1"])');
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
      safetyAt: () => ({ environment: "staging", policyConfig: "policies/config/staging.json", policy: {} }),
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

  const files = (lockfiles: Record<string, string>, links: string[] = []): InstallFiles => ({
    read: (path) => (lockfiles[path] === undefined ? undefined : Buffer.from(lockfiles[path]!)),
    exists: (path) => path === "/repo/node_modules",
    symlink: (target, path) => void links.push(`${path} -> ${target}`),
  });

  it("reuses the working tree's install when the base's package-lock.json is byte-identical, and says so", async () => {
    const { d, calls } = deps({ code: 0, stdout: JSON.stringify(head), stderr: "" });
    const links: string[] = [];
    const progress: string[] = [];
    const lock = '{"lockfileVersion":3}\n';
    await buildBasePlan("origin/main", "staging", {
      ...d,
      progress: (l) => void progress.push(l),
      files: files({ "/repo/package-lock.json": lock, "/tmp/base/package-lock.json": lock }, links),
    });
    expect(calls.filter((c) => c.startsWith("npm"))).toEqual(["npm run build @/tmp/base"]);
    expect(links).toEqual(["/tmp/base/node_modules -> /repo/node_modules"]);
    expect(progress).toContain(
      "reusing the working tree's node_modules: origin/main has the same package-lock.json (no npm ci)",
    );
    // One byte apart: its own install.
    const other = deps({ code: 0, stdout: JSON.stringify(head), stderr: "" });
    await buildBasePlan("origin/main", "staging", {
      ...other.d,
      files: files({
        "/repo/package-lock.json": lock,
        "/tmp/base/package-lock.json": lock.replace("3", "2"),
      }),
    });
    expect(other.calls.filter((c) => c.startsWith("npm"))).toEqual([
      "npm ci --no-audit --no-fund @/tmp/base",
      "npm run build @/tmp/base",
    ]);
  });

  it("with real git: the linked node_modules serves the base's build and survives the worktree's removal", async () => {
    const repo = mkdtempSync(join(tmpdir(), "stackport-reuse-"));
    const git = (args: string[], cwd: string) => {
      const r = spawnSync("git", args, { cwd, encoding: "utf8", timeout: 30_000 });
      return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error) };
    };
    const id = ["-c", "user.email=t@example.org", "-c", "user.name=t"];
    writeFileSync(join(repo, "package-lock.json"), '{"lockfileVersion":3}\n');
    writeFileSync(join(repo, ".gitignore"), "node_modules/\n");
    mkdirSync(join(repo, "node_modules", "dep"), { recursive: true });
    writeFileSync(join(repo, "node_modules", "dep", "index.js"), "module.exports = 1;\n");
    for (const args of [
      ["init", "-q"],
      ["add", "."],
      [...id, "commit", "-qm", "base"],
    ])
      expect(git(args, repo).code).toBe(0);
    const worktree = join(mkdtempSync(join(tmpdir(), "stackport-wt-")), "tree");
    const seen: string[] = [];
    const { base } = await buildBasePlan("HEAD", "staging", {
      git: async (args, cwd) => git(args, cwd),
      npm: async (args, cwd) => {
        seen.push(`npm ${args.join(" ")}`);
        seen.push(readFileSync(join(cwd, "node_modules", "dep", "index.js"), "utf8").trim());
        return { code: 0, stdout: "", stderr: "" };
      },
      node: async () => ({ code: 0, stdout: JSON.stringify(head), stderr: "" }),
      repoRoot: repo,
      worktreePath: () => worktree,
      progress: () => undefined,
      safetyAt: () => undefined,
    });
    expect(base?.resources).toHaveLength(head.resources.length);
    expect(seen).toEqual(["npm run build", "module.exports = 1;"]);
    expect(existsSync(worktree)).toBe(false);
    expect(readFileSync(join(repo, "node_modules", "dep", "index.js"), "utf8")).toBe("module.exports = 1;\n");
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
    expect(w.stdout()).not.toContain("## Whole stack");
    const full = cliWorld({
      headPlan: async () => head,
      git: ok("git"),
      npm: ok("npm"),
      node: ok("node", JSON.stringify(head)),
    });
    expect(
      await main(["signoff", "staging", "--offline", "--base", "origin/main", "--full-diagram"], full.deps),
    ).toBe(0);
    expect(full.stdout()).toContain("## Whole stack");
    expect(w.stdout()).toContain("No changes.");
  });

  it("--out into a missing directory fails before any work, with exit 2 (not 1, which means not ready)", async () => {
    const planned = jest.fn(async () => head);
    const w = cliWorld({ headPlan: planned });
    const missing = join(mkdtempSync(join(tmpdir(), "stackport-signoff-")), "no-such-dir", "report.md");
    expect(await main(["signoff", "staging", "--offline", "--base", "main", "--out", missing], w.deps)).toBe(
      2,
    );
    expect(planned).not.toHaveBeenCalled();
    expect(w.stderr()).toContain(`--out ${missing}: directory`);
    expect(w.stderr()).toContain("does not exist or is not writable");
    const dir = mkdtempSync(join(tmpdir(), "stackport-signoff-"));
    expect(await main(["signoff", "staging", "--out", dir], w.deps)).toBe(2);
    expect(w.stderr()).toContain("is a directory; give a file name");
  });

  it("without the Pulumi CLI, sign-off points at its offline mode (with --base); history has no such mode", async () => {
    const noCli = new StackOpsError("the Pulumi CLI is not installed or not on PATH", true);
    const failing = {
      ...memoryStackOps({}),
      preview: async () => Promise.reject(noCli),
      history: async () => Promise.reject(noCli),
    };
    const w = cliWorld({ headPlan: async () => head, stackOps: () => failing });
    expect(await main(["signoff", "staging"], w.deps)).toBe(2);
    expect(w.stderr()).toContain(
      "not on PATH; `stackport signoff staging --offline --base <git-ref>` works without it",
    );
    const h = cliWorld({ stackOps: () => failing });
    expect(await main(["history", "staging"], h.deps)).toBe(2);
    expect(h.stderr()).toContain("not on PATH\n");
    expect(h.stderr()).not.toContain("--offline");
  });

  it("--offline without --base is a usage error", async () => {
    const w = cliWorld();
    expect(await main(["signoff", "staging", "--offline"], w.deps)).toBe(64);
    expect(w.stderr()).toContain("--offline and --base <git-ref> go together");
  });
});
