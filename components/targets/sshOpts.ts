/**
 * The `ssh` options a Docker target may pass to the client the Docker provider runs, as an allow-list: the provider
 * (through docker/cli's `cli/connhelper/connhelper.go`) runs `ssh <sshOpts…> -- <host> docker system dial-stdio` on
 * this machine at every preview and update, so an option that runs a command (`ProxyCommand`, `LocalCommand`,
 * `KnownHostsCommand`, `-F` with a config that has them) would run it here, and one that stops checking the host's
 * identity hands the Docker socket (root on the host) to whoever answers on the network. Anything not listed here is
 * refused, with what is allowed. Pure.
 */
import { type ArgsIssue, argPath } from "../shared/errors";

const YES_NO = /^(yes|no)$/i;
const NUMBER = /^\d{1,6}$/;
const PORT = /^([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;
/** A file path without spaces or quotes: `~/.ssh/id_ed25519`, `/home/deploy/.ssh/known_hosts`, `%d/.ssh/x`. */
const PATH = /^[~/%A-Za-z0-9][A-Za-z0-9._/%~+-]*$/;
const USER = /^[a-z_][a-z0-9_.-]*$/;
/** `[user@]host[:port]`, comma-separated: ProxyJump's hops (each an `ssh` to a host, never a local command). */
const JUMP_HOSTS =
  /^([a-z_][a-z0-9_.-]*@)?[A-Za-z0-9.-]+(:\d{1,5})?(,([a-z_][a-z0-9_.-]*@)?[A-Za-z0-9.-]+(:\d{1,5})?)*$/;

/** Options (`-o Name=value`) that neither run a command nor weaken trust, as ssh_config spells them, with their values. */
const SAFE_OPTIONS: Record<string, RegExp> = {
  AddressFamily: /^(any|inet|inet6)$/i,
  BatchMode: YES_NO,
  Compression: YES_NO,
  ConnectTimeout: NUMBER,
  ConnectionAttempts: NUMBER,
  ControlMaster: /^(yes|no|auto)$/i,
  ControlPath: PATH,
  ControlPersist: /^(yes|no|\d{1,6}[smhdw]?)$/i,
  HostKeyAlias: /^[A-Za-z0-9.-]+$/,
  IdentitiesOnly: YES_NO,
  IdentityFile: PATH,
  LogLevel: /^(quiet|fatal|error|info|verbose|debug[123]?)$/i,
  Port: PORT,
  ProxyJump: JUMP_HOSTS,
  ServerAliveCountMax: NUMBER,
  ServerAliveInterval: NUMBER,
  StrictHostKeyChecking: /^(yes|accept-new|no|off)$/i,
  TCPKeepAlive: YES_NO,
  User: USER,
  UserKnownHostsFile: PATH,
};
/** ssh reads option names case-insensitively. */
const SAFE_BY_LOWER = new Map(Object.keys(SAFE_OPTIONS).map((name) => [name.toLowerCase(), name]));

/** Options and values that stop `ssh` from checking who the host is: allowed only with `insecureHostKeys`. */
const INSECURE: Record<string, RegExp> = {
  StrictHostKeyChecking: /^(no|off)$/i,
  UserKnownHostsFile: /^\/dev\/null$/,
};

/** Why the options users reach for most often are refused (the rest get the allow-list). */
const REFUSED_BECAUSE: Record<string, string> = {
  proxycommand: "it runs a local command at every connection; use ProxyJump for a bastion host",
  localcommand: "it runs a local command after connecting",
  permitlocalcommand: "it enables LocalCommand, which runs a local command",
  knownhostscommand: "it runs a local command to decide which host keys to trust",
  match: "a Match exec block runs a local command",
  include: "an included ssh_config can set ProxyCommand or LocalCommand",
  remotecommand: "the provider decides the remote command (docker system dial-stdio)",
  forwardagent: "it lends your SSH agent, and every key in it, to the Docker host",
};

/** Flags that take a value (`-i path` or `-ipath`), with the option they stand for. */
const VALUE_FLAGS: Record<string, string> = {
  "-i": "IdentityFile",
  "-p": "Port",
  "-l": "User",
  "-J": "ProxyJump",
};
/** Flags without a value that change nothing about trust: IPv4/IPv6 only, compression, quiet, verbose. */
const PLAIN_FLAGS = ["-4", "-6", "-C", "-q", "-v"];
const REFUSED_FLAGS: Record<string, string> = {
  "-F": "another ssh_config file can set ProxyCommand or LocalCommand",
  "-A": "it lends your SSH agent, and every key in it, to the Docker host",
  "-L": "the provider needs no port forwarding",
  "-R": "the provider needs no port forwarding",
  "-D": "the provider needs no port forwarding",
  "-W": "the provider decides where the connection goes",
};

const ALLOWED_SUMMARY =
  `flags ${[...Object.keys(VALUE_FLAGS), ...PLAIN_FLAGS].join(" ")} and -o with ` +
  Object.keys(SAFE_OPTIONS).join(", ");

/**
 * What is wrong with a Docker target's `sshOpts` (empty when every item is allowed), each at `sshOpts[i]`.
 * @param insecureHostKeys allow `StrictHostKeyChecking=no|off` and `UserKnownHostsFile=/dev/null`
 */
export function sshOptsIssues(sshOpts: readonly string[], insecureHostKeys: boolean): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const refuse = (i: number, message: string) => issues.push({ path: argPath("sshOpts", i), message });
  for (let i = 0; i < sshOpts.length; i++) {
    const item = sshOpts[i]!;
    const flag = item.slice(0, 2);
    if (flag === "-o" || Object.hasOwn(VALUE_FLAGS, flag)) {
      // `-o Name=value` as two items, or `-oName=value` as one: ssh's getopt reads both.
      const attached = item.slice(2);
      const valueAt = attached ? i : i + 1;
      const value = attached || sshOpts[valueAt];
      if (value === undefined) {
        refuse(i, `'${flag}' needs a value after it`);
        continue;
      }
      i = valueAt;
      const problem =
        flag === "-o" ? optionProblem(value, insecureHostKeys) : valueProblem(VALUE_FLAGS[flag]!, value);
      if (problem) refuse(valueAt, problem);
    } else if (PLAIN_FLAGS.includes(item)) {
      continue;
    } else if (Object.hasOwn(REFUSED_FLAGS, flag)) {
      refuse(i, `'${flag}' is not allowed: ${REFUSED_FLAGS[flag]}`);
    } else {
      refuse(
        i,
        `'${item}' is not an allowed ssh option (give each flag as its own item); allowed: ${ALLOWED_SUMMARY}`,
      );
    }
  }
  return issues;
}

/** `Name=value` or `Name value`, as ssh_config reads a line. */
function optionProblem(option: string, insecureHostKeys: boolean): string | undefined {
  const m = /^\s*([A-Za-z]+)\s*(?:=\s*|\s+)(.*?)\s*$/.exec(option);
  if (!m) return `'${option}' is not Name=value`;
  const [, given, value] = m as unknown as [string, string, string];
  const reason = Object.hasOwn(REFUSED_BECAUSE, given.toLowerCase())
    ? REFUSED_BECAUSE[given.toLowerCase()]
    : undefined;
  if (reason) return `'${given}' is not allowed: ${reason}`;
  const name = SAFE_BY_LOWER.get(given.toLowerCase());
  if (!name) return `'${given}' is not an allowed ssh option; allowed: ${ALLOWED_SUMMARY}`;
  if (INSECURE[name]?.test(value) && !insecureHostKeys) {
    return `'${name}=${value}' stops ssh from checking the host's identity (anyone on the path gets the Docker socket, which is root on the host); use StrictHostKeyChecking=accept-new, or set insecureHostKeys: true to accept the risk (it shows in the plan)`;
  }
  return valueProblem(name, value);
}

function valueProblem(name: string, value: string): string | undefined {
  return SAFE_OPTIONS[name]!.test(value) ? undefined : `'${value}' is not a valid value for ${name}`;
}
