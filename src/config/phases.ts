/**
 * Staged cutover of one tier between two targets: `cutover.<tier>: { from, to, phase }`. Each phase is one
 * reviewed `pulumi up`; this module says, for a phase, where the tier runs and what the platform must do around it
 * (docs/runbooks/cutover-*.md explain the why), and where a storage cutover's object mirror runs. Pure: the
 * platform reads the answers and places components.
 *
 *   replicate     source serves; target created beside it; object mirror runs; initial database copy
 *   freeze        source serves reads; writers at zero; write routes answer "maintenance"; mirror catches up
 *   backfill      still frozen; mirror stopped; final copy, then verification (a mismatch fails the update)
 *   switch        target serves (proxy upstreams / weighted DNS point at it); source kept, idle, for a way back
 *   decommission  source removed from the program; its protected data retained (retainOnDelete)
 */

export const PHASES = ["replicate", "freeze", "backfill", "switch", "decommission"] as const;
export type Phase = (typeof PHASES)[number];

export interface Cutover {
  from: string;
  to: string;
  phase: Phase;
}

export interface TierPlacement {
  /** Targets that get the tier's components in this phase. */
  targets: string[];
  /** The target the proxy upstreams (or the weighted Route 53 records) send traffic to. */
  serving: string;
  /** Writers scaled to zero and write routes answering with a maintenance response. */
  writesFrozen: boolean;
  /** A continuous object mirror from source to target runs. */
  mirror: boolean;
  /** The copy job to run (then verify): the initial copy, the final one, or none. */
  copy: "initial" | "final" | "none";
  /** Targets whose components leave the program while their stateful resources are kept. */
  retained: string[];
}

/** Where a tier placed `on` a target runs, with or without a cutover in progress. */
export function placementFor(on: string, cutover?: Cutover): TierPlacement {
  if (!cutover)
    return { targets: [on], serving: on, writesFrozen: false, mirror: false, copy: "none", retained: [] };
  const { from, to, phase } = cutover;
  const both = [from, to];
  switch (phase) {
    case "replicate":
      return {
        targets: both,
        serving: from,
        writesFrozen: false,
        mirror: true,
        copy: "initial",
        retained: [],
      };
    case "freeze":
      return { targets: both, serving: from, writesFrozen: true, mirror: true, copy: "none", retained: [] };
    case "backfill":
      return { targets: both, serving: from, writesFrozen: true, mirror: false, copy: "final", retained: [] };
    case "switch":
      return { targets: both, serving: to, writesFrozen: false, mirror: false, copy: "none", retained: [] };
    case "decommission":
      return {
        targets: [to],
        serving: to,
        writesFrozen: false,
        mirror: false,
        copy: "none",
        retained: [from],
      };
  }
}

/** Problems with a tier's cutover config, as messages naming the key (empty when valid). */
export function cutoverProblems(tier: string, on: string, cutover: Cutover, targets: string[]): string[] {
  const key = `stackport:cutover.${tier}`;
  const problems: string[] = [];
  for (const side of ["from", "to"] as const) {
    if (!targets.includes(cutover[side])) {
      problems.push(
        `${key}.${side}: unknown target '${cutover[side]}'; targets of this stack: ${targets.join(", ")}`,
      );
    }
  }
  if (cutover.from === cutover.to) problems.push(`${key}: from and to are both '${cutover.from}'`);
  if (on !== cutover.from) {
    problems.push(
      `${key}.from: is '${cutover.from}' but the tier is on '${on}'; keep ${tier}.on at the source until the cutover ends`,
    );
  }
  return problems;
}

/**
 * Whether moving from the phase the stack is in to the requested one is safe: one step forward, or one step
 * back while the source still serves. Returns why not, or undefined. Skipping a phase skips its safeguard (no
 * freeze before the final copy = lost writes; no verified backfill before the switch = serving a partial copy).
 */
