/**
 * Safety downgrades: the protections a change switches off, found by comparing what was (the base plan, or the
 * deployed state in a real preview) with what will be. Sign-off and the PR comment list them apart from ordinary
 * changes, because each one is a single line of config that removes a guard against losing data or letting people in:
 * the stack's environment, a resource's `protect` / `retainOnDelete`, an input that protects (RDS deletion
 * protection, bucket versioning, log retention, host-key checking, …), a guard resource removed (flow logs, alarm
 * subscriptions, backups), or a policy rule relaxed in the stack's policy config.
 *
 * Pure: no file, process or engine.
 */
import { resolveEnforcementLevel, type PolicyPackConfig } from "../synth/policy";
import type { PlanDocument, SafetyContext } from "../synth/render";
import { allRules } from "../../policies/rules";

type PlanResource = PlanDocument["resources"][number];
/** A resource as a plan records it, or as a real preview's step states show it. */
export type SafetyResource = Pick<PlanResource, "type" | "name" | "inputs"> & {
  protect?: boolean;
  retainOnDelete?: boolean;
};

/** One side of the comparison. */
export interface SafetyView {
  resources: SafetyResource[];
  /** Unknown (a real preview's deployed side, a plan from before this field existed): not compared. */
  context?: SafetyContext;
}

export interface SafetyDowngrade {
  /** What is downgraded: `stack`, `policy <rule>`, or `<name> (<type>)`. */
  subject: string;
  /** What changes, with the old and new value where there is one. */
  change: string;
}

/** Environments by strictness; a move to a less strict one, or to one not listed, is a downgrade. */
const ENVIRONMENT_RANK: Record<string, number> = { local: 0, staging: 1, production: 2 };
const LEVEL_RANK: Record<string, number> = { disabled: 0, advisory: 1, mandatory: 2, remediate: 2 };

const show = (v: unknown) => (v === undefined ? "unset" : JSON.stringify(v));
const get = (inputs: Record<string, unknown> | undefined, path: string): unknown =>
  path
    .split(".")
    .reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as never)[k] : undefined), inputs);

/** An input whose change can only weaken a guard in one direction. */
interface InputGuard {
  types: string[];
  path: string;
  /** Whether `after` guards less than `before`. */
  weaker(before: unknown, after: unknown): boolean;
  why: string;
}

const wasTrue = (b: unknown, a: unknown) => b === true && a !== true;
const becameTrue = (b: unknown, a: unknown) => b !== true && a === true;
const num = (v: unknown) => (typeof v === "number" ? v : undefined);
const fewer = (b: unknown, a: unknown) => num(b) !== undefined && (num(a) ?? 0) < num(b)!;
/** Log retention: 0 or unset means "never expire", the longest. */
const shorterRetention = (b: unknown, a: unknown) => {
  const days = (v: unknown) => (num(v) ? num(v)! : Infinity);
  return days(a) < days(b);
};
const WORLD = new Set(["0.0.0.0/0", "::/0"]);
const opensToWorld = (b: unknown, a: unknown) => !WORLD.has(String(b)) && WORLD.has(String(a));
const cidrsOpenToWorld = (b: unknown, a: unknown) => {
  const world = (v: unknown) => (Array.isArray(v) ? v : []).some((c) => WORLD.has(String(c)));
  return !world(b) && world(a);
};
const RDS = ["aws:rds/instance:Instance"];

