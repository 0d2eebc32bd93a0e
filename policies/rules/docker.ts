/**
 * Docker container rules (CIS Docker Benchmark v1.6.0 §5, kubesec weights; docker/docker-bench-security `tests/5_container_runtime.sh`), on
 * pulumi-docker v5 inputs. Each rule reads only inputs our components set as literals (never `image`, which is
 * the pulled image's id and unknown at preview; pinning is checked on the `RemoteImage` name instead).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import { asArray, CannotCheck, dockerLabels, resourceRule, SECRET_MASK } from "./common";

export const CONTAINER = "docker:index/container:Container";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const STORAGE_COMPONENT = "stackport:docker:ObjectStorage";
export const DATABASE_COMPONENT = "stackport:docker:Database";

/** One-shot jobs (`mustRun: false`) run a script and exit: no health check or memory limit expected. */
const isOneShot = (props: any) => props.mustRun === false;

export const dockerNoPrivileged = resourceRule(
  {
    name: "docker-no-privileged",
    description: "Containers must not run privileged or add the SYS_ADMIN or ALL capabilities.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Remove `privileged: true` and any `capabilities.adds` of SYS_ADMIN/ALL; add only the narrow capability the service needs.",
    area: "docker",
    appliesTo: [CONTAINER],
  },
  (props, _args, report) => {
    if (props.privileged === true) report("the container runs privileged (CIS Docker 5.5)");
    const adds = asArray<string>(props.capabilities?.adds).map((c) =>
      String(c).toUpperCase().replace(/^CAP_/, ""),
    );
    for (const cap of adds.filter((c) => c === "SYS_ADMIN" || c === "ALL")) {
      report(`the container adds capability ${cap} (CIS Docker 5.4)`);
    }
  },
);

export const dockerNoHostNamespaces = resourceRule(
  {
    name: "docker-no-host-namespaces",
    description: "Containers must not share the host's network, PID, IPC or user namespace.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Drop `networkMode: host` (attach the container to the target's networks instead) and `pidMode`/`ipcMode`/`usernsMode: host`.",
    area: "docker",
    appliesTo: [CONTAINER],
  },
  (props, _args, report) => {
    const modes: [string, string][] = [
      ["networkMode", "network (CIS Docker 5.10)"],
      ["pidMode", "PID (CIS Docker 5.16)"],
      ["ipcMode", "IPC (CIS Docker 5.17)"],
      ["usernsMode", "user (CIS Docker 5.31)"],
    ];
    for (const [key, what] of modes) {
      if (props[key] === "host")
        report(`${key} is "host": the container shares the host's ${what} namespace`);
    }
  },
);

const DOCKER_SOCKET = /(^|\/)docker\.sock$/;
export const LOG_COLLECTOR_ROLE = "log-collector";
/** The label a service's reviewed socket exemption sets (`dockerSocket: { reason }` in the ingestion config). */
export const DOCKER_SOCKET_REASON_LABEL = "stackport.docker-socket-reason";

export const dockerSocketMount = resourceRule(
  {
    name: "docker-no-socket-mount",
    description:
      "Only the log collector (read-only) or a service with a reviewed exemption may mount the Docker socket.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Remove the /var/run/docker.sock mount. A log collector that needs it must carry the label `stackport.role=log-collector` and mount it read-only. A service that manages containers (Portainer) takes a reviewed exemption in the stack file: `stackport:ingestion.services.<svc>.dockerSocket: { reason: <why, who reviewed> }`, which labels the container `stackport.docker-socket-reason` and shows in the plan and the sign-off report.",
    area: "docker",
    appliesTo: [CONTAINER],
  },
  (props, _args, report) => {
    const mounts: { source: string; readOnly: boolean }[] = [];
    for (const v of asArray(props.volumes)) {
      // hostPath only: volumeName is another resource's output (unknown at preview) and never a socket.
      if (typeof v?.hostPath === "string") mounts.push({ source: v.hostPath, readOnly: v.readOnly === true });
    }
    for (const m of asArray(props.mounts)) {
      if (m?.type === "bind" && typeof m.source === "string")
        mounts.push({ source: m.source, readOnly: m.readOnly === true });
    }
    const sockets = mounts.filter((m) => DOCKER_SOCKET.test(m.source));
    if (sockets.length === 0) return;
    const labels = dockerLabels(props.labels);
    // A reviewed exemption: its reason is in the stack file, the plan and the sign-off report.
    if ((labels.get(DOCKER_SOCKET_REASON_LABEL) ?? "").trim().length >= 10) return;
    const collector = labels.get("stackport.role") === LOG_COLLECTOR_ROLE;
    for (const s of sockets) {
      if (!collector)
        report(
          `mounts the Docker socket ${s.source}: root on the host for anyone in the container (CIS Docker 5.32)`,
        );
      else if (!s.readOnly)
        report(`the log collector mounts the Docker socket ${s.source} read-write; mount it read-only`);
    }
  },
);

