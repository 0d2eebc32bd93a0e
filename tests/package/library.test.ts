/**
 * The library as a user gets it. `npm pack` of this repository (built by `npm run build`, which `npm test` runs
 * first), installed with `npm install --offline` into a project outside the repository; then the example program
 * (examples/library) is compiled against the installed package's .d.ts and run under Pulumi's mock runtime in a
 * child `node` process.
 *
 * Offline install: the temporary project's node_modules holds symlinks to this repository's installed copies of the
 * package's dependencies (and of its @pulumi/pulumi peer) before `npm install <tarball>` runs, with an empty npm
 * cache: npm finds every dependency satisfied and only unpacks the tarball, so any attempt to fetch fails
 * (ENOTCACHED) instead of reaching a registry. Node and tsc resolve the symlinks to the repository's copies, so the
 * program, the package and the test runner share one @pulumi/pulumi, as with a regular install.
 */
import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

const ROOT = join(__dirname, "..", "..");
const EXAMPLE = join(ROOT, "examples", "library");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
/** What the example runs when no `apiImage` is configured (examples/library/index.ts). */
const API_IMAGE = "ghcr.io/example/freshtrack-api:1.0.0";

// ---- Child processes: each in its own process group, killed with it on timeout or when the file ends.

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

interface Ran {
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` and resolves with its output; rejects (after killing it) on a non-zero exit, a timeout, or a
 * missing executable — naming `what` in every case.
 */
function run(
  what: string,
  command: string,
  args: string[],
  opts: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, opts.timeoutMs);
    // Error lines first: tsc --listFiles buries its diagnostics among thousands of file names.
    const output = () => {
      const errors = `${stdout}\n${stderr}`
        .split("\n")
        .filter((l) => /error TS\d+|^npm (ERR!|error)|Error:/.test(l));
      return `\n--- errors\n${errors.slice(0, 30).join("\n")}\n--- stdout\n${stdout.slice(-3000)}\n--- stderr\n${stderr.slice(-3000)}`;
    };
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      running.delete(child);
      reject(
        new Error(
          e.code === "ENOENT"
            ? `${what}: '${command}' is not installed or not on PATH`
            : `${what}: could not start '${command}': ${e.message}`,
        ),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      if (timedOut) reject(new Error(`${what}: killed after ${opts.timeoutMs} ms${output()}`));
      else if (code !== 0)
        reject(new Error(`${what}: exited with ${code ?? signal}: ${command} ${args.join(" ")}${output()}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** npm without the `npm_*` settings an outer `npm test` exports, with its own empty cache: nothing can be fetched. */
function npmEnv(cache: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, npm_config_cache: cache, npm_config_update_notifier: "false", NO_UPDATE_NOTIFIER: "1" };
}

/** Runs a step once; every test that needs it awaits the same promise (and sees the same failure). */
function once<T>(step: () => Promise<T>): () => Promise<T> {
  let result: Promise<T> | undefined;
  return () => (result ??= step());
}

// ---- The steps

// Real path: tsc lists files by it (a temp dir can sit behind a symlink, as /tmp does on macOS).
const work = realpathSync(mkdtempSync(join(tmpdir(), "stackport-package-")));
const project = join(work, "project");
const installed = join(project, "node_modules", "stackport");

afterAll(() => {
  running.forEach(killGroup);
  rmSync(work, { recursive: true, force: true });
});

/** Every .ts file under a folder, as paths relative to it. */
function tsFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path, base);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [relative(base, path)] : [];
  });
}

/** bin/components must be the build of components/ as it is: the pack ships it. */
function assertBuilt(): void {
  const stale = tsFiles(join(ROOT, "components")).filter((file) => {
    const js = join(ROOT, "bin", "components", file.replace(/\.ts$/, ".js"));
    const dts = join(ROOT, "bin", "components", file.replace(/\.ts$/, ".d.ts"));
    const source = statSync(join(ROOT, "components", file)).mtimeMs;
    return ![js, dts].every((out) => existsSync(out) && statSync(out).mtimeMs >= source);
  });
  if (stale.length > 0) {
    throw new Error(
      `bin/components is missing or older than components/ (${stale.slice(0, 5).join(", ")}${stale.length > 5 ? ", …" : ""}): run \`npm run build\` first (\`npm test\` does)`,
    );
  }
}

interface PackedFile {
  path: string;
}

const pack = once(async () => {
  assertBuilt();
  const dest = join(work, "pack");
  mkdirSync(dest);
  const { stdout } = await run(
    "npm pack",
    "npm",
    ["pack", "--json", "--ignore-scripts", "--pack-destination", dest],
    { cwd: ROOT, timeoutMs: 30_000, env: npmEnv(join(work, "npm-cache")) },
  );
  const [packed] = JSON.parse(stdout) as { filename: string; files: PackedFile[] }[];
  return { tarball: join(dest, packed!.filename), files: packed!.files.map((f) => f.path) };
});

