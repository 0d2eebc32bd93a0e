/**
 * `npm run bench`: wall time of `synth` for every shipped stack against the floors (scripts/floor.ts), as medians
 * of interleaved runs (BENCH_RUNS, default 11):
 * - the floor: a process that loads @pulumi/pulumi and registers the stack's own resources (the synth plan's types,
 *   inputs, parents and providers, through the provider classes) with none of stackport's code. Target ≤ 1.5×.
 * - the bare floor: as many resources with one input each, what loading the SDK and the least registration cost.
 * Also reports whether the synth process loaded @pulumi/aws (it must not for a stack with no AWS tier), and times
 * a local stack with 1 to 32 services (synth must grow linearly with the number of services).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { listStacks } from "../src/synth/stackFile";
import { repoRoot } from "./root";

const ROOT = repoRoot();
const RUNS = Number(process.env["BENCH_RUNS"] ?? 11);
const TARGET_RATIO = 1.5;

function timeRun(args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): { ms: number; stdout: string } {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed:\n${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const fmtMs = (x: number) => `${x.toFixed(0)} ms`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function main() {
  const synth = join("bin", "src", "synth", "cli.js");
  const floor = join("bin", "scripts", "floor.js");
  const rows: string[] = [];
  let worst = 0;
  const scratch = mkdtempSync(join(tmpdir(), "stackport-bench-plans-"));
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
    const plan = join(scratch, `${stack}.json`);
    writeFileSync(plan, first.stdout);
    // Interleaved, so that every median samples the same machine state: on a shared machine, timings drift by
    // ±20 % over a minute, and back-to-back blocks of runs would measure the drift, not the program.
    const synthRuns: number[] = [];
    const floorRuns: number[] = [];
    const bareRuns: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      synthRuns.push(timeRun([synth, stack, "--json"]).ms);
      floorRuns.push(timeRun([floor, "--plan", plan]).ms);
      bareRuns.push(timeRun([floor, String(resources)]).ms);
    }
    const [synthMs, floorMs, bareMs] = [synthRuns, floorRuns, bareRuns].map(median) as [
      number,
      number,
      number,
    ];
    const ratio = synthMs / floorMs;
    worst = Math.max(worst, ratio);
    rows.push(
      `| ${stack} | ${resources} | ${fmtMs(synthMs)} | ${fmtMs(floorMs)} | ${ratio.toFixed(2)}× | ${fmtMs(bareMs)} | ${(synthMs / bareMs).toFixed(2)}× | ${loadedAws ? "yes" : "no"} |`,
    );
  }
  console.log(
    "| stack | resources | synth | floor (same resources) | ratio | bare floor | ratio to bare | loads @pulumi/aws |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
  for (const r of rows) console.log(r);
  console.log(
    `\nworst ratio to the floor ${worst.toFixed(2)}× (target ≤ ${TARGET_RATIO}×)${worst > TARGET_RATIO ? "  ← over target" : ""}`,
  );
  scaling(synth);
}

/** Service counts of the scaling run: synth must grow linearly with the number of services. */
const SCALE_SERVICES = [1, 8, 16, 32];

/**
 * The local stack with `count` routed, scraped ingestion services, as a stack file (JSON is YAML) in a scratch
 * project beside a copy of the project file, with the local policy config as its own (a stack is checked with
 * `policies/config/<stack>.json` only).
 */
function scaleStack(dir: string, count: number): string {
  const services = Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      `svc-${i + 1}`,
      {
        image: "ghcr.io/example/svc:1.0.0",
        port: 8000,
        health: { path: "/healthz" },
        metrics: { port: 8000, path: "/metrics" },
        connections: { database: "app_reader", storage: ["raw"] },
        route: { path: `/svc-${i + 1}` },
      },
    ]),
  );
  const stack = `scale-${count}`;
  const config = {
    "stackport:environment": "local",
    "stackport:targets": { laptop: { kind: "docker" } },
    "stackport:storage": { on: "laptop" },
    "stackport:database": { on: "laptop" },
    "stackport:proxy": { on: "laptop", domain: "localhost", tls: { mode: "http" } },
    "stackport:ingestion": { on: "laptop", broker: false, services },
    "stackport:observability": { on: "laptop" },
  };
  writeFileSync(join(dir, `Pulumi.${stack}.yaml`), JSON.stringify({ config }, null, 2));
  return stack;
}

/** Least-squares line through (x, y) and its R². */
function linearFit(xs: number[], ys: number[]) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssRes = ys.reduce((a, y, i) => a + (y - (intercept + slope * xs[i]!)) ** 2, 0);
  const ssTot = ys.reduce((a, y) => a + (y - my) ** 2, 0);
  return { slope, intercept, r2: 1 - ssRes / ssTot };
}

/** The scratch project of the scaling measurement: one stack per service count, each with its policy config. */
export function scaleProject(counts: readonly number[] = SCALE_SERVICES): { dir: string; stacks: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "stackport-bench-"));
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  mkdirSync(join(dir, "policies", "config"), { recursive: true });
  const stacks = counts.map((n) => scaleStack(dir, n));
  for (const stack of stacks)
    copyFileSync(
      join(ROOT, "policies", "config", "local.json"),
      join(dir, "policies", "config", `${stack}.json`),
    );
  return { dir, stacks };
}

function scaling(synth: string) {
  const { dir, stacks } = scaleProject();
  const cli = join(ROOT, synth);
  const runs = Math.max(3, Math.ceil(RUNS / 2));
  process.stderr.write(
    `bench: scaling with ${SCALE_SERVICES.join(", ")} services, ${runs} interleaved runs…\n`,
  );
  const resources = stacks.map(
    (s) =>
      (JSON.parse(timeRun([cli, s, "--json"], {}, dir).stdout) as { summary: { resources: number } }).summary
        .resources,
  );
  const times: number[][] = stacks.map(() => []);
  for (let i = 0; i < runs; i++)
    stacks.forEach((s, j) => times[j]!.push(timeRun([cli, s, "--json"], {}, dir).ms));
  const ms = times.map(median);
  const fit = linearFit(SCALE_SERVICES, ms);
  console.log("\n| services | resources | synth (median) |");
  console.log("| ---: | ---: | ---: |");
  SCALE_SERVICES.forEach((n, i) => console.log(`| ${n} | ${resources[i]} | ${ms[i]!.toFixed(0)} ms |`));
  console.log(
    `\nlinear fit: ${fit.intercept.toFixed(0)} ms + ${fit.slope.toFixed(1)} ms per service (R² ${fit.r2.toFixed(3)})`,
  );
}

if (require.main === module) main();
