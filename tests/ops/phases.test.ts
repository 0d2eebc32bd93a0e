/**
 * Cutover phases → placement: where the tier runs, where traffic goes, when writes are frozen, which copy runs,
 * and which phase changes are safe — offline (base plan → head plan) and online (the config the stack's last
 * successful update recorded → the head), in sign-off and rollback.
 */
import { join } from "node:path";
import {
  cutoverProblems,
  cutoverStepProblems,
  deployedPhaseProblems,
  phaseChangeProblem,
  placementFor,
  PHASES,
  recordedCutovers,
  type Phase,
} from "../../src/config/phases";
import { main } from "../../src/ops/cli";
import { phaseOrderProblems } from "../../src/ops/history";
import { planDocument, type PlanDocument } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile } from "../../src/synth/stackFile";
import { cliWorld, eventsFixture, historyFixture, memoryStackOps } from "./fakePulumi";

const move = (phase: Phase) => placementFor("homelab", { from: "homelab", to: "aws", phase });

describe("placementFor", () => {
  it("without a cutover the tier runs and serves where it is placed", () => {
    expect(placementFor("homelab")).toEqual({
      targets: ["homelab"],
      serving: "homelab",
      writesFrozen: false,
      mirror: false,
      copy: "none",
      retained: [],
    });
  });

  it("source and target both run from replicate to switch; only the target after decommission", () => {
    for (const phase of ["replicate", "freeze", "backfill", "switch"] as const) {
      expect(move(phase).targets).toEqual(["homelab", "aws"]);
    }
    expect(move("decommission")).toMatchObject({ targets: ["aws"], retained: ["homelab"] });
  });

  it("traffic moves to the target at switch, never before", () => {
    expect(PHASES.map((p) => move(p).serving)).toEqual(["homelab", "homelab", "homelab", "aws", "aws"]);
  });

  it("writes are frozen exactly during freeze and backfill; the final copy runs frozen, without the mirror", () => {
    expect(PHASES.map((p) => move(p).writesFrozen)).toEqual([false, true, true, false, false]);
    expect(move("replicate")).toMatchObject({ mirror: true, copy: "initial" });
    expect(move("backfill")).toMatchObject({ mirror: false, copy: "final", writesFrozen: true });
  });
});

describe("cutoverProblems", () => {
  it("names the key for unknown targets, a move to itself, and a tier not on the source", () => {
    expect(
      cutoverProblems("database", "homelab", { from: "homelab", to: "aws", phase: "freeze" }, [
        "homelab",
        "aws",
      ]),
    ).toEqual([]);
    expect(
      cutoverProblems("database", "laptop", { from: "homelab", to: "homelab", phase: "freeze" }, [
        "homelab",
        "laptop",
      ]),
    ).toEqual([
      "stackport:cutover.database: from and to are both 'homelab'",
      "stackport:cutover.database.from: is 'homelab' but the tier is on 'laptop'; keep database.on at the source until the cutover ends",
    ]);
    expect(
      cutoverProblems("storage", "homelab", { from: "homelab", to: "aws", phase: "replicate" }, ["homelab"]),
    ).toEqual(["stackport:cutover.storage.to: unknown target 'aws'; targets of this stack: homelab"]);
  });
});

describe("phaseChangeProblem", () => {
  it("allows starting with replicate and each single step forward, and staying", () => {
    expect(phaseChangeProblem(undefined, "replicate")).toBeUndefined();
    for (let i = 1; i < PHASES.length; i++)
      expect(phaseChangeProblem(PHASES[i - 1], PHASES[i]!)).toBeUndefined();
    expect(phaseChangeProblem("freeze", "freeze")).toBeUndefined();
  });

  it("refuses skipping a phase and says which to run first", () => {
    expect(phaseChangeProblem("replicate", "switch")).toBe(
      "cutover cannot go from replicate to switch: run freeze, then backfill first",
    );
    expect(phaseChangeProblem(undefined, "backfill")).toMatch(/run replicate, then freeze first/);
  });

  it("allows one step back while the source serves; refuses going back after the switch", () => {
    expect(phaseChangeProblem("backfill", "freeze")).toBeUndefined();
    expect(phaseChangeProblem("freeze", "replicate")).toBeUndefined();
    expect(phaseChangeProblem("backfill", "replicate")).toMatch(/one phase at a time/);
    expect(phaseChangeProblem("switch", "backfill")).toMatch(/reverse cutover/);
  });
});

