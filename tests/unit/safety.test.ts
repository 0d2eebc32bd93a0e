/**
 * Safety downgrades (src/ops/safety.ts): each protection, switched off, is listed with its old and new value; the
 * same change the other way round, or an unrelated change, is not.
 */
import { safetyDowngrades, type SafetyResource, type SafetyView } from "../../src/ops/safety";
import type { SafetyContext } from "../../src/synth/render";

const view = (resources: SafetyResource[], context?: SafetyContext): SafetyView => ({ resources, context });
const one = (type: string, inputs: Record<string, unknown>, opts: Partial<SafetyResource> = {}) => [
  { type, name: "r", inputs, ...opts },
];
const changes = (before: SafetyResource[], after: SafetyResource[]) =>
  safetyDowngrades(view(before), view(after)).map((d) => d.change);

const RDS = "aws:rds/instance:Instance";

describe("resource protections", () => {
  it.each<[string, string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    [
      "RDS deletion protection",
      RDS,
      { deletionProtection: true },
      { deletionProtection: false },
      /^deletionProtection true → false/,
    ],
    [
      "RDS final snapshot",
      RDS,
      { skipFinalSnapshot: false },
      { skipFinalSnapshot: true },
      /^skipFinalSnapshot false → true/,
    ],
    [
      "RDS automated backups",
      RDS,
      { deleteAutomatedBackups: false },
      { deleteAutomatedBackups: true },
      /^deleteAutomatedBackups false → true/,
    ],
    [
      "RDS backup retention",
      RDS,
      { backupRetentionPeriod: 7 },
      { backupRetentionPeriod: 6 },
      /^backupRetentionPeriod 7 → 6/,
    ],
    ["RDS multi-AZ", RDS, { multiAz: true }, { multiAz: false }, /^multiAz true → false/],
    [
      "RDS public",
      RDS,
      { publiclyAccessible: false },
      { publiclyAccessible: true },
      /^publiclyAccessible false → true/,
    ],
    [
      "ALB deletion protection",
      "aws:lb/loadBalancer:LoadBalancer",
      { enableDeletionProtection: true },
      { enableDeletionProtection: false },
      /^enableDeletionProtection true → false/,
    ],
    [
      "bucket versioning",
      "aws:s3/bucketVersioning:BucketVersioning",
      { versioningConfiguration: { status: "Enabled" } },
      { versioningConfiguration: { status: "Suspended" } },
      /^versioningConfiguration.status "Enabled" → "Suspended"/,
    ],
    [
      "log retention",
      "aws:cloudwatch/logGroup:LogGroup",
      { retentionInDays: 30 },
      { retentionInDays: 7 },
      /^retentionInDays 30 → 7/,
    ],
    [
      "log retention from forever",
      "aws:cloudwatch/logGroup:LogGroup",
      {},
      { retentionInDays: 3650 },
      /^retentionInDays unset → 3650/,
    ],
    [
      "ingress to the world",
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      { cidrIpv4: "10.0.0.0/8" },
      { cidrIpv4: "0.0.0.0/0" },
      /open to the whole internet/,
    ],
    [
      "published on every interface",
      "docker:index/container:Container",
      { ports: [{ internal: 80, ip: "127.0.0.1" }] },
      { ports: [{ internal: 80, ip: "0.0.0.0" }] },
      /^ports: published on every interface/,
    ],
    [
      "host key checking",
      "pulumi:providers:docker",
      { sshOpts: JSON.stringify(["-o", "StrictHostKeyChecking=accept-new"]) },
      { sshOpts: JSON.stringify(["-o", "StrictHostKeyChecking = no"]) },
      /^sshOpts .*StrictHostKeyChecking = no.*: the SSH host key is no longer checked/,
    ],
  ])("%s: listed when switched off, not when switched on", (_what, type, before, after, expected) => {
    expect(changes(one(type, before), one(type, after))).toEqual([expect.stringMatching(expected)]);
    expect(changes(one(type, after), one(type, before))).toEqual([]);
    expect(changes(one(type, before), one(type, before))).toEqual([]);
  });

  it("protect and retainOnDelete switched off; a never-protected resource is not a downgrade", () => {
    const volume = "docker:index/volume:Volume";
    expect(
      changes(
        one(volume, {}, { protect: true, retainOnDelete: true }),
        one(volume, {}, { protect: false, retainOnDelete: false }),
      ),
    ).toEqual([
      "protect true → false: a destroy or replacement deletes it",
      "retainOnDelete true → false: removing it from the program deletes it",
    ]);
    expect(changes(one(volume, {}, { protect: false }), one(volume, {}, { protect: false }))).toEqual([]);
  });

  it("a guard resource removed (flow log, alarm subscription, backup job) is listed; another removal is not", () => {
    const backups = {
      type: "docker:index/container:Container",
      name: "backups-runner",
      inputs: { labels: [{ label: "stackport.tier", value: "backups" }] },
    };
    const flowLog = { type: "aws:ec2/flowLog:FlowLog", name: "vpc-flow-log", inputs: {} };
    const subscription = {
      type: "aws:sns/topicSubscription:TopicSubscription",
      name: "alerts-0",
      inputs: {},
    };
    const other = { type: "aws:ecs/service:Service", name: "api", inputs: {} };
    const downgrades = safetyDowngrades(view([backups, flowLog, subscription, other]), view([]));
    expect(downgrades.map((d) => d.subject)).toEqual([
      "backups-runner (docker:index/container:Container)",
      "vpc-flow-log (aws:ec2/flowLog:FlowLog)",
      "alerts-0 (aws:sns/topicSubscription:TopicSubscription)",
    ]);
  });

  it("no base (a new stack): nothing to compare", () => {
    expect(safetyDowngrades(undefined, view(one(RDS, { deletionProtection: false })))).toEqual([]);
  });
});

