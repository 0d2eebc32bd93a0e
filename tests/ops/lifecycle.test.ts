/**
 * The step kinds beyond create/update/replace, as the engine emits them (tests/fixtures/ops/preview-lifecycle.ndjson,
 * pulumi/pulumi `pkg/resource/deploy/step_generator.go` and `step.go`): a delete-before-replace replacement
 * (`delete-replaced` first, then `replace`, then `create-replacement`), an `import`, a `read` and a `discard`, and a
 * summaryEvent whose local policy pack is keyed `name|local|path` (`pkg/engine/update.go`, `NameForEvents`).
 */
import { join } from "node:path";
import { onlineChanges } from "../../src/ops/changeSet";
import { policyPackRuns, summarizePreview } from "../../src/ops/review";
import { dataAtRisk } from "../../src/ops/rollback";
import { buildSignoffReport } from "../../src/ops/signoff";
import { planDocument, type PlanDocument } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile } from "../../src/synth/stackFile";
import { eventsFixture } from "./fakePulumi";

const events = eventsFixture("preview-lifecycle.ndjson");

describe("summarizePreview on the engine's other step kinds", () => {
  it("counts a delete-before-replace replacement once, with the key that forces it", () => {
    const ops = events.map((e) => e.resourcePreEvent?.metadata.op).filter(Boolean);
    // The fixture is in the engine's delete-before-replace order.
    expect(ops.slice(1, 4)).toEqual(["delete-replaced", "replace", "create-replacement"]);
    const { changes } = summarizePreview(events);
    const proxy = changes.filter((c) => c.name === "proxy-server");
    expect(proxy).toEqual([
      {
        op: "replace",
        type: "docker:index/container:Container",
        name: "proxy-server",
        tier: "proxy",
        diffs: ["name"],
        replaceKeys: ["name"],
      },
    ]);
  });

  it("shows an import and a discard under their own names, and a read as no change", () => {
    const { changes } = summarizePreview(events);
    expect(changes.map((c) => `${c.op} ${c.name}`)).toEqual([
      "replace proxy-server",
      "import database-backups",
      "discard legacy-lan",
    ]);
    expect(changes.find((c) => c.op === "import")?.tier).toBe("database");
  });

  it("does not take a discard (forgetting a read resource) for a deletion", () => {
    expect(dataAtRisk(events).map((r) => `${r.op} ${r.name}`)).toEqual([]);
  });

  it("reads a local policy pack's key as its name, version and path", () => {
    expect(summarizePreview(events).policyPacks).toEqual([
      { name: "stackport", version: "0.1.0", path: "/home/runner/work/stackport/stackport/policies" },
    ]);
    // A pack the service enforces is keyed by its name alone; a name with `|` but no `|local|` stays whole.
    expect(policyPackRuns({ "org-pack": "v3", "a|b": "1" })).toEqual([
      { name: "org-pack", version: "v3" },
      { name: "a|b", version: "1" },
    ]);
  });
});

describe("online sign-off with a local policy pack", () => {
  let head: PlanDocument;
  beforeAll(async () => {
    head = planDocument(await synthesize(readStackFile(join(__dirname, "..", ".."), "staging")));
  });

  it("names the pack without the engine's |local|<path> suffix", () => {
    const { markdown } = buildSignoffReport({ stack: "staging", head, events });
    expect(markdown).toContain("with the policy pack(s) stackport 0.1.0.");
    expect(markdown).not.toContain("|local|");
  });

  it("lists the import and the discard among the changes; the discard as left behind, not deleted", () => {
    const changes = onlineChanges(events, head).changes.map((c) => `${c.op} ${c.name} ${c.outcome.kind}`);
    expect(changes).toEqual(
      expect.arrayContaining(["added database-backups create", "removed legacy-lan left-behind"]),
    );
    expect(changes.filter((c) => c.endsWith(" delete"))).toEqual([]);
  });
});
