/**
 * `npm run synth -- <stack> [--json]`: the offline plan of a stack — the real program under Pulumi's mock runtime,
 * no Pulumi CLI, no Docker, no credentials. Exit 0 with a plan; exit 2 with a readable message on bad config.
 */
import { isInputError } from "../config";
import { evaluatePolicies, hasMandatory, safetyContext } from "./policy";
import { planDocument, renderTree } from "./render";
import { synthesize } from "./run";
import { StackNotFoundError, listStacks, readStackFile } from "./stackFile";

const USAGE = `usage: npm run synth -- <stack> [--json]

Prints the offline plan of Pulumi.<stack>.yaml: every resource the program would register, as a tree
(or one JSON document with --json), with the policy pack's verdicts under the stack's enforcement config
(policies/config/<stack>.json). Needs no Pulumi CLI, Docker or credentials.

exit status: 0 plan printed; 1 a mandatory policy is violated; 2 bad configuration; 64 bad usage`;

export async function main(argv: string[], root = process.cwd()): Promise<number> {
  const json = argv.includes("--json");
  const positional = argv.filter((a) => !a.startsWith("-"));
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n\nstacks here: ${listStacks(root).join(", ")}\n`);
    return 0;
  }
  const unknown = argv.filter((a) => a.startsWith("-") && a !== "--json");
  if (positional.length !== 1 || unknown.length > 0) {
    process.stderr.write(`${USAGE}\n\nstacks here: ${listStacks(root).join(", ")}\n`);
    return 64;
  }
  try {
    const stackFile = readStackFile(root, positional[0]!);
    const plan = await synthesize(stackFile);
    const environment = stackFile.config["stackport:environment"] ?? stackFile.stack;
    const violations = await evaluatePolicies(plan.resources, stackFile.stack, environment, root);
    const doc = planDocument(plan, violations, safetyContext(root, stackFile.stack, environment));
    process.stdout.write(json ? `${JSON.stringify(doc, null, 2)}\n` : `${renderTree(doc, plan.resources)}\n`);
    if (hasMandatory(violations)) {
      process.stderr.write(`stackport synth: mandatory policy violations in stack '${stackFile.stack}'\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (isInputError(e) || e instanceof StackNotFoundError) {
      process.stderr.write(`stackport synth: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    // Exit once stdout has drained: a piped plan is larger than one pipe buffer.
    (code) => process.stdout.write("", () => process.exit(code)),
    (e: unknown) => {
      process.stderr.write(
        `stackport synth failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exit(1);
    },
  );
}
