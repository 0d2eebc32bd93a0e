/**
 * `npm run synth -- <stack> [--json]`: the offline plan of a stack — the real program under Pulumi's mock runtime,
 * no Pulumi CLI, no Docker, no credentials. Exit 0 with a plan; exit 2 with a readable message on bad config.
 */
import { isInputError } from "../config";
import { evaluatePolicies, hasMandatory, safetyContext } from "./policy";
import { planDocument, renderTree } from "./render";
import { DEFAULT_ORGANIZATION } from "./recorder";
import { synthesize } from "./run";
import { StackNotFoundError, listStacks, readStackFile } from "./stackFile";

const USAGE = `usage: npm run synth -- <stack> [--json] [--organization <org>]

Prints the offline plan of Pulumi.<stack>.yaml: every resource the program would register, as a tree
(or one JSON document with --json), with the policy pack's verdicts under the stack's enforcement config
(policies/config/<stack>.json). Needs no Pulumi CLI, Docker or credentials.

--organization <org>  the organization the stack lives in, which AWS bucket names depend on: your Pulumi Cloud
                      organization for a Cloud stack; default '${DEFAULT_ORGANIZATION}', what a file backend uses

exit status: 0 plan printed; 1 a mandatory policy is violated; 2 bad configuration; 64 bad usage`;

export async function main(argv: string[], root = process.cwd()): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n\nstacks here: ${listStacks(root).join(", ")}\n`);
    return 0;
  }
  const args = parseArgs(argv);
  if (!args) {
    process.stderr.write(`${USAGE}\n\nstacks here: ${listStacks(root).join(", ")}\n`);
    return 64;
  }
  const { json, organization } = args;
  try {
    const stackFile = readStackFile(root, args.stack);
    const plan = await synthesize(stackFile, { organization });
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

/** `<stack> [--json] [--organization <org> | --organization=<org>]` in any order; undefined when malformed. */
function parseArgs(argv: string[]): { stack: string; json: boolean; organization: string } | undefined {
  const positional: string[] = [];
  let json = false;
  let organization: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--json") json = true;
    else if (arg === "--organization" && organization === undefined) organization = argv[++i] ?? "";
    else if (arg.startsWith("--organization=") && organization === undefined)
      organization = arg.slice("--organization=".length);
    else if (arg.startsWith("-")) return undefined;
    else positional.push(arg);
  }
  if (positional.length !== 1 || organization === "" || organization?.startsWith("-")) return undefined;
  return { stack: positional[0]!, json, organization: organization ?? DEFAULT_ORGANIZATION };
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
