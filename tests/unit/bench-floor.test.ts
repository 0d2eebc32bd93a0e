/**
 * The benchmark floor registers a plan's own resources through their provider classes (scripts/floor.ts). If a
 * stack gains a resource type the floor cannot map to its class, `npm run bench` breaks: caught here.
 */
import { scaleProject } from "../../scripts/bench";
import { providerClass, providerModule } from "../../scripts/floorClasses";
import { main as synthMain } from "../../src/synth/cli";
import { listExampleStackFiles, listStacks } from "../../src/synth/stackFile";
import { ROOT, synthesizeStack } from "../harness";

describe("the floor's class for a type token", () => {
  it.each([
    ["aws:ecs/taskDefinition:TaskDefinition", "@pulumi/aws/ecs/taskDefinition", "TaskDefinition"],
    ["docker:index/container:Container", "@pulumi/docker/container", "Container"],
    ["random:index/randomPassword:RandomPassword", "@pulumi/random/randomPassword", "RandomPassword"],
    ["command:local:Command", "@pulumi/command/local/command", "Command"],
    ["pulumi:providers:aws", "@pulumi/aws/provider", "Provider"],
  ])("%s comes from its own module file", (type, module, exportName) => {
    expect(providerModule(type)).toEqual({ module, exportName });
  });

  it("has none for a stackport component, and refuses what is not a type token", () => {
    expect(providerModule("stackport:aws:Database")).toBeUndefined();
    expect(providerClass("stackport:docker:Proxy")).toBeUndefined();
    expect(() => providerModule("TaskDefinition")).toThrow("'TaskDefinition' is not a Pulumi type token");
  });
});

describe.each([...listStacks(ROOT), ...listExampleStackFiles(ROOT)])("the floor of %s", (stack) => {
  it("maps every resource type in the plan to the provider class that registers that type", async () => {
    const { resources } = await synthesizeStack(stack);
    const types = [...new Set(resources.map((r) => r.type))].filter((t) => !t.startsWith("stackport:"));
    expect(types.length).toBeGreaterThan(5);
    const mapped = types.map((type) => {
      const Class = providerClass(type) as unknown as { __pulumiType?: string } | undefined;
      // Provider classes carry the package name as their token; resource classes the full token.
      return [
        type,
        type.startsWith("pulumi:providers:")
          ? `pulumi:providers:${Class?.__pulumiType}`
          : Class?.__pulumiType,
      ];
    });
    expect(mapped).toEqual(types.map((type) => [type, type]));
  });
});

describe("the scaling measurement's stacks", () => {
  it("synthesize with no mandatory violation under their own policy config (else `npm run bench` stops)", async () => {
    const { dir, stacks } = scaleProject([1]);
    const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    const errors = jest.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      expect(await synthMain([stacks[0]!, "--json"], dir)).toBe(0);
    } finally {
      write.mockRestore();
      errors.mockRestore();
    }
  });
});