describe("the stack's environment and policy config", () => {
  const ctx = (
    environment: string,
    policy: SafetyContext["policy"],
    policyConfig: string | null = "p.json",
  ) => ({
    environment,
    policyConfig,
    policy,
  });
  const contextChanges = (a: SafetyContext, b: SafetyContext) =>
    safetyDowngrades(view([], a), view([], b)).map((d) => `${d.subject}: ${d.change}`);

  it("a less strict environment is a downgrade, a stricter one is not", () => {
    expect(contextChanges(ctx("production", {}), ctx("local", {}))).toEqual([
      expect.stringMatching(/^stack: stackport:environment "production" → "local"/),
    ]);
    expect(contextChanges(ctx("staging", {}), ctx("my-laptop", {}))).toHaveLength(1);
    expect(contextChanges(ctx("local", {}), ctx("production", {}))).toEqual([]);
  });

  it("a rule relaxed by level, by `all`, or by a lower threshold; the file removed", () => {
    expect(
      contextChanges(
        ctx("staging", { "stateful-protected": "mandatory" }),
        ctx("staging", { "stateful-protected": "advisory" }),
      ),
    ).toEqual(["policy stateful-protected: enforcement mandatory → advisory"]);
    expect(
      contextChanges(ctx("production", { all: "mandatory" }), ctx("production", { all: "advisory" })).length,
    ).toBeGreaterThan(10);
    expect(
      contextChanges(
        ctx("staging", { "aws-rds-backup-retention": { enforcementLevel: "mandatory", minDays: 7 } }),
        ctx("staging", { "aws-rds-backup-retention": { enforcementLevel: "mandatory", minDays: 3 } }),
      ),
    ).toEqual(["policy aws-rds-backup-retention: minDays 7 → 3"]);
    expect(
      contextChanges(
        ctx("staging", { "stack-environment-pinned": { environment: "staging" } }),
        ctx("staging", { "stack-environment-pinned": { environment: "local" } }),
      ),
    ).toEqual(['policy stack-environment-pinned: environment "staging" → "local"']);
    expect(contextChanges(ctx("staging", {}), ctx("staging", {}, null))).toEqual([
      "policy: p.json removed: every rule runs at its default level",
    ]);
    // Tightening is not a downgrade.
    expect(
      contextChanges(
        ctx("staging", { "stateful-protected": "advisory" }),
        ctx("staging", { "stateful-protected": "mandatory" }),
      ),
    ).toEqual([]);
  });
});