const INPUT_GUARDS: InputGuard[] = [
  { types: RDS, path: "deletionProtection", weaker: wasTrue, why: "the database can be deleted" },
  { types: RDS, path: "skipFinalSnapshot", weaker: becameTrue, why: "no snapshot is taken on delete" },
  {
    types: RDS,
    path: "deleteAutomatedBackups",
    weaker: becameTrue,
    why: "automated backups go with the instance",
  },
  { types: RDS, path: "backupRetentionPeriod", weaker: fewer, why: "fewer days of automated backups" },
  { types: RDS, path: "multiAz", weaker: wasTrue, why: "one availability zone" },
  { types: RDS, path: "storageEncrypted", weaker: wasTrue, why: "storage not encrypted" },
  { types: RDS, path: "publiclyAccessible", weaker: becameTrue, why: "reachable from the internet" },
  {
    types: ["aws:lb/loadBalancer:LoadBalancer"],
    path: "enableDeletionProtection",
    weaker: wasTrue,
    why: "the load balancer can be deleted",
  },
  {
    types: ["aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2"],
    path: "versioningConfiguration.status",
    weaker: (b, a) => b === "Enabled" && a !== "Enabled",
    why: "overwritten and deleted objects are not kept",
  },
  {
    types: ["aws:cloudwatch/logGroup:LogGroup"],
    path: "retentionInDays",
    weaker: shorterRetention,
    why: "logs kept for less time",
  },
  {
    types: ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"],
    path: "cidrIpv4",
    weaker: opensToWorld,
    why: "open to the whole internet",
  },
  {
    types: ["aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"],
    path: "cidrIpv6",
    weaker: opensToWorld,
    why: "open to the whole internet",
  },
  {
    types: ["aws:ec2/securityGroup:SecurityGroup"],
    path: "ingress",
    weaker: (b, a) =>
      cidrsOpenToWorld(
        (Array.isArray(b) ? b : []).flatMap((r) => r?.cidrBlocks ?? []),
        (Array.isArray(a) ? a : []).flatMap((r) => r?.cidrBlocks ?? []),
      ),
    why: "open to the whole internet",
  },
  {
    types: ["docker:index/container:Container"],
    path: "ports",
    weaker: (b, a) => publishedEverywhere(a) > publishedEverywhere(b),
    why: "published on every interface of the host",
  },
  {
    types: ["pulumi:providers:docker"],
    path: "sshOpts",
    weaker: (b, a) => !trustsAnyHost(b) && trustsAnyHost(a),
    why: "the SSH host key is no longer checked",
  },
];

/** Ports a container publishes on every host interface (no address, `0.0.0.0` or `::`). */
function publishedEverywhere(ports: unknown): number {
  return (Array.isArray(ports) ? ports : []).filter((p) => !p?.ip || p.ip === "0.0.0.0" || p.ip === "::")
    .length;
}

/** SSH options (a JSON-encoded list in the Docker provider's inputs) that accept any host key. */
function trustsAnyHost(sshOpts: unknown): boolean {
  let opts: unknown = sshOpts;
  if (typeof sshOpts === "string") {
    try {
      opts = JSON.parse(sshOpts);
    } catch {
      opts = [sshOpts];
    }
  }
  const text = (Array.isArray(opts) ? opts : [])
    .join(" ")
    .toLowerCase()
    .replace(/\s*=\s*/g, "=");
  return /stricthostkeychecking=(no|off)\b/.test(text) || /userknownhostsfile=\/dev\/null\b/.test(text);
}