const WILDCARD = new Set(["", "0.0.0.0", "::", "[::]"]);
const isWildcard = (ip: unknown) => ip === undefined || ip === null || WILDCARD.has(String(ip));
export const PROXY_TIER = "proxy";

export const dockerInternalNotPublic = resourceRule(
  {
    name: "docker-internal-not-public",
    description:
      "Only the proxy tier may publish ports on all interfaces, and a service's port the stack's policy config lists; everything else binds one address.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      'Publish the port on 127.0.0.1 (or one LAN address) via the tier\'s `publish*.address` setting or a service port\'s `bind: loopback | <address name>`, or route it through the proxy tier instead. A service port meant for every interface (`bind: all`) is a reviewed exception: list its host port in this rule\'s `allInterfaces` in `policies/config/<stack>.json`, e.g. `{ "enforcementLevel": "mandatory", "allInterfaces": ["1883/tcp"] }`.',
    area: "docker",
    appliesTo: [CONTAINER, STORAGE_COMPONENT, DATABASE_COMPONENT],
    configSchema: {
      properties: {
        allInterfaces: {
          type: "array",
          items: { type: "string", pattern: "^[0-9]{1,5}/(tcp|udp)$" },
          default: [],
          description:
            "Host ports (`<port>/<protocol>`) a container outside the proxy tier may publish on every interface; a reviewed exception, empty by default.",
        },
      },
    },
  },
  (props, args, report) => {
    if (args.type === STORAGE_COMPONENT || args.type === DATABASE_COMPONENT) {
      // The component's own args (its inputs): known at preview even when a child's inputs are not.
      const keys = args.type === STORAGE_COMPONENT ? ["publishApi", "publishConsole"] : ["publish"];
      for (const key of keys) {
        const p = props[key];
        if (p && typeof p === "object" && isWildcard(p.address)) {
          report(`${key} publishes port ${p.port} on all interfaces (${p.address ?? "0.0.0.0"})`);
        }
      }
      return;
    }
    if (dockerLabels(props.labels).get("stackport.tier") === PROXY_TIER) return;
    if (props.publishAllPorts === true)
      report("publishAllPorts exposes every exposed port on all interfaces (CIS Docker 5.14)");
    const excepted = new Set(asArray<string>(args.getConfig<{ allInterfaces?: string[] }>().allInterfaces));
    for (const p of asArray(props.ports)) {
      // An unset ip is 0.0.0.0 (the provider's default): treat it as such (pulumi-docker's Container schema: ports[].ip defaults to 0.0.0.0).
      if (isWildcard(p?.ip) && !excepted.has(`${p.external}/${p.protocol ?? "tcp"}`)) {
        report(
          `port ${p.external ?? "(random)"}->${p.internal}/${p.protocol ?? "tcp"} is published on all interfaces (${p.ip || "0.0.0.0"}); only the proxy tier may be`,
        );
      }
    }
  },
);

/** The tag of an image reference, `undefined` when it has none; a digest counts as pinned. */
export function imageTag(ref: string): { tag?: string; digest: boolean } {
  if (ref.includes("@sha256:")) return { digest: true };
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return { tag: colon > lastSlash ? ref.slice(colon + 1) : undefined, digest: false };
}

export const dockerImagePinned = resourceRule(
  {
    name: "docker-image-pinned",
    description: "Images must be pulled by an explicit tag or digest, never untagged or `latest`.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps:
      "Set the tier's `image` to a versioned tag (e.g. `caddy:2.11.4-alpine`) or a `@sha256:` digest.",
    area: "docker",
    appliesTo: [REMOTE_IMAGE],
  },
  (props, _args, report) => {
    const ref = props.name;
    if (typeof ref !== "string" || ref === "") return report("the image has no name");
    const { tag, digest } = imageTag(ref);
    if (digest) return;
    if (tag === undefined)
      report(`image ${ref} has no tag: it means latest, whatever that is today (hadolint DL3006)`);
    else if (tag === "latest") report(`image ${ref} uses the moving tag latest (hadolint DL3007)`);
  },
);

export const dockerHealthcheck = resourceRule(
  {
    name: "docker-healthcheck",
    description: "Long-running containers must define a health check.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps:
      'Add `healthcheck.tests` (e.g. `["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:PORT/health"]`).',
    area: "docker",
    appliesTo: [CONTAINER],
  },
  (props, _args, report) => {
    if (isOneShot(props)) return;
    const tests = asArray(props.healthcheck?.tests);
    if (tests.length === 0 || (tests.length === 1 && String(tests[0]).toUpperCase() === "NONE")) {
      report("the container has no health check (CIS Docker 5.27)");
    }
  },
);

