/**
 * The benchmark floors: the least any synth can cost, with none of stackport's code.
 *
 * - `node bin/scripts/floor.js --plan <plan.json>`: the floor the target is measured against. It loads
 *   @pulumi/pulumi and registers a synth plan's own resources, under the same mocks: each through its provider's
 *   class, imported from the class's own module file (the cheapest way in), with the recorded inputs, parent and
 *   provider. stackport's components register as bare components of the same type.
 * - `node bin/scripts/floor.js <N>`: N bare resources with one input each. This shows what loading the SDK costs,
 *   but not the SDK's per-resource work: an AWS class declares tens of output properties, and the SDK makes an
 *   output and four promises for each.
 *
 * Both turn off the SDK's per-promise stack traces, as synth does, so the floor is as low as synth can be.
 */
import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { providerClass, type RecordedPlanResource } from "./floorClasses";

class Thing extends pulumi.CustomResource {
  constructor(name: string, value: number) {
    super("bench:index:Thing", name, { value });
  }
}

/** A stackport component in the plan, registered as a bare component of the same type. */
class BareComponent extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
  }
}

function registerPlan(resources: RecordedPlanResource[]): void {
  const byName = new Map<string, pulumi.Resource>();
  for (const r of resources) {
    const parent = r.parent ? byName.get(r.parent) : undefined;
    const provider = r.provider ? byName.get(r.provider) : undefined;
    const opts = {
      ...(parent && { parent }),
      ...(provider && { provider: provider as pulumi.ProviderResource }),
    };
    const Class = providerClass(r.type);
    byName.set(r.name, Class ? new Class(r.name, r.inputs, opts) : new BareComponent(r.type, r.name, opts));
  }
}

function registerBare(count: number): void {
  for (let i = 0; i < count; i++) new Thing(`thing-${i}`, i);
}

async function main(argv: string[]) {
  // Read before the runtime starts, as synth reads its stack file.
  const plan =
    argv[0] === "--plan"
      ? (JSON.parse(readFileSync(argv[1]!, "utf8")) as { resources: RecordedPlanResource[] })
      : undefined;
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) },
    "floor",
    "floor",
    false,
    "organization",
  );
  Error.stackTraceLimit = 0;
  await pulumi.runtime.runInPulumiStack(async () => {
    if (plan) registerPlan(plan.resources);
    else registerBare(Number(argv[0] ?? "1"));
    return {};
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
