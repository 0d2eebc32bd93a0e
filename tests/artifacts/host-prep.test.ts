/**
 * The host-preparation script (components/targets/hostPrep.ts) run by a real POSIX shell against a temp directory:
 * the directories it creates, their mode, and the owner it gives them. Only `docker`, `sudo` and `chown` are
 * stand-ins (there is no Docker daemon here, and giving a directory away needs root): each records how it was called.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATA_SUBDIRS, renderHostPrepScript } from "../../components/targets/hostPrep";
import { requireTool } from "../support/tools";

const DASH = requireTool("dash", "dash");

/**
 * Stand-ins on PATH, each appending its arguments to `calls.log`:
 * - `docker`: the docker CLI as the script uses it (docker/cli v27, cli/command/system/info.go and version.go):
 *   `docker info` exits 1 when the daemon cannot be reached (here when DOCKER_UNREACHABLE is set), and
 *   `docker version --format '{{.Server.Version}}'` prints the server's version;
 * - `sudo`: `sudo -n cmd…` runs cmd (a deploy user with passwordless sudo), for a test run as a non-root user;
 * - `chown`: records the owner and path (the owner does not exist here; `chown` itself is coreutils).
 */
function standIns(): { bin: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), "stackport-hostprep-bin-"));
  const log = join(dir, "calls.log");
  const tool = (name: string, body: string) => {
    writeFileSync(join(dir, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  };
  tool(
    "docker",
    [
      'case "$1" in',
      '  info) [ -z "$DOCKER_UNREACHABLE" ] || { echo "Cannot connect to the Docker daemon" >&2; exit 1; } ;;',
      "  version) echo 27.5.1 ;;",
      "esac",
    ].join("\n"),
  );
  tool("sudo", '[ "$1" = "-n" ] && shift\nexec "$@"');
  tool("chown", "exit 0");
  return { bin: dir, log };
}

function prepare(dataRoot: string, owner: string, env: Record<string, string> = {}) {
  const { bin, log } = standIns();
  const script = join(bin, "prepare.sh");
  writeFileSync(script, renderHostPrepScript({ dataRoot, owner }));
  const r = spawnSync(DASH, [script], {
    encoding: "utf8",
    timeout: 30_000,
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: bin, ...env },
  });
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
}

const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe("host preparation, run by dash against a temp directory", () => {
  const parent = () => mkdtempSync(join(tmpdir(), "stackport-hostprep-"));

  it("creates the data root and its subdirectories, each mode 0750 and given to the owner", () => {
    // A space and a quote in the path: every value must reach the commands as one quoted word.
    const root = join(parent(), "it's data");
    const r = prepare(root, "deploy:docker");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const dirs = [root, ...DATA_SUBDIRS.map((d) => join(root, d))];
    for (const dir of dirs) {
      expect(statSync(dir).isDirectory()).toBe(true);
      // Not group-writable, nothing for others: the backups in here are the database's contents.
      expect(modeOf(dir).toString(8)).toBe("750");
    }
    expect(r.calls.filter((c) => c.startsWith("chown "))).toEqual(
      dirs.map((d) => `chown deploy:docker ${d}`),
    );
    expect(r.stdout).toContain(`ready: Docker 27.5.1, data in ${root}`);
  });

  it("tightens directories that already exist with a looser mode (a re-run fixes drift)", () => {
    const root = join(parent(), "stackport");
    mkdirSync(join(root, "backups"), { recursive: true });
    chmodSync(root, 0o777);
    chmodSync(join(root, "backups"), 0o777);
    expect(prepare(root, "deploy").code).toBe(0);
    expect(modeOf(root).toString(8)).toBe("750");
    expect(modeOf(join(root, "backups")).toString(8)).toBe("750");
  });

  it("stops before touching the filesystem when the Docker daemon is unreachable", () => {
    const root = join(parent(), "stackport");
    const r = prepare(root, "deploy", { DOCKER_UNREACHABLE: "1" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the Docker daemon on .*; add the user to the docker group/);
    expect(existsSync(root)).toBe(false);
    expect(r.calls.some((c) => c.startsWith("chown"))).toBe(false);
  });
});
