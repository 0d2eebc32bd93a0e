/**
 * `npm run bench`: wall time of `synth` for every shipped stack against the floor (a process that loads
 * @pulumi/pulumi and registers as many bare resources under mocks), as medians of interleaved runs (BENCH_RUNS,
 * default 11). Target ≤ 1.5×.
 * Also reports whether the synth process loaded @pulumi/aws (it must not for a stack with no AWS tier).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { listStacks } from "../src/synth/stackFile";

const ROOT = join(__dirname, "..", "..");
const RUNS = Number(process.env["BENCH_RUNS"] ?? 11);
const TARGET_RATIO = 1.5;

function timeRun(args: string[], env: NodeJS.ProcessEnv = {}): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed:\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main() {
  const synth = join("bin", "src", "synth", "cli.js");
  const floor = join("bin", "scripts", "floor.js");
  const rows: string[] = [];
  let worst = 0;
  process.stderr.write(`bench: ${RUNS} runs per measurement\n`);
  for (const stack of listStacks(ROOT)) {
    process.stderr.write(`bench: ${stack}…\n`);
    const first = timeRun([synth, stack, "--json"]);
    const resources = (JSON.parse(first.stdout) as { summary: { resources: number } }).summary.resources;
    const loadedAws = timeRun([
      "-e",
      `require("./${synth}").main(["${stack}","--json"]).then(()=>{process.stdout.write(String(Object.keys(require.cache).some(k=>k.includes("/@pulumi/aws/"))))})`,
    ])
      .stdout.trim()
      .endsWith("true");
    // Interleaved, so that both medians sample the same machine state: on a shared machine, timings drift by
    // ±20 % over a minute, and back-to-back blocks of runs would measure the drift, not the program.
    const synthRuns: number[] = [];
    const floorRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      synthRuns.push(timeRun([synth, stack, "--json"]).ms);
      floorRuns.push(timeRun([floor, String(resources)]).ms);
    }
    const synthMs = median(synthRuns);
    const floorMs = median(floorRuns);
    const ratio = synthMs / floorMs;
    worst = Math.max(worst, ratio);
    rows.push(
      `| ${stack} | ${resources} | ${synthMs.toFixed(0)} ms | ${floorMs.toFixed(0)} ms | ${ratio.toFixed(2)}× | ${loadedAws ? "yes" : "no"} |`,
    );
  }
  console.log("| stack | resources | synth (median) | floor (median) | ratio | loads @pulumi/aws |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const r of rows) console.log(r);
  console.log(
    `\nworst ratio ${worst.toFixed(2)}× (target ≤ ${TARGET_RATIO}×)${worst > TARGET_RATIO ? "  ← over target" : ""}`,
  );
}

main();