export function phaseChangeProblem(previous: Phase | undefined, next: Phase): string | undefined {
  const from = previous === undefined ? -1 : PHASES.indexOf(previous);
  const to = PHASES.indexOf(next);
  if (to === from || to === from + 1) return undefined;
  if (to > from) {
    return `cutover cannot go from ${previous ?? "no cutover"} to ${next}: run ${PHASES.slice(from + 1, to).join(", then ")} first`;
  }
  if (previous === "switch" || previous === "decommission") {
    return `cutover cannot go back from ${previous}: writes may have landed on the target; start a reverse cutover (swap from and to) instead`;
  }
  return to === from - 1
    ? undefined
    : `cutover goes back one phase at a time (${previous} → ${PHASES[from - 1]})`;
}

/** A tier's cutover as plans summarize it and as a stack's config records it. */
export interface TierCutover extends Cutover {
  tier: string;
}

/**
 * Every phase step a change of config would skip, per tier: `previous` and `next` are the cutovers in progress
 * before and after (as plans summarize them). A cutover in the other direction is a new one. Ending a cutover
 * (the tier has none in `next`) is a step too: after `decommission` it is the cutover's end, before `switch` it
 * abandons the cutover while the source still holds every write, but at `switch` it skips `decommission`.
 */
export function cutoverStepProblems(
  previous: readonly TierCutover[] | undefined,
  next: readonly TierCutover[] | undefined,
): string[] {
  return cutoverSteps(previous, next).map(({ key, problem }) => `${key}: ${problem}`);
}

/** The config key a refused step changed: the phase, or the whole cutover when it was removed. */
const stepKey = (tier: string, ended: boolean) => `stackport:cutover.${tier}${ended ? "" : ".phase"}`;

function cutoverSteps(
  previous: readonly TierCutover[] | undefined,
  next: readonly TierCutover[] | undefined,
): { tier: string; key: string; problem: string }[] {
  const steps = (next ?? []).flatMap((cutover) => {
    const before = previous?.find(
      (p) => p.tier === cutover.tier && p.from === cutover.from && p.to === cutover.to,
    );
    const problem = phaseChangeProblem(before?.phase, cutover.phase);
    return problem ? [{ tier: cutover.tier, key: stepKey(cutover.tier, false), problem }] : [];
  });
  const ended = (previous ?? []).filter(
    (p) => p.phase === "switch" && !(next ?? []).some((n) => n.tier === p.tier),
  );
  return [
    ...steps,
    ...ended.map((p) => ({
      tier: p.tier,
      key: stepKey(p.tier, true),
      problem: `cutover cannot end at switch: run decommission first, or go back with a reverse cutover (from ${p.to} to ${p.from}); writes may have landed on ${p.to}`,
    })),
  ];
}

/** The runbook whose "Every phase, the same loop" says how a cutover moves, for messages without a plan's. */
export const CUTOVER_RUNBOOK = "docs/runbooks/cutover-homelab-to-aws.md";

/** A config value as a stack's update history records it (`pulumi stack history --json`, `configValueJSON`). */
export interface RecordedConfigValue {
  value?: string;
  objectValue?: unknown;
  secret?: boolean;
}

/**
 * The cutovers a recorded config holds under `<project>:cutover` (an object of tier → { from, to, phase }):
 * [] when the key is absent; a string saying why when it cannot be read (secret, or not that shape).
 */
