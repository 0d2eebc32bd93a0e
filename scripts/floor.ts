/**
 * The benchmark floor: load @pulumi/pulumi and register N bare resources under the mock runtime — the least any
 * synth of N resources can cost. `node bin/scripts/floor.js <N>`.
 */
import * as pulumi from "@pulumi/pulumi";

class Thing extends pulumi.CustomResource {
  constructor(name: string, value: number) {
    super("bench:index:Thing", name, { value });
  }
}

async function main(count: number) {
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: () => ({}) },
    "floor",
    "floor",
    false,
    "organization",
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    for (let i = 0; i < count; i++) new Thing(`thing-${i}`, i);
    return {};
  });
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

main(Number(process.argv[2] ?? "1")).catch((e) => {
  console.error(e);
  process.exit(1);
});