/** Resources whose removal takes a guard away (and is not shown as data at risk, since they hold no data). */
const GUARD_RESOURCES: [(r: SafetyResource) => boolean, string][] = [
  [
    (r) => r.type === "aws:ec2/flowLog:FlowLog",
    "VPC flow log removed: network traffic is no longer recorded",
  ],
  [
    (r) => r.type === "aws:sns/topicSubscription:TopicSubscription",
    "alarm subscription removed: fewer people paged",
  ],
  [(r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm removed"],
  [
    (r) => r.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "bucket public access block removed",
  ],
  [
    (r) =>
      r.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "bucket encryption configuration removed",
  ],
  [(r) => r.type === "aws:s3/bucketPolicy:BucketPolicy", "bucket policy removed (TLS-only access)"],
  [(r) => tierLabel(r) === "backups", "backup job removed"],
];

function tierLabel(r: SafetyResource): string | undefined {
  const labels = r.inputs?.["labels"];
  if (!Array.isArray(labels)) return undefined;
  return labels.find((l) => l?.label === "stackport.tier")?.value;
}

const subjectOf = (r: SafetyResource) => `${r.name} (${r.type})`;
const key = (r: SafetyResource) => `${r.type}::${r.name}`;

/** Every protection `head` has less of than `base`. `base` undefined: nothing to compare (a new stack). */
export function safetyDowngrades(base: SafetyView | undefined, head: SafetyView): SafetyDowngrade[] {
  if (!base) return [];
  return [
    ...contextDowngrades(base.context, head.context),
    ...resourceDowngrades(base.resources, head.resources),
  ];
}

function contextDowngrades(base?: SafetyContext, head?: SafetyContext): SafetyDowngrade[] {
  if (!base || !head) return [];
  const out: SafetyDowngrade[] = [];
  if (base.environment !== head.environment) {
    const rank = (e: string) => ENVIRONMENT_RANK[e] ?? -1;
    if (rank(head.environment) <= rank(base.environment)) {
      out.push({
        subject: "stack",
        change: `stackport:environment ${show(base.environment)} → ${show(head.environment)}: the program's defaults for protection, backups and retention follow it`,
      });
    }
  }
  if (base.policyConfig && !head.policyConfig) {
    out.push({
      subject: "policy",
      change: `${base.policyConfig} removed: every rule runs at its default level`,
    });
  }
  const [was, is] = [base.policy as PolicyPackConfig, head.policy as PolicyPackConfig];
  for (const rule of allRules) {
    const before = resolveEnforcementLevel(rule, was);
    const after = resolveEnforcementLevel(rule, is);
    if ((LEVEL_RANK[after] ?? 0) < (LEVEL_RANK[before] ?? 0)) {
      out.push({ subject: `policy ${rule.name}`, change: `enforcement ${before} → ${after}` });
    }
    for (const [k, v] of Object.entries(ruleSettings(was, rule.name))) {
      const now = ruleSettings(is, rule.name)[k];
      const loosened = typeof v === "number" ? fewer(v, now) : JSON.stringify(v) !== JSON.stringify(now);
      if (loosened) out.push({ subject: `policy ${rule.name}`, change: `${k} ${show(v)} → ${show(now)}` });
    }
  }
  return out;
}

function ruleSettings(config: PolicyPackConfig, rule: string): Record<string, unknown> {
  const own = config[rule];
  if (!own || typeof own !== "object") return {};
  return Object.fromEntries(Object.entries(own).filter(([k]) => k !== "enforcementLevel"));
}

/** The reviewed Docker socket exemption a container carries (`dockerSocket: { reason }`): its reason. */
function socketExemption(r: SafetyResource | undefined): string | undefined {
  const labels = r?.inputs?.["labels"];
  if (!Array.isArray(labels)) return undefined;
  return labels.find((l) => l?.label === "stackport.docker-socket-reason")?.value;
}

function resourceDowngrades(base: SafetyResource[], head: SafetyResource[]): SafetyDowngrade[] {
  const after = new Map(head.map((r) => [key(r), r]));
  const before = new Map(base.map((r) => [key(r), r]));
  const out: SafetyDowngrade[] = [];
  // New or changed: a container that gains the Docker socket (root on the host), with the reason it was granted.
  for (const now of head) {
    const reason = socketExemption(now);
    if (reason !== undefined && reason !== socketExemption(before.get(key(now))))
      out.push({
        subject: subjectOf(now),
        change: `mounts the Docker socket (root on the host) by a reviewed exemption: ${reason}`,
      });
  }
  for (const old of base) {
    const now = after.get(key(old));
    if (!now) {
      const guard = GUARD_RESOURCES.find(([matches]) => matches(old));
      if (guard) out.push({ subject: subjectOf(old), change: guard[1] });
      continue;
    }
    if (old.protect === true && now.protect !== true)
      out.push({
        subject: subjectOf(now),
        change: "protect true → false: a destroy or replacement deletes it",
      });
    if (old.retainOnDelete === true && now.retainOnDelete !== true)
      out.push({
        subject: subjectOf(now),
        change: "retainOnDelete true → false: removing it from the program deletes it",
      });
    for (const guard of INPUT_GUARDS) {
      if (!guard.types.includes(now.type)) continue;
      const before = get(old.inputs, guard.path);
      const later = get(now.inputs, guard.path);
      if (guard.weaker(before, later)) {
        const values = typeof before === "object" ? "" : ` ${show(before)} → ${show(later)}`;
        out.push({ subject: subjectOf(now), change: `${guard.path}${values}: ${guard.why}` });
      }
    }
  }
  return out;
}
