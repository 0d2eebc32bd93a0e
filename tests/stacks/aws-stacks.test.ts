/**
 * The AWS stacks — Pulumi.production.yaml and the shipped AWS staging example — synthesized exactly as
 * `npm run synth` does, with the invariants issue 4 promises users.
 */
import type { RecordedResource } from "../../src/synth/recorder";
import { listExampleStackFiles, readStackFile } from "../../src/synth/stackFile";
import { ROOT, synthesizeStack } from "../harness";

const byType = (rs: RecordedResource[], type: string) => rs.filter((r) => r.type === type);
const STATEFUL = ["aws:s3/bucket:Bucket", "aws:rds/instance:Instance"];

/** The examples that place all six tiers on AWS (the others mix Docker, AWS and external sources, or fewer tiers). */
const TIERS = ["storage", "database", "proxy", "ingestion", "basemap", "observability"];
const allTiersOnAws = (file: string) => {
  const config = readStackFile(ROOT, file).config;
  const targets = JSON.parse(config["stackport:targets"]!) as Record<string, { kind: string }>;
  return TIERS.every((tier) => {
    const on =
      config[`stackport:${tier}`] && (JSON.parse(config[`stackport:${tier}`]!) as { on?: string }).on;
    return on !== undefined && targets[on]?.kind === "aws";
  });
};

const awsStacks: [stack: string, environment: string][] = [
  ["production", "production"],
  ...listExampleStackFiles(ROOT)
    .filter(allTiersOnAws)
    .map((f): [string, string] => [f, "staging"]),
];

describe.each(awsStacks)("%s (an AWS stack)", (stack, environment) => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await synthesizeStack(stack)).resources;
  });

  it("places every tier on AWS and nothing on Docker", () => {
    const components = resources.filter((r) => r.type.startsWith("stackport:")).map((r) => r.type);
    for (const tier of [
      "Target",
      "ObjectStorage",
      "Database",
      "Proxy",
      "Ingestion",
      "Basemap",
      "Observability",
    ]) {
      expect(components).toContain(`stackport:aws:${tier}`);
    }
    expect(resources.filter((r) => r.type.startsWith("docker:"))).toEqual([]);
  });

  it("protects and retains every stateful resource", () => {
    const stateful = resources.filter((r) => STATEFUL.includes(r.type));
    expect(stateful.length).toBeGreaterThan(0);
    for (const r of stateful) expect([r.name, r.protect, r.retainOnDelete]).toEqual([r.name, true, true]);
  });

  it("runs RDS encrypted, private, deletion-protected, with a final snapshot and a managed password", () => {
    const [rds] = byType(resources, "aws:rds/instance:Instance");
    expect(rds!.inputs).toMatchObject({
      storageEncrypted: true,
      publiclyAccessible: false,
      deletionProtection: true,
      skipFinalSnapshot: false,
      manageMasterUserPassword: true,
      multiAz: environment === "production",
    });
    expect(rds!.inputs["password"]).toBeUndefined();
    expect(rds!.inputs["backupRetentionPeriod"]).toBeGreaterThanOrEqual(7);
  });

  it("opens no security group to 0.0.0.0/0 except the ALB on 80/443", () => {
    for (const rule of byType(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")) {
      if (rule.inputs["cidrIpv4"] === "0.0.0.0/0") {
        expect(rule.name).toMatch(/^proxy-in-/);
        expect([80, 443]).toContain(rule.inputs["fromPort"]);
      }
    }
  });

  it("sends every container's logs to CloudWatch and keeps secrets out of plain environment", () => {
    const taskDefinitions = byType(resources, "aws:ecs/taskDefinition:TaskDefinition");
    expect(taskDefinitions.length).toBeGreaterThan(0);
    for (const td of taskDefinitions) {
      const raw = td.inputs["containerDefinitions"];
      expect(typeof raw).toBe("string");
      const containers = JSON.parse(raw as string) as {
        name: string;
        logConfiguration?: { logDriver: string };
        environment?: { name: string; value: string }[];
      }[];
      for (const c of containers) {
        expect([td.name, c.logConfiguration?.logDriver]).toEqual([td.name, "awslogs"]);
        for (const e of c.environment ?? []) {
          expect(e.name).not.toMatch(/PASSWORD|SECRET|TOKEN|DATABASE_URL|BROKER_URL/);
          expect(e.value).not.toMatch(/mock-password|:\/\/[^/\s]*:[^@/\s]+@/);
        }
      }
    }
  });

  it("runs services in private subnets without public IPs, with circuit-breaker rollback", () => {
    const services = byType(resources, "aws:ecs/service:Service");
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) {
      expect(s.inputs["networkConfiguration"]).toMatchObject({ assignPublicIp: false });
      expect(s.inputs["deploymentCircuitBreaker"]).toEqual({ enable: true, rollback: true });
    }
  });

  it("redirects HTTP to HTTPS and never shows a secret value", () => {
    const listeners = byType(resources, "aws:lb/listener:Listener");
    const http = listeners.find((l) => l.inputs["port"] === 80)!;
    expect(http.inputs["defaultActions"]).toEqual([
      expect.objectContaining({ type: "redirect", redirect: expect.objectContaining({ protocol: "HTTPS" }) }),
    ]);
    expect(JSON.stringify(resources)).not.toMatch(/mock-password|mockhash/);
  });
});

describe("production sizing", () => {
  it("autoscales every service 2–10 tasks and runs multi-AZ NAT and flow logs", async () => {
    const { resources } = await synthesizeStack("production");
    const targets = byType(resources, "aws:appautoscaling/target:Target");
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect(t.inputs["minCapacity"]).toBeGreaterThanOrEqual(2);
    expect(byType(resources, "aws:ec2/natGateway:NatGateway")).toHaveLength(3);
    expect(byType(resources, "aws:ec2/flowLog:FlowLog")).toHaveLength(1);
  });
});