const rootPackage = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/** Links node_modules/<name> of the project to this repository's installed copy. */
function linkFromRepository(name: string): void {
  const source = join(ROOT, "node_modules", name);
  if (!existsSync(source)) throw new Error(`${name} is not installed in this repository: run \`npm ci\``);
  const link = join(project, "node_modules", name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(source, link, "dir");
}

const install = once(async () => {
  const { tarball } = await pack();
  mkdirSync(join(project, "node_modules"), { recursive: true });
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "stackport-consumer", version: "0.0.0", private: true }),
  );
  for (const name of Object.keys({ ...rootPackage.dependencies, ...rootPackage.peerDependencies })) {
    linkFromRepository(name);
  }
  await run(
    "npm install of the packed library (offline)",
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", tarball],
    { cwd: project, timeoutMs: 30_000, env: npmEnv(join(work, "npm-cache")) },
  );
  // Linked after the install, which would prune it (the project declares no dependency on it): for tsc only.
  linkFromRepository("@types/node");
});

const compile = once(async () => {
  if (!existsSync(TSC)) throw new Error("typescript is not installed in this repository: run `npm ci`");
  await install();
  cpSync(join(EXAMPLE, "index.ts"), join(project, "index.ts"));
  cpSync(join(EXAMPLE, "tsconfig.json"), join(project, "tsconfig.json"));
  const tsc = (what: string, extra: string[]) =>
    run(what, process.execPath, [TSC, "-p", "tsconfig.json", "--listFiles", ...extra], {
      cwd: project,
      timeoutMs: 45_000,
    });
  // As the example is configured (node16: package `exports`), and as Pulumi's project templates configure
  // TypeScript (`moduleResolution: node`, which reads `typesVersions` instead), at once.
  const [node16, node10] = await Promise.all([
    tsc("tsc of examples/library/index.ts (moduleResolution node16)", []),
    tsc("tsc of examples/library/index.ts (moduleResolution node10)", [
      "--module",
      "commonjs",
      "--moduleResolution",
      "node10",
      "--outDir",
      "bin-node10",
    ]),
  ]);
  return { node16: node16.stdout, node10: node10.stdout };
});

/**
 * The child that runs the compiled example under Pulumi's mocks. Generated passwords are random and, as a real
 * provider does, secret outputs; every registration's inputs are recorded with secrets masked as the repository's
 * recorder masks them (src/synth/recorder.ts), so a password that shows in the masked inputs reached a resource in
 * plain text.
 */
const RUNNER = String.raw`
"use strict";
const { randomBytes } = require("node:crypto");
const { writeFileSync } = require("node:fs");
const pulumi = require("@pulumi/pulumi");
const { specialSigKey, specialSecretSig } = require("@pulumi/pulumi/runtime/rpc");

const [program, out] = process.argv.slice(2);
const passwords = {};
const resources = [];
const isSecret = (v) => v !== null && typeof v === "object" && v[specialSigKey] === specialSecretSig;
const walk = (v, secret) => {
  if (isSecret(v)) return secret(v);
  if (Array.isArray(v)) return v.map((x) => walk(x, secret));
  if (v !== null && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, secret)]));
  return v;
};
const mask = (v) => walk(v, () => "[secret]");
const reveal = (v) => walk(v, (s) => reveal(s.value));

function outputs(type, name, inputs) {
  switch (type) {
    case "random:index/randomPassword:RandomPassword": {
      const result = "pw" + randomBytes(16).toString("hex");
      passwords[name] = result;
      return { result: pulumi.secret(result), bcryptHash: pulumi.secret("$2a$10$mockhash" + randomBytes(8).toString("hex")) };
    }
    case "docker:index/remoteImage:RemoteImage":
      return { imageId: inputs.name, repoDigest: inputs.name };
    case "docker:index/network:Network":
    case "docker:index/volume:Volume":
      return { name: inputs.name ?? name };
    default:
      return {};
  }
}

process.on("unhandledRejection", (e) => {
  console.error("unhandled rejection:", e);
  process.exit(1);
});

(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type !== "pulumi:pulumi:Stack") {
          resources.push({
            type: args.type,
            name: args.name,
            custom: args.custom,
            provider: args.provider || null,
            inputs: mask(args.inputs),
            plain: JSON.stringify(reveal(args.inputs)),
          });
        }
        return { id: args.custom ? args.name + "-id" : "", state: { ...args.inputs, ...outputs(args.type, args.name, args.inputs) } };
      },
      call: () => ({}),
    },
    "stackport-library-example",
    "dev",
    false,
    "organization",
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    const main = require(program);
    return typeof main === "function" ? await main() : main;
  });
  await pulumi.runtime.waitForRPCs();
  const leaks = [];
  const reached = {};
  for (const [password, value] of Object.entries(passwords)) {
    reached[password] = resources.filter((r) => r.plain.includes(value)).map((r) => r.name);
    for (const r of resources) if (JSON.stringify(r.inputs).includes(value)) leaks.push({ password, resource: r.name });
  }
  writeFileSync(
    out,
    JSON.stringify({ resources: resources.map(({ plain, ...r }) => r), passwords: Object.keys(passwords), leaks, reached }),
  );
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
`;

