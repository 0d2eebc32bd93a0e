/**
 * PR review pieces on recorded-shape fixtures: NDJSON engine events as `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true
 * pulumi preview --json` streams them (apitype.EngineEvent, pulumi/pulumi `sdk/go/common/apitype/events.go`: resourcePreEvent.metadata,
 * policyEvent with apitype enforcement levels, PascalCase `PolicyPacks` in summaryEvent) and offline plan JSON.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type EngineEvent,
  type StepMetadata,
  changeDetail,
  commentMarker,
  diffPlans,
  parseEngineEvents,
  parseUrn,
  previewStreamProblem,
  renderReview,
  summarizePreview,
  tierOf,
} from "../../src/ops/review";
import type { PlanDocument } from "../../src/synth/render";
import { main } from "../../scripts/pr-comment";

const urn = (qualified: string, name: string) => `urn:pulumi:local::stackport::${qualified}::${name}`;
const labels = (tier: string) => [
  { label: "stackport.stack", value: "local" },
  { label: "stackport.tier", value: tier },
];

const EVENTS = [
  { sequence: 0, timestamp: 1760000000, preludeEvent: { config: { "stackport:environment": "local" } } },
  {
    sequence: 1,
    timestamp: 1760000001,
    resourcePreEvent: {
      metadata: {
        op: "same",
        urn: urn("pulumi:pulumi:Stack", "stackport-local"),
        type: "pulumi:pulumi:Stack",
        provider: "",
      },
      planning: true,
    },
  },
  {
    sequence: 2,
    timestamp: 1760000002,
    resourcePreEvent: {
      metadata: {
        op: "create",
        urn: urn("stackport:docker:ObjectStorage$docker:index/container:Container", "storage-server"),
        type: "docker:index/container:Container",
        new: {
          type: "docker:index/container:Container",
          urn: "",
          id: "",
          parent: "",
          provider: "",
          inputs: { labels: labels("storage") },
          outputs: {},
        },
        provider:
          "urn:pulumi:local::stackport::pulumi:providers:docker::laptop-docker::04da6b54-80e4-46f7-96ec-b56ff0331ba9",
      },
      planning: true,
    },
  },
  {
    sequence: 3,
    timestamp: 1760000003,
    resourcePreEvent: {
      metadata: {
        op: "update",
        urn: urn("stackport:docker:Proxy$docker:index/container:Container", "proxy-server"),
        type: "docker:index/container:Container",
        old: {
          type: "docker:index/container:Container",
          urn: "",
          id: "abc",
          parent: "",
          provider: "",
          inputs: { labels: labels("proxy") },
          outputs: {},
        },
        new: {
          type: "docker:index/container:Container",
          urn: "",
          id: "abc",
          parent: "",
          provider: "",
          inputs: { labels: labels("proxy") },
          outputs: {},
        },
        diffs: ["memory"],
        detailedDiff: { memory: { kind: "update", inputDiff: true } },
        provider: "",
      },
    },
  },
  {
    sequence: 4,
    timestamp: 1760000004,
    resourcePreEvent: {
      metadata: {
        op: "create",
        urn: urn("stackport:docker:Database", "database"),
        type: "stackport:docker:Database",
        provider: "",
      },
    },
  },
  {
    sequence: 5,
    timestamp: 1760000005,
    policyEvent: {
      resourceUrn: urn("stackport:docker:Proxy$docker:index/container:Container", "proxy-server"),
      message:
        "Long-running containers must set a memory limit.\nthe container has no memory limit (CIS Docker 5.11)",
      color: "never",
      policyName: "docker-memory-limit",
      policyPackName: "stackport",
      policyPackVersion: "0.1.0",
      policyPackVersionTag: "0.1.0",
      enforcementLevel: "advisory",
      severity: "medium",
    },
  },
  {
    sequence: 6,
    timestamp: 1760000006,
    policyEvent: {
      resourceUrn: urn("stackport:docker:ObjectStorage$docker:index/container:Container", "storage-server"),
      message:
        "Containers must not run privileged or add the SYS_ADMIN or ALL capabilities.\nthe container runs privileged (CIS Docker 5.5)",
      color: "never",
      policyName: "docker-no-privileged",
      policyPackName: "stackport",
      policyPackVersion: "0.1.0",
      policyPackVersionTag: "0.1.0",
      enforcementLevel: "mandatory",
      severity: "critical",
    },
  },
  {
    sequence: 7,
    timestamp: 1760000007,
    summaryEvent: {
      maybeCorrupt: false,
      durationSeconds: 3,
      resourceChanges: { create: 2, update: 1, same: 1 },
      PolicyPacks: { stackport: "0.1.0" },
      isPreview: true,
      result: "failed",
    },
  },
];
const NDJSON = [
  "Installing policy pack stackport 0.1.0...",
  ...EVENTS.map((e) => JSON.stringify(e)),
  "",
].join("\n");

const plan = (
  resources: Partial<PlanDocument["resources"][number]>[],
  violations: PlanDocument["violations"] = [],
): PlanDocument => ({
  stack: "local",
  project: "stackport",
  summary: { resources: resources.length, byType: {} },
  resources: resources.map((r) => ({
    type: "docker:index/container:Container",
    name: "x",
    parent: null,
    provider: null,
    inputs: {},
    protect: false,
    retainOnDelete: false,
    dependsOn: [],
    ...r,
  })),
  outputs: [],
  violations,
});

describe("engine events", () => {
  it("parses NDJSON, skipping CLI chatter", () => {
    const { events, skipped } = parseEngineEvents(NDJSON);
    expect(events).toHaveLength(EVENTS.length);
    expect(skipped).toBe(1);
  });
  it("parses URNs with parent type chains", () => {
    expect(parseUrn(urn("stackport:docker:Proxy$docker:index/container:Container", "proxy-server"))).toEqual({
      type: "docker:index/container:Container",
      name: "proxy-server",
    });
  });
  it("summarizes steps (no sames, no stack) and policy events (rule message without the description)", () => {
    const s = summarizePreview(parseEngineEvents(NDJSON).events);
    expect(s.changes.map((c) => [c.op, c.name, c.tier])).toEqual([
      ["create", "storage-server", "storage"],
      ["update", "proxy-server", "proxy"],
      ["create", "database", "database"],
    ]);
    expect(s.changes[1]!.diffs).toEqual(["memory"]);
    expect(s.violations).toEqual([
      expect.objectContaining({
        policy: "docker-memory-limit",
        enforcementLevel: "advisory",
        name: "proxy-server",
        message: "the container has no memory limit (CIS Docker 5.11)",
      }),
      expect.objectContaining({
        policy: "docker-no-privileged",
        enforcementLevel: "mandatory",
        severity: "critical",
        type: "docker:index/container:Container",
      }),
    ]);
    expect(s.summary).toEqual({ create: 2, update: 1, same: 1 });
    expect(s.result).toBe("failed");
  });
  it("treats the legacy 'warning' level as advisory and collects error diagnostics", () => {
    const s = summarizePreview([
      { policyEvent: { message: "m", policyName: "p", policyPackName: "k", enforcementLevel: "warning" } },
      { diagnosticEvent: { message: "error: docker daemon unreachable\n", severity: "error" } },
      { diagnosticEvent: { message: "noise", severity: "error", ephemeral: true } },
    ]);
    expect(s.violations[0]!.enforcementLevel).toBe("advisory");
    expect(s.violations[0]!.name).toBe("(stack)");
    expect(s.errors).toEqual(["error: docker daemon unreachable"]);
  });
});

describe("a replacement is one change", () => {
  const volume = urn("stackport:docker:Database$docker:index/volume:Volume", "database-data");
  const step = (op: string, extra: Partial<StepMetadata> = {}): EngineEvent => ({
    resourcePreEvent: {
      metadata: {
        op,
        urn: volume,
        type: "docker:index/volume:Volume",
        keys: ["name"],
        diffs: ["name"],
        detailedDiff: { name: { diffKind: "update-replace", inputDiff: true } },
        old: { inputs: { name: "old", labels: labels("database") } },
        new: { inputs: { name: "new", labels: labels("database") } },
        ...extra,
      },
      planning: true,
    },
  });
  const summary: EngineEvent = { summaryEvent: { resourceChanges: { replace: 1 }, result: "succeeded" } };

  it.each([
    ["create before delete", ["create-replacement", "replace", "delete-replaced"]],
    ["delete before replace", ["delete-replaced", "replace", "create-replacement"]],
  ])("%s: the engine's three steps give one change, with the keys that force it", (_, ops) => {
    const s = summarizePreview([
      ...ops.map((op) => step(op, op === "replace" ? { logical: true } : {})),
      summary,
    ]);
    expect(s.changes).toEqual([
      {
        op: "replace",
        type: "docker:index/volume:Volume",
        name: "database-data",
        tier: "database",
        diffs: ["name"],
        replaceKeys: ["name"],
      },
    ]);
    expect(changeDetail(s.changes[0]!, (x) => `\`${x}\``)).toBe(" — `name`; replaced because of `name`");
  });

  it("a companion step alone still shows as the replacement it belongs to", () => {
    expect(summarizePreview([step("create-replacement")]).changes.map((c) => c.op)).toEqual(["replace"]);
  });

  it("reads the engine's errorEvent.error", () => {
    expect(summarizePreview([{ errorEvent: { error: "internal: snapshot integrity\n" } }]).errors).toEqual([
      "internal: snapshot integrity",
    ]);
  });

  it("a stream is trusted only when it parses line by line and ends with its summaryEvent", () => {
    expect(previewStreamProblem(parseEngineEvents(NDJSON))).toBeUndefined();
    expect(previewStreamProblem(parseEngineEvents('{\n  "steps": []\n}\n'))).toMatch(
      /1 line\(s\) of the preview output are not engine events/,
    );
    expect(previewStreamProblem({ events: [step("replace")], broken: 0 })).toMatch(/no summaryEvent/);
  });
});

describe("tierOf", () => {
  it("prefers the stackport.tier label or tag, then the component type, then the name", () => {
    expect(
      tierOf({ type: "docker:index/volume:Volume", name: "x", inputs: { labels: labels("observability") } }),
    ).toBe("observability");
    expect(
      tierOf({
        type: "aws:s3/bucket:Bucket",
        name: "raw",
        inputs: { tags: { "stackport.tier": "storage" } },
      }),
    ).toBe("storage");
    expect(tierOf({ type: "stackport:docker:ObjectStorage", name: "objects" })).toBe("storage");
    expect(
      tierOf({ type: "random:index/randomPassword:RandomPassword", name: "database-app-password" }),
    ).toBe("database");
    expect(tierOf({ type: "pulumi:providers:docker", name: "laptop-docker" })).toBe("target");
    expect(tierOf({ type: "random:index/randomId:RandomId", name: "salt" })).toBe("other");
  });
});

describe("diffPlans", () => {
  it("finds added, removed and changed resources by type and name", () => {
    const base = plan([
      { name: "storage-server", inputs: { memory: 512, labels: labels("storage") } },
      { name: "old-job", inputs: {} },
      { type: "docker:index/volume:Volume", name: "storage-data", protect: false, inputs: { name: "v" } },
    ]);
    const head = plan([
      { name: "storage-server", inputs: { labels: labels("storage"), memory: 1024 } },
      { type: "docker:index/volume:Volume", name: "storage-data", protect: true, inputs: { name: "v" } },
      { name: "database-server", inputs: { labels: labels("database") } },
    ]);
    const d = diffPlans(base, head);
    expect(d.added.map((r) => r.name)).toEqual(["database-server"]);
    expect(d.removed.map((r) => r.name)).toEqual(["old-job"]);
    expect(d.changed.map((c) => [c.resource.name, c.fields])).toEqual([
      ["storage-server", ["memory"]],
      ["storage-data", ["(protect)"]],
    ]);
  });
  it("key order inside inputs is not a change", () => {
    const a = plan([{ inputs: { healthcheck: { tests: ["a"], interval: "5s" } } }]);
    const b = plan([{ inputs: { healthcheck: { interval: "5s", tests: ["a"] } } }]);
    expect(diffPlans(a, b).changed).toEqual([]);
  });
});

describe("renderReview", () => {
  const preview = summarizePreview(parseEngineEvents(NDJSON).events);
  const head = plan(
    [{ name: "storage-server", inputs: { labels: labels("storage") } }],
    [
      {
        policy: "docker-memory-limit",
        enforcementLevel: "advisory",
        severity: "medium",
        type: "docker:index/container:Container",
        name: "proxy-server",
        message: "no | limit",
      },
    ],
  );

  it("writes one comment: marker, result, violations table, changes by tier, plan diff — and fails on mandatory", () => {
    const r = renderReview({ stack: "local", preview, previewExitCode: 255, head, base: plan([]) });
    expect(r.markdown.startsWith(commentMarker("local"))).toBe(true);
    expect(r.failed).toBe(true);
    expect(r.reasons).toEqual(["1 mandatory policy violation(s)"]);
    expect(r.markdown).toMatch(/\*\*Result: blocked\*\*/);
    expect(r.markdown).toMatch(
      /\| \*\*mandatory\*\* \| critical \| `docker-no-privileged` \| `storage-server`/,
    );
    expect(r.markdown).toMatch(/no \\\| limit \| synth \|/);
    expect(r.markdown).toMatch(
      /<b>storage<\/b> \(1\)[\s\S]*<b>database<\/b> \(1\)[\s\S]*<b>proxy<\/b> \(1\)/,
    );
    expect(r.markdown).toMatch(/- update `proxy-server` docker:index\/container:Container — `memory`/);
    expect(r.markdown).toMatch(/- added `storage-server`/);
    // The mandatory row sorts first.
    expect(r.markdown.indexOf("docker-no-privileged")).toBeLessThan(
      r.markdown.indexOf("docker-memory-limit"),
    );
  });

  it("passes with only advisory findings", () => {
    const ok = {
      ...preview,
      violations: preview.violations.filter((v) => v.enforcementLevel !== "mandatory"),
    };
    const r = renderReview({ stack: "local", preview: ok, previewExitCode: 0, head, base: head });
    expect(r.failed).toBe(false);
    expect(r.markdown).toMatch(/No differences\./);
  });

  it("heads the comment with a cutover in progress and its runbook checklist", () => {
    const moving = {
      ...head,
      cutovers: [
        {
          tier: "database" as const,
          from: "homelab",
          to: "cloud",
          phase: "backfill" as const,
          actions: ["final database copy homelab → cloud, then verification per table"],
          runbook: "docs/runbooks/cutover-homelab-to-aws.md",
        },
      ],
    };
    const r = renderReview({
      stack: "s",
      preview: summarizePreview([]),
      previewExitCode: 0,
      head: moving,
      base: head,
    });
    expect(r.markdown).toContain(
      "**Cutover** database `homelab` → `cloud`, phase `backfill`: final database copy homelab → cloud, then verification per table. Sign off with the phase's checklist in [the runbook](docs/runbooks/cutover-homelab-to-aws.md#backfill).",
    );
    expect(
      renderReview({ stack: "s", preview: summarizePreview([]), previewExitCode: 0, head, base: head })
        .markdown,
    ).not.toContain("**Cutover**");
  });

  it("fails when the preview itself failed without a policy reason, or the head did not synthesize", () => {
    expect(
      renderReview({ stack: "s", preview: summarizePreview([]), previewExitCode: 255, head }).reasons,
    ).toEqual(["pulumi preview exited 255"]);
    const r = renderReview({ stack: "s" });
    expect(r.failed).toBe(true);
    expect(r.markdown).toMatch(/did not run/);
  });

  it("lists safety downgrades from the real preview's step states and from the plans, once each", () => {
    const volume = urn("docker:index/volume:Volume", "database-data");
    const step = (op: string, protect: boolean) => ({
      resourcePreEvent: {
        metadata: {
          op,
          urn: volume,
          type: "docker:index/volume:Volume",
          old: { inputs: { name: "staging-database-data" }, protect: true, retainOnDelete: true },
          new: { inputs: { name: "staging-database-data" }, protect, retainOnDelete: true },
        },
      },
    });
    const relabelled = summarizePreview([step("update", false)] as EngineEvent[]);
    const safety = (environment: string) => ({
      environment,
      policyConfig: "policies/config/staging.json",
      policy: {},
    });
    const data = (protect: boolean) =>
      plan([{ type: "docker:index/volume:Volume", name: "database-data", protect, retainOnDelete: true }]);
    const r = renderReview({
      stack: "staging",
      preview: relabelled,
      previewExitCode: 0,
      base: { ...data(true), safety: safety("staging") },
      head: { ...data(false), safety: safety("local") },
    });
    const section = r.markdown.slice(
      r.markdown.indexOf("#### Safety downgrades"),
      r.markdown.indexOf("#### Policy"),
    );
    expect(section.match(/^- :warning: .*$/gm)).toEqual([
      "- :warning: `database-data (docker:index/volume:Volume)`: protect true → false: a destroy or replacement deletes it",
      '- :warning: `stack`: stackport:environment "staging" → "local": the program\'s defaults for protection, backups and retention follow it',
    ]);
    expect(r.markdown).toMatch(
      /\*\*Result: ok\*\* \(no mandatory violation\); \*\*2 safety downgrade\(s\)\*\* to approve/,
    );
    // The same volume still protected: nothing to list.
    const same = renderReview({
      stack: "staging",
      preview: summarizePreview([step("update", true)] as EngineEvent[]),
      previewExitCode: 0,
      base: data(true),
      head: data(true),
    });
    expect(same.markdown).toContain("None: no protection is switched off.");
  });

  it("fails on an offline mandatory violation alone", () => {
    const bad = plan(
      [],
      [
        {
          policy: "stateful-protected",
          enforcementLevel: "mandatory",
          severity: "high",
          type: "t",
          name: "n",
          message: "m",
        },
      ],
    );
    expect(renderReview({ stack: "s", head: bad }).failed).toBe(true);
  });
});

