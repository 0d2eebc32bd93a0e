/**
 * `node bin/scripts/policy-config.js <stack>` prints the policy config file a stack is checked with (relative to
 * the repository root), as synth and sign-off find it: `policies/config/<stack>.json`.
 * Prints nothing when there is none (every rule at its default level). The PR workflow passes it to
 * `pulumi preview --policy-pack-config`, so a real preview gates at the levels the offline plan did.
 */
import { relative } from "node:path";
import { stackPolicyConfig } from "../src/synth/policy";
import { StackNotFoundError, readStackFile } from "../src/synth/stackFile";

export function main(argv: string[], root = process.cwd()): { code: number; out: string } {
  if (argv.length !== 1) return { code: 64, out: "usage: policy-config <stack>\n" };
  try {
    const stackFile = readStackFile(root, argv[0]!);
    const path = stackPolicyConfig(root, stackFile.stack);
    return { code: 0, out: path ? `${relative(root, path)}\n` : "" };
  } catch (e) {
    if (e instanceof StackNotFoundError) return { code: 2, out: `policy-config: ${e.message}\n` };
    throw e;
  }
}

if (require.main === module) {
  const { code, out } = main(process.argv.slice(2));
  (code === 0 ? process.stdout : process.stderr).write(out, () => process.exit(code));
}
