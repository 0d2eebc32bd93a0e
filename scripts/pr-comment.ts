/**
 * `node bin/scripts/pr-comment.js --stack <s> --head head.json [--base base.json] [--events preview.ndjson]
 *   [--preview-exit-code N] [--throwaway-state true|false] [--out comment.md]`
 *
 * Builds the PR comment for one stack from the real preview's NDJSON engine events and the offline plans of base
 * and head (src/ops/review.ts), with the stateful resources the preview deletes or replaces (src/ops/rollback.ts
 * dataAtRisk; `--throwaway-state true`: the preview ran against empty state, so none can show), writes it (stdout without --out), and exits 1 when anything blocks the merge
 * (a mandatory violation from either source, a failed preview, no head plan, a preview output that is not a
 * finished event stream: without its summaryEvent no policy event can be trusted to be there), 64 on bad usage.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseEngineEvents, previewStreamProblem, renderReview, summarizePreview } from "../src/ops/review";
import { dataAtRisk, riskSubject } from "../src/ops/rollback";
import type { PlanDocument } from "../src/synth/render";

const USAGE =
  "usage: pr-comment --stack <stack> --head <plan.json> [--base <plan.json>] [--events <preview.ndjson>] [--preview-exit-code <n>] [--throwaway-state true|false] [--out <comment.md>]";

export function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--") || i + 1 >= argv.length) throw new Error(`unexpected argument '${a}'`);
    out[a.slice(2)] = argv[++i]!;
  }
  if (!out["stack"]) throw new Error("--stack is required");
  const throwaway = out["throwaway-state"];
  if (throwaway !== undefined && throwaway !== "true" && throwaway !== "false")
    throw new Error(`--throwaway-state must be true or false, not '${throwaway}'`);
  return out;
}

/** A plan file: a missing, empty or invalid file is no plan (e.g. the base branch could not synthesize). */
function readPlan(path: string | undefined): PlanDocument | undefined {
  if (!path || !existsSync(path)) return undefined;
  try {
    const doc = JSON.parse(readFileSync(path, "utf8")) as PlanDocument;
    return Array.isArray(doc?.resources) ? doc : undefined;
  } catch {
    return undefined;
  }
}

export function main(argv: string[]): number {
  let args: Record<string, string>;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`pr-comment: ${(e as Error).message}\n${USAGE}\n`);
    return 64;
  }
  const eventsPath = args["events"];
  const parsed =
    eventsPath && existsSync(eventsPath) ? parseEngineEvents(readFileSync(eventsPath, "utf8")) : undefined;
  const problem = parsed && previewStreamProblem(parsed);
  if (problem) {
    process.stderr.write(`pr-comment: cannot read ${eventsPath}: ${problem}\n`);
    return 1;
  }
  const preview = parsed && summarizePreview(parsed.events);
  const code = args["preview-exit-code"];
  const review = renderReview({
    stack: args["stack"]!,
    preview,
    ...(code !== undefined && code !== "" && { previewExitCode: Number(code) }),
    head: readPlan(args["head"]),
    base: readPlan(args["base"]),
    ...(parsed && {
      dataAtRisk: dataAtRisk(parsed.events).map((r) => ({ op: r.op, subject: riskSubject(r) })),
    }),
    throwawayState: args["throwaway-state"] === "true",
  });
  if (args["out"]) writeFileSync(args["out"], review.markdown);
  else process.stdout.write(review.markdown);
  if (review.failed) process.stderr.write(`pr-comment: blocked: ${review.reasons.join("; ")}\n`);
  return review.failed ? 1 : 0;
}

if (require.main === module) {
  const code = main(process.argv.slice(2));
  process.stdout.write("", () => process.exit(code));
}
