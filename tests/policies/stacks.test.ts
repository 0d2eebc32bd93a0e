/**
 * The rules on the real program: every shipped stack passes every mandatory rule (also in preview mode, where
 * unknowns reach the rules), and switching a protection off in a stack's config produces the matching violation.
 */
import { evaluatePolicies, hasMandatory } from "../../src/synth/policy";
import { synthesize } from "../../src/synth/run";
import { listStacks, readStackFile } from "../../src/synth/stackFile";
import { ROOT } from "../harness";

const environmentOf = (config: Record<string, string>, stack: string) =>
  config["stackport:environment"] ?? stack;

describe.each(listStacks(ROOT))("shipped stack %s", (stack) => {
  it.each([false, true])("has no mandatory violation (preview=%s)", async (preview) => {
    const file = readStackFile(ROOT, stack);
    const plan = await synthesize(file, { preview });
    const violations = await evaluatePolicies(plan.resources, stack, environmentOf(file.config, stack), ROOT);
    expect(violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
  });
});

describe("switching a protection off", () => {
  it("safety.protect/retainOnDelete false in staging → stateful-protected on every data volume", async () => {
    const file = readStackFile(ROOT, "staging");
    file.config["stackport:safety"] = JSON.stringify({ protect: false, retainOnDelete: false });
    const plan = await synthesize(file);
    const v = await evaluatePolicies(plan.resources, "staging", "staging", ROOT);
    const stateful = v.filter((x) => x.policy === "stateful-protected");
    expect(stateful.length).toBeGreaterThan(0);
    expect(
      stateful.every((x) => x.enforcementLevel === "mandatory" && x.type === "docker:index/volume:Volume"),
    ).toBe(true);
    expect(stateful.map((x) => x.message).join("\n")).toMatch(/not protected: a destroy or replacement/);
    expect(stateful.map((x) => x.message).join("\n")).toMatch(/not retainOnDelete/);
    expect(hasMandatory(v)).toBe(true);
  });

  it("publishing the storage API on 0.0.0.0 → docker-internal-not-public (container and component)", async () => {
    const file = readStackFile(ROOT, "local");
    const storage = JSON.parse(file.config["stackport:storage"]!);
    file.config["stackport:storage"] = JSON.stringify({
      ...storage,
      publishApi: { port: 9000, address: "0.0.0.0" },
    });
    const plan = await synthesize(file);
    const v = (await evaluatePolicies(plan.resources, "local", "local", ROOT)).filter(
      (x) => x.policy === "docker-internal-not-public",
    );
    expect(v.map((x) => x.type).sort()).toEqual([
      "docker:index/container:Container",
      "stackport:docker:ObjectStorage",
    ]);
    expect(v.every((x) => x.enforcementLevel === "mandatory")).toBe(true);
  });
});