export const dockerMemoryLimit = resourceRule(
  {
    name: "docker-memory-limit",
    description: "Long-running containers must set a memory limit.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set `memory` (MB) on the container, from the tier's `memoryMb` setting.",
    area: "docker",
    appliesTo: [CONTAINER],
  },
  (props, _args, report) => {
    if (isOneShot(props)) return;
    const memory = props.memory;
    if (typeof memory !== "number" || memory <= 0)
      report("the container has no memory limit (CIS Docker 5.11)");
  },
);

export const SECRET_KEY = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY/i;

/** `KEY=VALUE` entries whose key looks secret and whose value is a plain literal. */
export function plainSecretEnvs(envs: unknown): string[] {
  if (envs === SECRET_MASK) return [];
  const found: string[] = [];
  for (const entry of asArray(envs)) {
    if (typeof entry !== "string" || entry === SECRET_MASK) continue;
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? "" : entry.slice(eq + 1);
    // `*_FILE` points at a mounted secret file: the recommended pattern, not a secret.
    if (SECRET_KEY.test(key) && !/_FILE$/i.test(key) && value !== "" && value !== SECRET_MASK)
      found.push(key);
  }
  return found;
}

export const dockerNoPlainSecretEnvs = resourceRule(
  {
    name: "docker-no-plain-secret-envs",
    description: "Secret-looking environment variables must come from Pulumi secrets, never plain literals.",
    severity: "high",
    // Mandatory by default, set nowhere else: a synth-only rule is unknown to the engine, which would silently
    // ignore its key in a policy config file (local's `all: advisory` still lowers it there).
    enforcementLevel: "mandatory",
    remediationSteps:
      "Map the variable in the service's `secrets:` (stackport:ingestion.services.<svc>.secrets: { NAME: <secret> }), from a stack secret (`pulumi config set --secret --path 'stackport:secrets.<secret>' <value>`) or a generated one (`stackport:ingestion.generatedSecrets.<secret>`), so it stays a Pulumi secret; a component's own container gets it from `@pulumi/random`. Or mount it as a file and pass `KEY_FILE`.",
    area: "docker",
    appliesTo: [CONTAINER],
    synthOnly:
      "the CrossGuard engine hands policies secrets unwrapped to plain text, so a generated secret and a literal look the same there; the offline synth sees them masked",
  },
  (props, _args, report) => {
    for (const key of plainSecretEnvs(props.envs)) report(`envs sets ${key} to a plain literal`);
  },
);

export const DOCKER_PROVIDER = "pulumi:providers:docker";

/** `sshOpts` as a list: the provider SDK sends it JSON-encoded (pulumi-docker `provider.ts` applies JSON.stringify). */
export function sshOptions(value: unknown): string[] {
  if (typeof value === "string") {
    try {
      const parsed: unknown = JSON.parse(value);
      return asArray<unknown>(parsed).map(String);
    } catch {
      throw new CannotCheck("sshOpts is not the JSON list the provider SDK sends");
    }
  }
  return asArray<unknown>(value).map(String);
}

/** `-o Key=Value`, `-oKey=Value` and `-o "Key Value"` as [key (lower case), value]. */
export function sshConfigOptions(opts: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i]!;
    const setting = o === "-o" ? opts[++i] : o.startsWith("-o") ? o.slice(2) : undefined;
    const m = setting === undefined ? null : /^\s*([A-Za-z]+)\s*(?:=|\s)\s*(.*?)\s*$/.exec(setting);
    if (m) out.push([m[1]!.toLowerCase(), m[2]!.replace(/^"(.*)"$/, "$1")]);
  }
  return out;
}

export const dockerSshHostKeys = resourceRule(
  {
    name: "docker-ssh-host-keys",
    description: "A Docker provider that connects over SSH must verify the host's key.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Remove `StrictHostKeyChecking=no` and `UserKnownHostsFile=/dev/null` from the target's `sshOpts`; use `StrictHostKeyChecking=accept-new` (trust on first use) or add the host's key to known_hosts. A stack that accepts it (a disposable VM) lowers this rule in its own `policies/config/<stack>.json`.",
    area: "docker",
    appliesTo: [DOCKER_PROVIDER],
  },
  (props, _args, report) => {
    for (const [key, value] of sshConfigOptions(sshOptions(props.sshOpts))) {
      if (key === "stricthostkeychecking" && /^(no|off)$/i.test(value))
        report(
          `sshOpts sets StrictHostKeyChecking=${value}: any host answering at that address gets the deploy (a man in the middle sees the Docker API)`,
        );
      if (key === "userknownhostsfile" && value === "/dev/null")
        report(
          "sshOpts sets UserKnownHostsFile=/dev/null: host keys are never remembered, so never verified",
        );
    }
  },
);

export const dockerRules = [
  dockerNoPrivileged,
  dockerNoHostNamespaces,
  dockerSocketMount,
  dockerInternalNotPublic,
  dockerImagePinned,
  dockerHealthcheck,
  dockerMemoryLimit,
  dockerNoPlainSecretEnvs,
  dockerSshHostKeys,
];
