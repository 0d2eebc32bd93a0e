/**
 * The pure half of the Docker target: its defaults and args checks, the SSH address, and the host-preparation
 * script. No provider import, so a program can validate Docker target args without loading `@pulumi/docker`.
 */
import type { ArgsIssue } from "../shared/errors";
import { scriptHeader, shQuote } from "../shared/shell";
import { sshOptsIssues } from "./sshOpts";

export interface SshEndpoint {
  user: string;
  host: string;
  port: number;
}

/** A remote Docker host: `ssh://[user@]host[:port]`. */
export const SSH_HOST = /^ssh:\/\/([a-z_][a-z0-9_.-]*@)?[A-Za-z0-9.-]+(:\d{1,5})?$/;

/** Defaults of `DockerTargetArgs` (components/targets/docker.ts). */
export const DOCKER_TARGET_DEFAULTS = { dataRoot: "/srv/stackport", isolateBackend: false } as const;

/** `dataRoot`: absolute, no spaces (it is used unquoted by tools on the host). */
export const DATA_ROOT = /^\/[A-Za-z0-9._/-]*$/;
/** `dataOwner`: `user` or `user:group`. */
export const DATA_OWNER = /^[a-z_][a-z0-9_-]*(:[a-z_][a-z0-9_-]*)?$/;

/**
 * Where a data root may live. Host preparation runs `chown <owner>` and `chmod 0750` on it as root, so it must be a
 * directory of its own below a tree meant for service or user data — never `/`, a system directory (`/etc`, `/usr`,
 * `/var`) or a home directory itself. `/home/<user>/…` and `/mnt/<disk>/…` cover a NAS user's disks.
 */
export const DATA_ROOT_PREFIXES = [
  "/srv/",
  "/var/lib/",
  "/opt/",
  "/data/",
  "/home/<user>/",
  "/mnt/",
] as const;
/** Directories below an allowed prefix that belong to the system, not to stackport. */
const SYSTEM_DIRS = ["/var/lib/docker", "/var/lib/containerd"];

/** Why `dataRoot` cannot be prepared safely; undefined when it can. */
export function dataRootProblem(dataRoot: string): string | undefined {
  if (!DATA_ROOT.test(dataRoot)) return `must be an absolute path without spaces, got '${dataRoot}'`;
  const segments = dataRoot === "/" ? [] : dataRoot.split("/").slice(1);
  if (segments.some((s) => s === "" || s === "." || s === "..")) {
    return `must be a plain absolute path: no '..' or '.' segments, no '//' and no trailing '/', got '${dataRoot}'`;
  }
  const below = (prefix: string) => {
    const parts = prefix.split("/").filter(Boolean);
    // `/home/<user>/x`: one user directory, then at least one directory of stackport's own.
    return segments.length > parts.length && parts.every((p, i) => p === "<user>" || p === segments[i]);
  };
  if (!DATA_ROOT_PREFIXES.some(below)) {
    return `host preparation makes it owned by the data owner with mode 0750, so it must be a directory of its own below ${DATA_ROOT_PREFIXES.join(", ")}; got '${dataRoot}'`;
  }
  const system = SYSTEM_DIRS.find((d) => dataRoot === d || dataRoot.startsWith(`${d}/`));
  if (system)
    return `'${system}' belongs to the container runtime; choose a directory of stackport's own, got '${dataRoot}'`;
  return undefined;
}

/** What is wrong with a Docker target's args (empty when valid). */
export function validateDockerTargetArgs(args: {
  host?: string | undefined;
  sshOpts?: readonly string[] | undefined;
  dataRoot?: string | undefined;
  dataOwner?: string | undefined;
  insecureHostKeys?: boolean | undefined;
}): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  if (args.host !== undefined && !SSH_HOST.test(args.host))
    issues.push({ path: "host", message: "must look like ssh://user@host or ssh://user@host:port" });
  if (args.sshOpts !== undefined) issues.push(...sshOptsIssues(args.sshOpts, args.insecureHostKeys ?? false));
  const dataRoot = args.dataRoot === undefined ? undefined : dataRootProblem(args.dataRoot);
  if (dataRoot) issues.push({ path: "dataRoot", message: dataRoot });
  if (args.dataOwner !== undefined && !DATA_OWNER.test(args.dataOwner))
    issues.push({ path: "dataOwner", message: "must be user or user:group" });
  return issues;
}

/** Parses `ssh://user@host:port` (user defaults to root, as OpenSSH's remote side would see it; port to 22). */
export function parseSshHost(url: string): SshEndpoint {
  const m = /^ssh:\/\/(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(url);
  if (!m) throw new Error(`not an ssh:// URL: ${url}`);
  return { user: m[1] ?? "root", host: m[2]!, port: m[3] ? Number(m[3]) : 22 };
}

/** Sub-directories of the data root that later tiers use (backups, import files). */
export const DATA_SUBDIRS = ["backups", "imports"] as const;

/**
 * The host-preparation script run over SSH before any container: fails early and readably when Docker is missing
 * or unreachable for the SSH user, then creates the data directories with their owner. Idempotent.
 */
export function renderHostPrepScript(opts: { dataRoot: string; owner: string }): string {
  const dirs = [opts.dataRoot, ...DATA_SUBDIRS.map((d) => `${opts.dataRoot}/${d}`)];
  return (
    scriptHeader("prepare a Docker host for stackport") +
    [
      `DATA_ROOT=${shQuote(opts.dataRoot)}`,
      `OWNER=${shQuote(opts.owner)}`,
      "",
      "as_root() {",
      '  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi',
      "}",
      "",
      "if ! command -v docker >/dev/null 2>&1; then",
      '  echo "stackport: the docker CLI is not installed on $(hostname); install Docker Engine first" >&2',
      "  exit 1",
      "fi",
      "if ! docker info >/dev/null 2>&1; then",
      '  echo "stackport: $(id -un) cannot reach the Docker daemon on $(hostname); add the user to the docker group" >&2',
      "  exit 1",
      "fi",
      "",
      `for dir in ${dirs.map((d) => (d === opts.dataRoot ? '"$DATA_ROOT"' : `"$DATA_ROOT/${d.slice(opts.dataRoot.length + 1)}"`)).join(" ")}; do`,
      '  if [ ! -d "$dir" ]; then as_root mkdir -p "$dir"; fi',
      '  as_root chown "$OWNER" "$dir"',
      '  as_root chmod 0750 "$dir"',
      "done",
      "",
      `echo "stackport: $(hostname) ready: Docker $(docker version --format '{{.Server.Version}}'), data in $DATA_ROOT"`,
      "",
    ].join("\n")
  );
}