const db = (phase: Phase) => ({ tier: "database" as const, from: "homelab", to: "aws", phase });

describe("a skipped phase is refused, naming the key", () => {
  it("replicate straight to switch: refused offline (base plan → head) and online (last update → head)", () => {
    const refusal =
      "stackport:cutover.database.phase: cutover cannot go from replicate to switch: run freeze, then backfill first";
    expect(cutoverStepProblems([db("replicate")], [db("switch")])).toEqual([refusal]);
    expect(deployedPhaseProblems({ what: "update 7", cutovers: [db("replicate")] }, [db("switch")])).toEqual([
      'stackport:cutover.database.phase: the stack is at replicate (update 7) and this change asks for switch: cutover cannot go from replicate to switch: run freeze, then backfill first (see docs/runbooks/cutover-homelab-to-aws.md, "Every phase, the same loop")',
    ]);
    // Each single step of the same cutover is accepted.
    for (let i = 1; i < PHASES.length; i++)
      expect(cutoverStepProblems([db(PHASES[i - 1]!)], [db(PHASES[i]!)])).toEqual([]);
  });

  it("an external source's cutover follows the same order, with its own runbook in the refusal", () => {
    const supabase = (phase: Phase) => ({ tier: "database", from: "supabase", to: "homelab", phase });
    expect(
      deployedPhaseProblems({ what: "update 3", cutovers: [supabase("replicate")] }, [
        { ...supabase("switch"), runbook: "docs/runbooks/cutover-supabase-to-homelab.md" },
      ]),
    ).toEqual([
      'stackport:cutover.database.phase: the stack is at replicate (update 3) and this change asks for switch: cutover cannot go from replicate to switch: run freeze, then backfill first (see docs/runbooks/cutover-supabase-to-homelab.md, "Every phase, the same loop")',
    ]);
  });
});

describe("cutoverStepProblems: ending a cutover", () => {
  it("ends after decommission, or abandons before switch; ending at switch skips decommission", () => {
    expect(cutoverStepProblems([db("decommission")], [])).toEqual([]);
    expect(cutoverStepProblems([db("backfill")], [])).toEqual([]);
    expect(cutoverStepProblems([db("switch")], [])).toEqual([
      "stackport:cutover.database: cutover cannot end at switch: run decommission first, or go back with a reverse cutover (from aws to homelab); writes may have landed on aws",
    ]);
    // The way back after a switch is a reverse cutover, which starts at replicate.
    expect(
      cutoverStepProblems(
        [db("switch")],
        [{ tier: "database", from: "aws", to: "homelab", phase: "replicate" }],
      ),
    ).toEqual([]);
  });
});

describe("recordedCutovers: stackport:cutover as the history records it", () => {
  const object = { database: { from: "homelab", to: "aws", phase: "freeze" } };
  it("reads the object value, or the JSON in value, and [] when the key is absent", () => {
    expect(recordedCutovers({ "stackport:cutover": { objectValue: object } }, "stackport")).toEqual([
      db("freeze"),
    ]);
    expect(recordedCutovers({ "stackport:cutover": { value: JSON.stringify(object) } }, "stackport")).toEqual(
      [db("freeze")],
    );
    expect(recordedCutovers({ "stackport:environment": { value: "staging" } }, "stackport")).toEqual([]);
    expect(recordedCutovers({ "other:cutover": { objectValue: object } }, "stackport")).toEqual([]);
  });

  it("says why when it cannot read the phases: a secret, or not the config's shape", () => {
    expect(recordedCutovers({ "stackport:cutover": { secret: true } }, "stackport")).toMatch(/secret/);
    expect(recordedCutovers({ "stackport:cutover": { value: "[1]" } }, "stackport")).toMatch(
      /not recorded as an object/,
    );
    expect(
      recordedCutovers(
        { "stackport:cutover": { objectValue: { database: { from: "a", to: "b", phase: "swap" } } } },
        "stackport",
      ),
    ).toBe("stackport:cutover.database is not recorded as { from, to, phase } with a known phase");
  });
});