interface Recorded {
  type: string;
  name: string;
  custom: boolean;
  provider: string | null;
  inputs: Record<string, unknown>;
}

interface Synthesized {
  resources: Recorded[];
  passwords: string[];
  leaks: { password: string; resource: string }[];
  reached: Record<string, string[]>;
}

const synthesize = once(async (): Promise<Synthesized> => {
  await compile();
  writeFileSync(join(project, "run-mocks.js"), RUNNER);
  const out = join(project, "mock-run.json");
  await run(
    "the compiled example under Pulumi mocks",
    process.execPath,
    ["run-mocks.js", join(project, "bin", "index.js"), out],
    { cwd: project, timeoutMs: 30_000 },
  );
  return JSON.parse(readFileSync(out, "utf8")) as Synthesized;
});

// ---- The tests

describe("the packed library", () => {
  it("ships the three entries with their types, and no sources", async () => {
    const { files } = await pack();
    for (const entry of ["index", "docker", "aws"]) {
      expect(files).toContain(`bin/components/${entry}.js`);
      expect(files).toContain(`bin/components/${entry}.d.ts`);
    }
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => /^(bin\/)?(tests|policies|scripts|examples)\//.test(f))).toEqual([]);
  });

  it("installs offline into another project as a package of its own", async () => {
    await install();
    expect(lstatSync(installed).isSymbolicLink()).toBe(false);
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")) as {
      peerDependencies: Record<string, string>;
    };
    expect(manifest.peerDependencies["@pulumi/pulumi"]).toBe(rootPackage.peerDependencies["@pulumi/pulumi"]);
    // The example asks for the @pulumi/pulumi the library is built against.
    const example = JSON.parse(readFileSync(join(EXAMPLE, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(example.dependencies["@pulumi/pulumi"]).toBe(rootPackage.peerDependencies["@pulumi/pulumi"]);
  });

  it("loads no provider SDK from the root entry, and not @pulumi/aws from stackport/docker", async () => {
    await install();
    // One fresh process per entry: require.cache then holds exactly what that entry loaded.
    const loaded = async (entry: string) => {
      const { stdout } = await run(
        `node requiring '${entry}'`,
        process.execPath,
        [
          "-e",
          `require(${JSON.stringify(entry)});` +
            `const pkgs = Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f)?.[1]).filter(Boolean);` +
            `process.stdout.write(JSON.stringify([...new Set(pkgs)].sort()));`,
        ],
        { cwd: project, timeoutMs: 20_000 },
      );
      return JSON.parse(stdout) as string[];
    };
    const [root, dockerEntry, awsEntry] = await Promise.all(
      ["stackport", "stackport/docker", "stackport/aws"].map(loaded),
    );
    expect(root).toContain("stackport");
    expect(root).not.toContain("@pulumi/docker");
    expect(root).not.toContain("@pulumi/aws");
    expect(dockerEntry).toContain("@pulumi/docker");
    expect(dockerEntry).not.toContain("@pulumi/aws");
    expect(awsEntry).toContain("@pulumi/aws");
    expect(awsEntry).not.toContain("@pulumi/docker");
  });

  it("rejects bad args with an ArgsError the root entry recognises, before registering anything", async () => {
    await install();
    // No Pulumi runtime at all: validation comes before the component registers itself.
    const { stdout } = await run(
      "node constructing DockerDatabase with bad args",
      process.execPath,
      [
        "-e",
        `const { isArgsError } = require("stackport");` +
          `const { DockerDatabase } = require("stackport/docker");` +
          `try { new DockerDatabase("db", { placement: {}, image: "postgres:latest", database: "Bad-Name" }); }` +
          `catch (e) { process.stdout.write(JSON.stringify({ args: isArgsError(e), paths: e.issues?.map((i) => i.path) })); }`,
      ],
      { cwd: project, timeoutMs: 20_000 },
    );
    // `postgres:latest`: no PostGIS, and no major version to mount the volume by; then the bad database name.
    expect(JSON.parse(stdout)).toEqual({ args: true, paths: ["image", "image", "database"] });
  });

  it("compiles examples/library against the installed package's declarations", async () => {
    const { node16, node10 } = await compile();
    // The types came from the installed package (not from this repository's sources).
    for (const files of [node16, node10]) {
      for (const entry of ["index", "docker"]) {
        expect(files).toContain(join(installed, "bin", "components", `${entry}.d.ts`));
      }
      expect(files).not.toContain(join(ROOT, "components"));
    }
  });
});

describe("examples/library under Pulumi mocks", () => {
  const byName = (plan: Synthesized, name: string) => {
    const found = plan.resources.find((r) => r.name === name);
    if (!found)
      throw new Error(`no resource '${name}'; registered: ${plan.resources.map((r) => r.name).join(", ")}`);
    return found;
  };

  it("registers seed 004's MVP: PostgreSQL, MinIO, Redis, the API and Caddy on one Docker target", async () => {
    const plan = await synthesize();
    expect(
      ["local", "storage", "database", "ingestion", "proxy"].map((n) => [n, byName(plan, n).type]),
    ).toEqual([
      ["local", "stackport:docker:Target"],
      ["storage", "stackport:docker:ObjectStorage"],
      ["database", "stackport:docker:Database"],
      ["ingestion", "stackport:docker:Ingestion"],
      ["proxy", "stackport:docker:Proxy"],
    ]);
    const container = (name: string) => {
      const r = byName(plan, name);
      expect(r.type).toBe("docker:index/container:Container");
      return r.inputs as { name: string; image: string; envs: unknown; networksAdvanced: unknown[] };
    };
    expect(container("database-server").image).toBe("postgis/postgis:17-3.5");
    expect(container("storage-server").image).toMatch(/^quay\.io\/minio\/minio:/);
    expect(container("ingestion-broker").image).toMatch(/^redis:/);
    expect(container("proxy-server").image).toMatch(/^caddy:/);
    expect(container("ingestion-api-1")).toMatchObject({ name: "dev-ingestion-api-1", image: API_IMAGE });
    // The one-shot jobs: bucket bootstrap, database bootstrap, then the drizzle-kit migrations in the API image.
    expect(container("storage-bootstrap").image).toMatch(/^quay\.io\/minio\/mc:/);
    expect(container("database-bootstrap").image).toBe("postgis/postgis:17-3.5");
    expect(container("database-migrations").image).toBe(API_IMAGE);
    // Routed: the API joins the edge network beside the backend one; its credentials are one secret list.
    expect(container("ingestion-api-1").networksAdvanced).toHaveLength(2);
    expect(container("ingestion-api-1").envs).toBe("[secret]");

    // Every Docker resource goes through the target's explicit provider, none through an ambient default.
    const dockerResources = plan.resources.filter((r) => r.custom && r.type.startsWith("docker:index/"));
    expect(dockerResources.length).toBeGreaterThan(10);
    expect(
      dockerResources.filter((r) => !r.provider?.includes("pulumi:providers:docker::local-docker::")),
    ).toEqual([]);
  });

  it("keeps every generated password out of resource inputs, except inside secrets", async () => {
    const plan = await synthesize();
    expect(plan.passwords.sort()).toEqual([
      "database-app-reader-password",
      "database-app-writer-password",
      "database-db-admin-password",
      "database-superuser-password",
      "ingestion-broker-password",
      "proxy-admin-password",
      "storage-api-secret",
      "storage-metrics-secret",
      "storage-root-password",
    ]);
    // The passwords do reach the containers that need them (so their absence below means something)…
    expect(plan.reached["database-superuser-password"]).toEqual(
      expect.arrayContaining(["database-server", "database-bootstrap"]),
    );
    expect(plan.reached["database-app-writer-password"]).toEqual(expect.arrayContaining(["ingestion-api-1"]));
    expect(plan.reached["ingestion-broker-password"]).toEqual(
      expect.arrayContaining(["ingestion-broker", "ingestion-api-1"]),
    );
    // The API gets its own MinIO user; the root credential stays with the server and the bucket bootstrap.
    expect(plan.reached["storage-api-secret"]).toEqual(
      expect.arrayContaining(["storage-bootstrap", "ingestion-api-1"]),
    );
    expect([...plan.reached["storage-root-password"]!].sort()).toEqual([
      "storage-bootstrap",
      "storage-server",
    ]);
    // …and only ever as secrets.
    expect(plan.leaks).toEqual([]);
  });
});
