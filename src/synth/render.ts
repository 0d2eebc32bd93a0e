/**
 * Renders a plan for people (a tree with each resource's key settings and a summary) and for machines (JSON).
 * Pure functions over recorded resources.
 */
import type { RecordedResource } from "./recorder";
import type { CutoverSummary } from "../config/cutover";

export interface Violation {
  policy: string;
  enforcementLevel: string;
  severity: string;
  type: string;
  name: string;
  message: string;
}

/** What sets a stack's protections besides its resources: its declared environment and its policy config. */
export interface SafetyContext {
  /** `stackport:environment` of the stack file (the stack name when unset). */
  environment: string;
  /** The policy config file the stack is checked with, relative to the repository; null: rule defaults. */
  policyConfig: string | null;
  /** That file's content (`{}` for none), in the CLI's `--policy-pack-config` format. */
  policy: Record<string, string | Record<string, unknown>>;
}

export interface PlanDocument {
  stack: string;
  project: string;
  /** Absent in plans written before it existed: sign-off then cannot compare environments or policy configs. */
  safety?: SafetyContext;
  summary: { resources: number; byType: Record<string, number> };
  resources: Omit<RecordedResource, "urn" | "custom">[];
  outputs: string[];
  violations: Violation[];
  /** Cutovers in progress (`stackport:cutover`); absent when there is none. */
  cutovers?: CutoverSummary[];
}

export function planDocument(
  plan: {
    stack: string;
    project: string;
    resources: RecordedResource[];
    outputs: string[];
    cutovers?: CutoverSummary[];
  },
  violations: Violation[] = [],
  safety?: SafetyContext,
): PlanDocument {
  return {
    stack: plan.stack,
    project: plan.project,
    ...(safety && { safety }),
    summary: { resources: plan.resources.length, byType: countByType(plan.resources) },
    resources: sortedForDisplay(plan.resources).map((r) => ({
      type: r.type,
      name: r.name,
      parent: r.parent,
      provider: r.provider,
      inputs: r.inputs,
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      dependsOn: r.dependsOn,
      // Only adopted resources carry it, so plans without adoption are unchanged.
      ...(r.import !== undefined && { import: r.import }),
    })),
    outputs: plan.outputs,
    // Sorted: the policies see resources in registration order, which varies with when Outputs resolve.
    violations: [...violations].sort(
      (a, b) =>
        a.policy.localeCompare(b.policy) ||
        a.type.localeCompare(b.type) ||
        a.name.localeCompare(b.name) ||
        a.message.localeCompare(b.message) ||
        a.enforcementLevel.localeCompare(b.enforcementLevel) ||
        a.severity.localeCompare(b.severity),
    ),
    ...(plan.cutovers && { cutovers: plan.cutovers }),
  };
}

/**
 * Registration order depends on promise timing, so plans are sorted for display and diffing: targets first (every
 * tier stands on one), then by logical name (unique within a stack).
 */
