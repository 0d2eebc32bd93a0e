/**
 * Cutover phases → placement: where the tier runs, where traffic goes, when writes are frozen, which copy runs,
 * and which phase changes are safe.
 */
import {
  cutoverProblems,
  phaseChangeProblem,
  placementFor,
  PHASES,
  type Phase,
} from "../../src/config/phases";

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
