import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Returns the path of a real tool the test needs, or fails the test with what to install. Never skips:
 * scripts/install-tools.sh (run by .ci/run) installs every tool, so a missing one is a broken environment, not an
 * optional test.
 */
export function requireTool(binary: string, debianPackage: string): string {
  // Servers (nginx) install to sbin, which a non-root PATH often lacks.
  const found = spawnSync("sh", ["-c", `command -v ${binary}`], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${process.env["PATH"] ?? ""}:/usr/local/sbin:/usr/sbin:/sbin` },
  });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path) {
    throw new Error(
      `'${binary}' is not installed: install the Debian package '${debianPackage}' (sudo bash scripts/install-tools.sh installs every tool the tests need)`,
    );
  }
  return path;
}

export function run(binary: string, args: string[], opts: { input?: string; cwd?: string } = {}) {
  const r = spawnSync(binary, args, { encoding: "utf8", input: opts.input, cwd: opts.cwd, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** Writes content to a fresh temp file and returns its path. */
export function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "stackport-"));
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Runs shellcheck (POSIX sh dialect) on a rendered script; returns its findings. */
export function shellcheck(script: string): { code: number; output: string } {
  const bin = requireTool("shellcheck", "shellcheck");
  const r = run(bin, ["-s", "sh", "-S", "style", tempFile("script.sh", script)]);
  return { code: r.code, output: r.stdout + r.stderr };
}

/** A TCP port on 127.0.0.1 that nothing listens on right now, for a server a test starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