describe("scripts/pr-comment", () => {
  it("reads the files, writes the comment and exits 1 on a mandatory violation", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackport-review-"));
    writeFileSync(join(dir, "events.ndjson"), NDJSON);
    writeFileSync(join(dir, "head.json"), JSON.stringify(plan([{ name: "a" }])));
    writeFileSync(join(dir, "base.json"), "not json: the base could not synthesize");
    const code = main([
      "--stack",
      "local",
      "--events",
      join(dir, "events.ndjson"),
      "--head",
      join(dir, "head.json"),
      "--base",
      join(dir, "base.json"),
      "--preview-exit-code",
      "255",
      "--out",
      join(dir, "c.md"),
    ]);
    expect(code).toBe(1);
    const md = readFileSync(join(dir, "c.md"), "utf8");
    expect(md).toMatch(/No base plan/);
    expect(md).toMatch(/docker-no-privileged/);
  });
  it("exits 1 with how to stream when the preview output is not a finished event stream", () => {
    const dir = mkdtempSync(join(tmpdir(), "stackport-review-"));
    writeFileSync(join(dir, "head.json"), JSON.stringify(plan([{ name: "a" }])));
    // What `pulumi preview --json` prints without PULUMI_ENABLE_STREAMING_JSON_PREVIEW: one indented document.
    const digest = JSON.stringify({ steps: [], diagnostics: [], changeSummary: { same: 3 } }, null, 2);
    const cases = {
      "digest.json": digest,
      "cut.ndjson": NDJSON.split("\n")
        .filter((l) => !l.includes("summaryEvent"))
        .join("\n"),
    };
    const stderr: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((s) => (stderr.push(String(s)), true));
    try {
      for (const [file, text] of Object.entries(cases)) {
        writeFileSync(join(dir, file), text);
        const out = join(dir, `${file}.md`);
        const args = [
          "--stack",
          "local",
          "--events",
          join(dir, file),
          "--head",
          join(dir, "head.json"),
          "--out",
          out,
        ];
        expect(main(args)).toBe(1);
      }
    } finally {
      spy.mockRestore();
    }
    expect(stderr).toEqual([
      expect.stringMatching(
        /digest\.json: \d+ line\(s\) .*PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true pulumi preview --json/,
      ),
      expect.stringMatching(
        /cut\.ndjson: the preview output has no summaryEvent.*PULUMI_ENABLE_STREAMING_JSON_PREVIEW/,
      ),
    ]);
  });
  it("exits 64 on bad usage", () => {
    const spy = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    expect(main(["--events"])).toBe(64);
    spy.mockRestore();
  });
});