describe("deployedPhaseProblems", () => {
  it("names the phase deployed, the phase asked for, why, and the runbook", () => {
    expect(
      deployedPhaseProblems(
        { what: "its last successful update, 12, commit abc1234", cutovers: [db("replicate")] },
        [{ ...db("backfill"), runbook: "docs/runbooks/cutover-homelab-to-aws.md" }],
      ),
    ).toEqual([
      'stackport:cutover.database.phase: the stack is at replicate (its last successful update, 12, commit abc1234) and this change asks for backfill: cutover cannot go from replicate to backfill: run freeze first (see docs/runbooks/cutover-homelab-to-aws.md, "Every phase, the same loop")',
    ]);
  });
});

describe("phaseOrderProblems: against the stack's history", () => {
  const history = historyFixture("history-cutover.json");

  it("starts from the newest successful update: a failed update deployed no phase, a refresh none either", () => {
    // The newest entry is a failed update at switch; the phase deployed is backfill.
    expect(phaseOrderProblems(history, "stackport", [db("switch")])).toEqual([]);
    const skip = phaseOrderProblems(history, "stackport", [db("decommission")]);
    expect(skip).toHaveLength(1);
    expect(skip[0]).toContain(
      "the stack is at backfill (its last successful update, 2026-05-04T09:00:00.000Z, commit e1e1e1e)",
    );
    expect(skip[0]).toContain(
      "asks for decommission: cutover cannot go from backfill to decommission: run switch first",
    );
    expect(skip[0]).toContain("docs/runbooks/cutover-homelab-to-aws.md");
  });

  it("treats a stack with no successful update as having no cutover", () => {
    expect(phaseOrderProblems([], "stackport", [db("freeze")])).toEqual([
      'stackport:cutover.database.phase: the stack is at no cutover (no successful update in its history) and this change asks for freeze: cutover cannot go from no cutover to freeze: run replicate first (see docs/runbooks/cutover-homelab-to-aws.md, "Every phase, the same loop")',
    ]);
  });

  it("refuses when the recorded phase cannot be read", () => {
    const secret = structuredClone(history);
    // Recorded without a value, as `pulumi stack history --json` writes a secret when not showing secrets.
    Object.assign(secret[1]!.config!, { "stackport:cutover": { secret: true } });
    expect(phaseOrderProblems(secret, "stackport", [db("switch")])).toEqual([
      "cannot check the cutover phase order against its last successful update, 2026-05-04T09:00:00.000Z, commit e1e1e1e: stackport:cutover is recorded as a secret, so its phases cannot be read",
    ]);
  });
});

describe("online sign-off: the phase order from the stack's history", () => {
  let head: PlanDocument;
  beforeAll(async () => {
    head = planDocument(await synthesize(readStackFile(join(__dirname, "..", ".."), "staging")));
  });
  const at = (phase: Phase): PlanDocument => ({
    ...structuredClone(head),
    cutovers: [{ ...db(phase), actions: [], runbook: "docs/runbooks/cutover-homelab-to-aws.md" }],
  });
  const signoff = async (phase: Phase) => {
    const ops = memoryStackOps({
      history: historyFixture("history-cutover.json"),
      events: eventsFixture("preview-safe.ndjson"),
    });
    const w = cliWorld({ stackOps: () => ops, headPlan: async () => at(phase) });
    return { code: await main(["signoff", "staging"], w.deps), w, ops };
  };

  it("is not ready to sign when the head skips the phase after the one deployed, naming both and the runbook", async () => {
    const { code, w, ops } = await signoff("decommission");
    expect(code).toBe(1);
    expect(ops.calls.find((c) => c.op === "history")).toMatchObject({ stack: "staging" });
    expect(w.stderr()).toContain(
      "not ready to sign: stackport:cutover.database.phase: the stack is at backfill (its last successful update, 2026-05-04T09:00:00.000Z, commit e1e1e1e) and this change asks for decommission: cutover cannot go from backfill to decommission: run switch first",
    );
    expect(w.stdout()).toContain("run switch first (see docs/runbooks/cutover-homelab-to-aws.md");
  });

  it("is ready for review for the next phase", async () => {
    const { code, w } = await signoff("switch");
    expect(w.stderr()).toContain("ready for review");
    expect(code).toBe(0);
  });
});