export function sortedForDisplay<T extends { type: string; name: string }>(resources: T[]): T[] {
  const rank = (r: T) => (/^stackport:[a-z]+:Target$/.test(r.type) ? 0 : 1);
  return [...resources].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

export function countByType(resources: RecordedResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** A Docker label's value from a container's recorded `labels` list, shown through `show`. */
function labelValue(
  labels: unknown,
  label: string,
  show: (value: string) => string = (v) => v,
): string | undefined {
  const found = (Array.isArray(labels) ? labels : []).find(
    (l: { label?: unknown } | null) => l?.label === label,
  ) as { value?: unknown } | undefined;
  return found === undefined ? undefined : show(String(found.value));
}

/* eslint-disable @typescript-eslint/no-explicit-any -- recorded inputs are untyped JSON from the engine */
/** The few settings a reviewer looks at first, per resource type. */
export function keySettings(r: RecordedResource): string[] {
  const i = r.inputs as Record<string, any>;
  const out: string[] = [];
  const add = (label: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && v.length === 0))
      out.push(`${label}=${v}`);
  };
  switch (r.type) {
    case "docker:index/container:Container":
      add("name", i.name);
      add("image", i.image);
      add(
        "ports",
        (i.ports ?? [])
          .map((p: any) => `${p.ip ?? "0.0.0.0"}:${p.external ?? "?"}->${p.internal}/${p.protocol ?? "tcp"}`)
          .join(","),
      );
      add("networks", (i.networksAdvanced ?? []).map((n: any) => n.name).join(","));
      add(
        "volumes",
        (i.volumes ?? []).map((v: any) => `${v.volumeName ?? v.hostPath}:${v.containerPath}`).join(","),
      );
      if (i.mustRun === false) out.push("one-shot");
      // A reviewed Docker socket exemption (root on the host) and its reason: a reviewer reads it here.
      add("docker-socket", labelValue(i.labels, "stackport.docker-socket-reason", JSON.stringify));
      add("schedule", labelValue(i.labels, "stackport.schedule"));
      break;
    case "docker:index/volume:Volume":
    case "docker:index/network:Network":
      add("name", i.name);
      if (i.internal) out.push("internal");
      break;
    case "docker:index/remoteImage:RemoteImage":
      add("image", i.name);
      break;
    case "pulumi:providers:docker":
      add("host", i.host ?? "local socket");
      break;
    case "random:index/randomPassword:RandomPassword":
      add("length", i.length);
      break;
    case "aws:ec2/vpc:Vpc":
    case "aws:ec2/subnet:Subnet":
      add("cidr", i.cidrBlock);
      add("az", i.availabilityZone);
      break;
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
    case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
      add("ports", i.fromPort === i.toPort ? i.fromPort : `${i.fromPort ?? "all"}-${i.toPort ?? "all"}`);
      add("from", i.cidrIpv4 ?? (i.referencedSecurityGroupId ? "security group" : undefined));
      break;
    case "aws:s3/bucket:Bucket":
      add("bucket", i.bucket);
      break;
    case "aws:rds/instance:Instance":
      add("class", i.instanceClass);
      add("engine", `${i.engine ?? ""} ${i.engineVersion ?? ""}`.trim());
      if (i.multiAz) out.push("multi-AZ");
      add("backups", i.backupRetentionPeriod !== undefined ? `${i.backupRetentionPeriod}d` : undefined);
      if (i.deletionProtection) out.push("deletion-protection");
      break;
    case "aws:ecs/service:Service":
      add("desired", i.desiredCount);
      break;
    case "aws:appautoscaling/target:Target":
      add("tasks", `${i.minCapacity}-${i.maxCapacity}`);
      break;
    case "aws:lb/listener:Listener":
      add("port", i.port);
      add("protocol", i.protocol);
      break;
    case "aws:cloudwatch/logGroup:LogGroup":
      add("retention", i.retentionInDays !== undefined ? `${i.retentionInDays}d` : undefined);
      break;
    case "pulumi:providers:aws":
      add("region", i.region);
      break;
    case "stackport:docker:Proxy":
    case "stackport:aws:Proxy":
      // A route open to everyone is a decision a reviewer must see (docs/configuration.md, route exposure).
      add(
        "public",
        Object.entries(i.routes ?? {})
          .filter(([, route]: [string, any]) => route?.public === true)
          .map(([name]) => name)
          .sort()
          .join(","),
      );
      break;
    case "stackport:docker:Target":
      if (i.insecureHostKeys === true) out.push("insecure-host-keys");
      break;
    case "command:remote:Command":
      add("host", i.connection === "[secret]" ? "[secret]" : i.connection?.host);
      break;
  }
  /* eslint-enable @typescript-eslint/no-explicit-any */
  if (r.protect) out.push("protected");
  if (r.retainOnDelete) out.push("retained");
  if (r.import !== undefined) out.push(`import=${r.import}`);
  return out;
}

/** The tree: components with their children indented, custom resources with key settings, then a summary line. */
export function renderTree(doc: PlanDocument, resources: RecordedResource[]): string {
  const children = new Map<string | null, RecordedResource[]>();
  for (const r of sortedForDisplay(resources)) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const lines = [`stack ${doc.stack} (${doc.project})`];
  if (doc.safety) {
    const { environment, policyConfig } = doc.safety;
    lines.push(
      `environment ${environment}; policy config ${policyConfig ?? "none (every rule at its default level)"}`,
    );
  }
  for (const c of doc.cutovers ?? []) {
    lines.push(`cutover ${c.tier} ${c.from} → ${c.to}, phase ${c.phase}: ${c.actions.join("; ")}`);
  }
  const walk = (parent: string | null, prefix: string) => {
    const kids = children.get(parent) ?? [];
    kids.forEach((r, idx) => {
      const last = idx === kids.length - 1;
      const settings = keySettings(r);
      const flags = violationsFor(doc, r);
      lines.push(
        `${prefix}${last ? "└─ " : "├─ "}${r.type}  ${r.name}${settings.length ? "  " + settings.join("  ") : ""}${flags}`,
      );
      walk(r.name, prefix + (last ? "   " : "│  "));
    });
  };
  walk(null, "");
  lines.push("");
  lines.push(
    `${doc.summary.resources} resources: ` +
      Object.entries(doc.summary.byType)
        .map(([t, n]) => `${n} ${t}`)
        .join(", "),
  );
  if (doc.violations.length) {
    const mandatory = doc.violations.filter((v) => v.enforcementLevel === "mandatory").length;
    lines.push(`${doc.violations.length} policy violation(s), ${mandatory} mandatory`);
  }
  return lines.join("\n");
}

function violationsFor(doc: PlanDocument, r: RecordedResource): string {
  const found = doc.violations.filter((v) => v.name === r.name && v.type === r.type);
  return found.map((v) => `\n      ! [${v.enforcementLevel}] ${v.policy}: ${v.message}`).join("");
}