export function recordedCutovers(
  config: Record<string, RecordedConfigValue> | undefined,
  project: string,
): TierCutover[] | string {
  const key = `${project}:cutover`;
  const recorded = config?.[key];
  if (!recorded) return [];
  if (recorded.secret) return `${key} is recorded as a secret, so its phases cannot be read`;
  let value = recorded.objectValue;
  if (value === undefined && recorded.value !== undefined) {
    try {
      value = JSON.parse(recorded.value);
    } catch {
      value = undefined;
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    return `${key} is not recorded as an object of tier → { from, to, phase }`;
  const cutovers: TierCutover[] = [];
  for (const [tier, c] of Object.entries(value as Record<string, Partial<Cutover>>)) {
    if (!c || typeof c.from !== "string" || typeof c.to !== "string" || !PHASES.includes(c.phase as Phase))
      return `${key}.${tier} is not recorded as { from, to, phase } with a known phase`;
    cutovers.push({ tier, from: c.from, to: c.to, phase: c.phase as Phase });
  }
  return cutovers;
}

/**
 * The online phase check: the cutovers this change deploys against those the stack's last successful update
 * recorded (`deployed.what` says which update that is). Each refusal names both phases and the runbook.
 */
export function deployedPhaseProblems(
  deployed: { what: string; cutovers: readonly TierCutover[] },
  next: readonly (TierCutover & { runbook?: string })[] | undefined,
): string[] {
  return cutoverSteps(deployed.cutovers, next).map(({ tier, key, problem }) => {
    const head = next?.find((n) => n.tier === tier);
    const before = deployed.cutovers.find(
      (c) => c.tier === tier && (!head || (c.from === head.from && c.to === head.to)),
    );
    const phaseOf = () => before?.phase ?? "no cutover";
    return `${key}: the stack is at ${phaseOf()} (${deployed.what}) and this change asks for ${head?.phase ?? "no cutover"}: ${problem} (see ${head?.runbook ?? CUTOVER_RUNBOOK}, "Every phase, the same loop")`;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Where the mirror runs

export type TargetKind = "docker" | "aws" | "external";

export interface MirrorSettings {
  /** The Docker target the mirror container runs on; only needed when both sides are Docker. */
  on?: string;
  /** The other side's S3 API as the mirror container reaches it; required when both sides are Docker. */
  remoteEndpoint?: string;
}

export type MirrorPlan =
  | {
      /** The Docker target the mirror and the final-copy job run on. */
      runsOn: string;
      /** The side that is not `runsOn`: reached over the network (S3's public endpoint, or `remoteEndpoint`). */
      remote: "source" | "target";
    }
  | { problem: string; key: "mirror" | "mirror.on" | "mirror.remoteEndpoint" };

/**
 * Where a storage cutover's mirror runs: in a container on the Docker side, which reaches its own MinIO on the
 * backend network and the other side over the network. S3 has no container host of its own here, and a homelab
 * can reach S3 while S3 cannot reach a homelab. Between two Docker hosts, on `mirror.on` (default: the source),
 * which must reach the other host's MinIO at `mirror.remoteEndpoint`.
 */
export function objectMirrorPlan(
  cutover: { from: string; to: string; mirror?: MirrorSettings },
  kindOf: (target: string) => TargetKind,
): MirrorPlan {
  const { from, to } = cutover;
  const docker = [from, to].filter((t) => kindOf(t) === "docker");
  if (docker.length === 0 && [from, to].some((t) => kindOf(t) === "external")) {
    return {
      key: "mirror",
      problem: `neither '${from}' nor '${to}' is a Docker target: the object mirror runs in a container on a Docker target`,
    };
  }
  if (docker.length === 0) {
    return {
      key: "mirror",
      problem: `both '${from}' and '${to}' are AWS targets: the object mirror runs in a container on a Docker target; between two AWS accounts or regions use S3 Replication instead`,
    };
  }
  const on = cutover.mirror?.on;
  if (on !== undefined && on !== from && on !== to) {
    return {
      key: "mirror.on",
      problem: `is '${on}'; the mirror runs on one side of the cutover: '${from}' or '${to}'`,
    };
  }
  if (on !== undefined && kindOf(on) !== "docker") {
    return {
      key: "mirror.on",
      problem: `'${on}' is not a Docker target; the mirror runs in a container on '${docker[0]}'`,
    };
  }
  const runsOn = on ?? (docker.includes(from) ? from : to);
  if (docker.length === 2 && !cutover.mirror?.remoteEndpoint) {
    const other = runsOn === from ? to : from;
    return {
      key: "mirror.remoteEndpoint",
      problem: `both sides are Docker: give the S3 API of '${other}' as the mirror on '${runsOn}' reaches it (for example http://${other}.lan:9000, with the storage API port published on '${other}')`,
    };
  }
  return { runsOn, remote: runsOn === from ? "target" : "source" };
}