describe("data at risk in the PR comment", () => {
  const volume = urn("stackport:docker:Database$docker:index/volume:Volume", "database-data");
  const container = urn("stackport:docker:Database$docker:index/container:Container", "database-server");
  const pre = (op: string, u: string, type: string, old: Record<string, unknown>): EngineEvent => ({
    resourcePreEvent: {
      metadata: { op, urn: u, type, old: { inputs: {}, ...old }, new: { inputs: {} } },
      planning: true,
    },
  });
  const stream = [
    // A replaced volume, as the engine previews it: three steps for one replacement.
    ...["create-replacement", "replace", "delete-replaced"].map((op) =>
      pre(op, volume, "docker:index/volume:Volume", { protect: true, retainOnDelete: true }),
    ),
    // A replaced container holds no data: not at risk.
    pre("replace", container, "docker:index/container:Container", {}),
    { summaryEvent: { resourceChanges: { replace: 2 }, result: "succeeded" } },
  ];

  function comment(extra: string[] = [], events: EngineEvent[] = stream) {
    const dir = mkdtempSync(join(tmpdir(), "stackport-review-"));
    writeFileSync(join(dir, "events.ndjson"), events.map((e) => JSON.stringify(e)).join("\n"));
    writeFileSync(join(dir, "head.json"), JSON.stringify(plan([{ name: "a" }])));
    const out = join(dir, "c.md");
    const code = main([
      "--stack",
      "local",
      "--events",
      join(dir, "events.ndjson"),
      "--head",
      join(dir, "head.json"),
      "--out",
      out,
      ...extra,
    ]);
    return { code, md: readFileSync(out, "utf8") };
  }
  const section = (md: string) => md.split("#### Data at risk\n\n")[1]!.split("\n####")[0]!.trim();

  it("lists each stateful resource the preview replaces once, with its protections, and counts it in the result", () => {
    const { code, md } = comment();
    expect(code).toBe(0);
    expect(section(md)).toBe(
      "- :warning: **replace** `database-data (docker:index/volume:Volume; protected, retained on delete)`",
    );
    expect(md).toMatch(/\*\*Result: ok\*\*.*; \*\*1 resource\(s\) with data at risk\*\* \(below\)/);
    // The Safety downgrades section stays, before it.
    expect(md.indexOf("#### Safety downgrades")).toBeLessThan(md.indexOf("#### Data at risk"));
  });

  it("says none when no stateful resource is deleted or replaced", () => {
    const md = renderReview({ stack: "local", preview: summarizePreview([]), dataAtRisk: [] }).markdown;
    expect(section(md)).toBe("None: the preview deletes or replaces no stateful or protected resource.");
  });

  it("labels a preview against throwaway state: nothing can show at risk there", () => {
    // Against empty state every step is a create.
    const creates: EngineEvent[] = [
      {
        resourcePreEvent: {
          metadata: { op: "create", urn: volume, type: "docker:index/volume:Volume", new: { inputs: {} } },
        },
      },
      { summaryEvent: { resourceChanges: { create: 1 }, result: "succeeded" } },
    ];
    const { md } = comment(["--throwaway-state", "true"], creates);
    expect(section(md)).toMatch(/^:warning: _Previewed against throwaway empty state/);
    expect(md).toMatch(/previewed against \*\*throwaway state\*\*/);
    expect(md).not.toMatch(/with data at risk/);
  });

  it("says the preview did not run when there are no events", () => {
    expect(section(renderReview({ stack: "local" }).markdown)).toBe(
      "_The real preview did not run for this stack._",
    );
  });

  it("rejects a --throwaway-state that is not true or false (exit 64)", () => {
    const stderr: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((s) => (stderr.push(String(s)), true));
    try {
      expect(main(["--stack", "local", "--throwaway-state", "yes"])).toBe(64);
    } finally {
      spy.mockRestore();
    }
    expect(stderr.join("")).toContain("--throwaway-state must be true or false, not 'yes'");
  });
});
