/**
 * What real applications need on ECS, on the recorded inputs of `EcsIngestion` under the mock runtime: application
 * secrets through Secrets Manager (never in a task definition's environment or the plan, read only by the services
 * that use them, rolled on a new value), published ports on a Network Load Balancer, `data` on EFS, ECS Service
 * Connect names, and service-level schedules.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseConnection, RoleConnection } from "../../components/database/contract";
import { EcsIngestion, type EcsIngestionArgs } from "../../components/ingestion/ecsIngestion";
import type { EcsServiceArgs } from "../../components/ingestion/settings";
import { isArgsError } from "../../components/shared/errors";
import type { AwsPlacement } from "../../components/shared/placement";
import { sgNoPublicIngress } from "../../policies/rules/aws-network";
import type { PolicyPackConfig } from "../../src/synth/policy";
import type { Recorder } from "../../src/synth/recorder";
import { isConfigError, resolveConfig } from "../../src/config";
import { OFFLINE_SECRET_PLACEHOLDER } from "../../src/synth/stackFile";
import { one, record, synthesizeStack } from "../harness";
import { runRule } from "../policies/harness";
import { fakeAwsPlacement } from "../support/fakeAwsPlacement";

const NAMESPACE_ARN = "arn:aws:servicediscovery:eu-west-1:123456789012:namespace/ns-test";
/** The test placement with the target's Service Connect namespace (what `AwsTarget` gives). */
const placement = (): AwsPlacement => ({
  ...fakeAwsPlacement(),
  serviceConnect: { namespaceArn: pulumi.output(NAMESPACE_ARN) },
});

const role = (name: string): RoleConnection => ({
  host: pulumi.output("db.internal"),
  port: pulumi.output(5432),
  database: pulumi.output("platform"),
  user: pulumi.output(name),
  password: pulumi.secret("pw"),
  url: pulumi.secret(`postgresql://${name}:pw@db.internal:5432/platform`),
});
const database: DatabaseConnection = {
  roles: { db_admin: role("db_admin"), app_writer: role("app_writer"), app_reader: role("app_reader") },
};

const OAUTH_VALUE = "oauth-client-secret-VALUE-7f3a";
const IMAGE = "ghcr.io/acme/app:1.0.0";
/** Seed 003's shape: an API with a JWT key (generated, shared) and an OAuth secret (from the stack). */
const SERVICES: Record<string, EcsServiceArgs> = {
  api: {
    image: IMAGE,
    port: 8000,
    connections: { database: "app_writer" },
    secrets: { JWT_SECRET: "jwt-signing-key", OAUTH_CLIENT_SECRET: "oauth-client-secret" },
  },
  // Uses one application secret and nothing else.
  auth: { image: IMAGE, secrets: { JWT_SECRET: "jwt-signing-key" } },
  // Uses none at all.
  plain: { image: IMAGE, command: ["sleep", "infinity"] },
  nightly: { image: IMAGE, command: ["python", "-m", "app.cleanup"], schedule: "cron(0 3 * * ? *)" },
};

function ingestion(args: Partial<EcsIngestionArgs> = {}, oauth = OAUTH_VALUE) {
  return () =>
    new EcsIngestion("ingestion", {
      placement: placement(),
      services: SERVICES,
      database,
      broker: false,
      secrets: {
        "jwt-signing-key": { generate: { length: 64 } },
        "oauth-client-secret": { value: pulumi.secret(oauth) },
        "never-used": { generate: {} },
      },
      ...args,
    });
}

type Container = {
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  portMappings?: { containerPort: number; protocol: string; name?: string }[];
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly: boolean }[];
};
const container = (recorder: Recorder, svc: string) =>
  (
    JSON.parse(one(recorder, `ingestion-${svc}-task`).inputs["containerDefinitions"] as string) as Container[]
  )[0]!;
const policy = (recorder: Recorder, name: string) =>
  JSON.parse(one(recorder, name).inputs["policy"] as string) as {
    Statement: { Action: string[]; Resource: string[]; Condition?: unknown }[];
  };
const secretArn = (name: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${name}-AbCdEf`;

describe("application secrets on ECS", () => {
  test("one Secrets Manager secret per secret a service uses, shared; none for an unused one", async () => {
    const { recorder } = await record(ingestion());
    const secrets = recorder
      .byType("aws:secretsmanager/secret:Secret")
      .filter((s) => s.name.startsWith("ingestion-secret-"));
    expect(secrets.map((s) => s.name).sort()).toEqual([
      "ingestion-secret-jwt-signing-key",
      "ingestion-secret-oauth-client-secret",
    ]);
    expect(one(recorder, "ingestion-secret-jwt-signing-key-generated").inputs).toMatchObject({
      length: 64,
      special: false,
    });
    expect(recorder.byName("ingestion-secret-never-used")).toBeUndefined();
    // Both services that use the JWT key reference the same secret.
    const jwt = (svc: string) =>
      container(recorder, svc).secrets.find((s) => s.name === "JWT_SECRET")!.valueFrom;
    expect(jwt("api").split(":").slice(0, 7).join(":")).toBe(secretArn("ingestion-secret-jwt-signing-key"));
    expect(jwt("auth")).toBe(jwt("api"));
  });

  test("injected through secrets pinned to the version (ARN:jsonKey:stage:versionId), never environment", async () => {
    const { recorder } = await record(ingestion());
    const api = container(recorder, "api");
    expect(api.environment.map((e) => e.name)).not.toContain("OAUTH_CLIENT_SECRET");
    expect(api.environment.map((e) => e.name)).not.toContain("JWT_SECRET");
    const oauth = api.secrets.find((s) => s.name === "OAUTH_CLIENT_SECRET")!.valueFrom;
    expect(oauth).toMatch(
      new RegExp(
        `^${secretArn("ingestion-secret-oauth-client-secret")}:::[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`,
      ),
    );
    // The value is a secret in the version and appears nowhere in the recorded plan.
    expect(one(recorder, "ingestion-secret-oauth-client-secret-value").inputs["secretString"]).toBe(
      "[secret]",
    );
    expect(one(recorder, "ingestion-secret-jwt-signing-key-value").inputs["secretString"]).toBe("[secret]");
    const plan = JSON.stringify(recorder.resources);
    expect(plan).not.toContain(OAUTH_VALUE);
    expect(plan).not.toContain("mock-password-ingestion-secret-jwt-signing-key-generated");
  });

  test("the execution role reads exactly the secrets its service references", async () => {
    const { recorder } = await record(ingestion());
    const resources = (svc: string) => policy(recorder, `ingestion-${svc}-execution-role-secrets`).Statement;
    expect(resources("auth")).toEqual([
      expect.objectContaining({
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [secretArn("ingestion-secret-jwt-signing-key")],
      }),
    ]);
    expect(resources("api")[0]!.Resource).toEqual(
      [
        secretArn("ingestion-api-secret"),
        secretArn("ingestion-secret-jwt-signing-key"),
        secretArn("ingestion-secret-oauth-client-secret"),
      ].sort(),
    );
    // A service that references no secret has no secrets policy at all.
    expect(recorder.byName("ingestion-plain-execution-role-secrets")).toBeUndefined();
    expect(container(recorder, "plain").secrets).toEqual([]);
  });

  test("a new value rolls exactly the services that use it (a new task definition)", async () => {
    const before = await record(ingestion());
    const after = await record(ingestion({}, "a-rotated-oauth-secret"));
    const defs = (r: Recorder, svc: string) => one(r, `ingestion-${svc}-task`).inputs["containerDefinitions"];
    expect(defs(after.recorder, "api")).not.toEqual(defs(before.recorder, "api"));
    expect(defs(after.recorder, "auth")).toEqual(defs(before.recorder, "auth"));
  });

  test("a secret name that is not the tier's is refused before anything is registered", async () => {
    let error: unknown;
    const { recorder } = await record(() => {
      try {
        ingestion({ services: { api: { image: IMAGE, secrets: { TOKEN: "nope" } } } })();
      } catch (e) {
        error = e;
      }
    });
    expect(isArgsError(error)).toBe(true);
    expect(String(error)).toContain("services.api.secrets.TOKEN: 'nope' is not one of the tier's secrets");
    expect(
      recorder.resources.filter((r) => r.type.startsWith("stackport:") || r.type.startsWith("aws:secrets")),
    ).toEqual([]);
  });
});

const MQTT: EcsServiceArgs = {
  image: "emqx/emqx:5.8.6",
  port: 18083,
  ports: [
    { port: 1883, allowFrom: ["203.0.113.0/24", "198.51.100.7/32"] },
    { port: 5683, protocol: "udp", publishedPort: 15683, allowFrom: ["203.0.113.0/24"] },
  ],
};

describe("published ports: one Network Load Balancer for the tier", () => {
  test("internet-facing NLB in the public subnets behind its own security group", async () => {
    const { recorder } = await record(ingestion({ services: { mqtt: MQTT } }));
    expect(one(recorder, "ingestion-nlb").inputs).toMatchObject({
      loadBalancerType: "network",
      internal: false,
      subnets: ["subnet-public-a", "subnet-public-b"],
      securityGroups: ["ingestion-nlb-sg-id"],
    });
    expect(one(recorder, "ingestion-nlb-sg").inputs["vpcId"]).toBe("vpc-0123");
  });

  test("a listener and an ip target group per port, TCP and UDP; the service registered in each", async () => {
    const { recorder } = await record(ingestion({ services: { mqtt: MQTT } }));
    const listeners = recorder.byType("aws:lb/listener:Listener");
    expect(listeners.map((l) => [l.name, l.inputs["port"], l.inputs["protocol"]]).sort()).toEqual([
      ["ingestion-nlb-listener-tcp-1883", 1883, "TCP"],
      ["ingestion-nlb-listener-udp-15683", 15683, "UDP"],
    ]);
    expect(one(recorder, "ingestion-nlb-mqtt-udp-5683").inputs).toMatchObject({
      port: 5683,
      protocol: "UDP",
      targetType: "ip",
      vpcId: "vpc-0123",
      // UDP cannot be probed: the target group checks the service's TCP port.
      healthCheck: { protocol: "TCP", port: "18083" },
    });
    expect(one(recorder, "ingestion-nlb-mqtt-tcp-1883").inputs).toMatchObject({
      protocol: "TCP",
      targetType: "ip",
      healthCheck: { protocol: "TCP", port: "traffic-port" },
    });
    const tg = (key: string) =>
      `arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingestion-nlb-${key}/73e2d6bc24d8a067`;
    expect(one(recorder, "ingestion-mqtt-service").inputs["loadBalancers"]).toEqual([
      { targetGroupArn: tg("mqtt-tcp-1883"), containerName: "mqtt", containerPort: 1883 },
      { targetGroupArn: tg("mqtt-udp-5683"), containerName: "mqtt", containerPort: 5683 },
    ]);
    expect(container(recorder, "mqtt").portMappings).toEqual([
      { containerPort: 18083, protocol: "tcp", name: "mqtt-18083" },
      { containerPort: 1883, protocol: "tcp", name: "mqtt-1883" },
      { containerPort: 5683, protocol: "udp" },
    ]);
  });

  test("the NLB's group takes each port's allowFrom only; the services group opens those ports to the NLB only", async () => {
    const { recorder } = await record(ingestion({ services: { mqtt: MQTT } }));
    const ingress = recorder
      .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((r) => r.inputs["securityGroupId"] === "ingestion-nlb-sg-id");
    expect(
      ingress
        .map(
          (r) =>
            `${r.inputs["ipProtocol"]}/${r.inputs["fromPort"]}-${r.inputs["toPort"]} ${r.inputs["cidrIpv4"]}`,
        )
        .sort(),
    ).toEqual([
      "tcp/1883-1883 198.51.100.7/32",
      "tcp/1883-1883 203.0.113.0/24",
      "udp/15683-15683 203.0.113.0/24",
    ]);
    const fromNlb = recorder
      .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter(
        (r) =>
          r.inputs["securityGroupId"] === "sg-services" &&
          r.inputs["referencedSecurityGroupId"] === "ingestion-nlb-sg-id",
      );
    // 18083: the TCP port the UDP target group health-checks.
    expect(fromNlb.map((r) => `${r.inputs["ipProtocol"]}/${r.inputs["fromPort"]}`).sort()).toEqual([
      "tcp/18083",
      "tcp/1883",
      "udp/5683",
    ]);
  });

  test("0.0.0.0/0 in allowFrom is a mandatory violation unless publicIngress lists the port", async () => {
    const open = { ...MQTT, ports: [{ port: 1883, allowFrom: ["0.0.0.0/0"] }] };
    const { recorder } = await record(ingestion({ services: { mqtt: open } }));
    const rule = one(recorder, "ingestion-nlb-in-tcp-1883-0-0-0-0-0");
    const run = (config: PolicyPackConfig) =>
      runRule(sgNoPublicIngress, { type: rule.type, props: rule.inputs, config });
    expect((await run({})).violations).toEqual([expect.stringMatching(/0\.0\.0\.0\/0 to port 1883\/tcp/)]);
    expect((await run({ "aws-sg-no-public-ingress": { publicIngress: [1883] } })).violations).toEqual([]);
    expect((await run({ "aws-sg-no-public-ingress": { publicIngress: [443] } })).violations).toHaveLength(1);
  });

  test("one port published twice, a UDP port nothing can health-check, ports on a scheduled job: refused", async () => {
    const refusal = async (services: Record<string, EcsServiceArgs>) => {
      let error: unknown;
      await record(() => {
        try {
          ingestion({ services })();
        } catch (e) {
          error = e;
        }
        return new pulumi.ComponentResource("test:index:Marker", "marker");
      });
      expect(isArgsError(error)).toBe(true);
      return String(error);
    };
    expect(await refusal({ a: MQTT, b: { ...MQTT, port: 9000 } })).toMatch(
      /services\.b\.ports\[0\]: 1883\/tcp is already published by services\.a\.ports\[0\]/,
    );
    const udpOnly = {
      image: IMAGE,
      ports: [{ port: 5683, protocol: "udp" as const, allowFrom: ["10.0.0.0/8"] }],
    };
    expect(await refusal({ coap: udpOnly })).toMatch(
      /services\.coap\.ports\[0\]: UDP 5683 cannot be health-checked by the load balancer/,
    );
    expect(await refusal({ job: { ...MQTT, schedule: "rate(1 hour)" } })).toMatch(
      /services\.job\.schedule: a scheduled task cannot take published ports/,
    );
  });
});

describe("the same refusals from the stack config, named by config key", () => {
  const issues = (services: Record<string, unknown>) => {
    try {
      resolveConfig({
        environment: "staging",
        targets: { cloud: { kind: "aws", region: "eu-west-1" } },
        ingestion: { on: "cloud", broker: false, services },
      });
      return [];
    } catch (e) {
      if (!isConfigError(e)) throw e;
      return e.issues.map((i) => `${i.key}: ${i.message}`);
    }
  };

  test("a port two services publish, a UDP port without a TCP one, more than one task with data", () => {
    const mqtt = { image: IMAGE, port: 18083, ports: [{ port: 1883, allowFrom: ["10.0.0.0/8"] }] };
    expect(issues({ a: mqtt, b: mqtt })).toEqual([
      expect.stringMatching(/^stackport:ingestion\.services\.b\.ports\[0\]: 1883\/tcp is already published/),
    ]);
    expect(
      issues({ coap: { image: IMAGE, ports: [{ port: 5683, protocol: "udp", allowFrom: ["10.0.0.0/8"] }] } }),
    ).toEqual([
      expect.stringMatching(/^stackport:ingestion\.services\.coap\.ports\[0\]: UDP 5683 cannot be/),
    ]);
    expect(issues({ store: { image: IMAGE, data: { path: "/data" }, aws: { maxTasks: 2 } } })).toEqual([
      expect.stringMatching(
        /^stackport:ingestion\.services\.store\.aws\.maxTasks: a service with a data directory/,
      ),
    ]);
  });
});

describe("data on EFS", () => {
  const withData = { ...SERVICES["plain"]!, data: { path: "/var/lib/app" } };

  test("an encrypted, protected file system with backups and mount targets in the private subnets", async () => {
    const { recorder } = await record(ingestion({ services: { store: withData } }));
    const fs = one(recorder, "ingestion-data");
    expect(fs.inputs).toMatchObject({ encrypted: true });
    expect([fs.protect, fs.retainOnDelete]).toEqual([true, true]);
    expect(one(recorder, "ingestion-data-backup").inputs["backupPolicy"]).toEqual({ status: "ENABLED" });
    const fsPolicy = JSON.parse(one(recorder, "ingestion-data-policy").inputs["policy"] as string) as {
      Statement: unknown[];
    };
    expect(fsPolicy.Statement).toEqual([
      expect.objectContaining({
        Effect: "Deny",
        Resource: "arn:aws:efs:eu-west-1:123456789012:ingestion-data",
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }),
    ]);
    const mounts = recorder.byType("aws:efs/mountTarget:MountTarget");
    expect(mounts.map((m) => [m.name, m.inputs["subnetId"], m.inputs["securityGroups"]])).toEqual([
      ["ingestion-data-mount-a", "subnet-private-a", ["ingestion-data-sg-id"]],
      ["ingestion-data-mount-b", "subnet-private-b", ["ingestion-data-sg-id"]],
    ]);
    expect(one(recorder, "ingestion-data-from-services").inputs).toMatchObject({
      securityGroupId: "ingestion-data-sg-id",
      ipProtocol: "tcp",
      fromPort: 2049,
      toPort: 2049,
      referencedSecurityGroupId: "sg-services",
    });
    // The stack's safety follows through.
    const unsafe = await record(
      ingestion({ services: { store: withData }, safety: { protect: false, retainOnDelete: false } }),
    );
    expect(one(unsafe.recorder, "ingestion-data").protect).toBe(false);
  });

  test("an access point per service, mounted over TLS with IAM; the task role may use that access point only", async () => {
    const other = { ...withData, data: { path: "/data" } };
    const { recorder } = await record(ingestion({ services: { store: withData, other } }));
    expect(one(recorder, "ingestion-data-store").inputs).toMatchObject({
      posixUser: { uid: 1000, gid: 1000 },
      rootDirectory: {
        path: "/store",
        creationInfo: { ownerUid: 1000, ownerGid: 1000, permissions: "0750" },
      },
    });
    expect(one(recorder, "ingestion-data-other").inputs["rootDirectory"]).toMatchObject({ path: "/other" });
    expect(one(recorder, "ingestion-store-task").inputs["volumes"]).toEqual([
      {
        name: "data",
        efsVolumeConfiguration: {
          fileSystemId: "ingestion-data-id",
          transitEncryption: "ENABLED",
          authorizationConfig: { accessPointId: "ingestion-data-store-id", iam: "ENABLED" },
        },
      },
    ]);
    expect(container(recorder, "store").mountPoints).toEqual([
      { sourceVolume: "data", containerPath: "/var/lib/app", readOnly: false },
    ]);
    const p = policy(recorder, "ingestion-store-task-role-data");
    expect(p.Statement).toEqual([
      expect.objectContaining({
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: ["arn:aws:efs:eu-west-1:123456789012:ingestion-data"],
        Condition: {
          StringEquals: {
            "elasticfilesystem:AccessPointArn": "arn:aws:efs:eu-west-1:123456789012:ingestion-data-store",
          },
        },
      }),
    ]);
    expect(recorder.byName("ingestion-api-task-role-data")).toBeUndefined();
  });

  test("one task writes: no autoscaling, a deployment stops the old task first; more tasks are refused", async () => {
    const { recorder } = await record(ingestion({ services: { store: withData } }));
    expect(one(recorder, "ingestion-store-service").inputs).toMatchObject({
      desiredCount: 1,
      deploymentMinimumHealthyPercent: 0,
      deploymentMaximumPercent: 100,
    });
    expect(recorder.byName("ingestion-store-scaling")).toBeUndefined();
    let error: unknown;
    await record(() => {
      try {
        ingestion({ services: { store: { ...withData, sizing: { maxTasks: 3 } } } })();
      } catch (e) {
        error = e;
      }
      return new pulumi.ComponentResource("test:index:Marker", "marker");
    });
    expect(String(error)).toMatch(
      /services\.store\.sizing\.maxTasks: a service with a data directory runs one task/,
    );
  });
});

describe("service discovery: ECS Service Connect under the Docker names", () => {
  test("every long-running service is a client; one with a port also a server under its bare name", async () => {
    const { recorder } = await record(
      ingestion({
        services: {
          ...SERVICES,
          redpanda: {
            image: "redpandadata/redpanda:v24.2.4",
            ports: [{ port: 9092, allowFrom: ["10.0.0.0/8"] }],
          },
        },
      }),
    );
    const sc = (svc: string) =>
      one(recorder, `ingestion-${svc}-service`).inputs["serviceConnectConfiguration"];
    expect(sc("redpanda")).toEqual({
      enabled: true,
      namespace: NAMESPACE_ARN,
      services: [
        {
          portName: "redpanda-9092",
          discoveryName: "redpanda-9092",
          clientAlias: [{ port: 9092, dnsName: "redpanda" }],
        },
      ],
    });
    expect(sc("api")).toEqual({
      enabled: true,
      namespace: NAMESPACE_ARN,
      services: [
        { portName: "api-8000", discoveryName: "api-8000", clientAlias: [{ port: 8000, dnsName: "api" }] },
      ],
    });
    expect(sc("auth")).toEqual({ enabled: true, namespace: NAMESPACE_ARN });
    expect(container(recorder, "api").portMappings).toEqual([
      { containerPort: 8000, protocol: "tcp", name: "api-8000" },
    ]);
    // Tasks reach each other's served ports through the services group, and nothing more.
    const selfRules = recorder
      .byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
      .filter((r) => r.inputs["referencedSecurityGroupId"] === "sg-services");
    expect(selfRules.map((r) => r.inputs["fromPort"]).sort()).toEqual([8000, 9092]);
  });

  test("a scheduled job runs on EventBridge from the service's own `schedule`, outside Service Connect", async () => {
    const { recorder } = await record(ingestion());
    expect(recorder.byName("ingestion-nightly-service")).toBeUndefined();
    expect(one(recorder, "ingestion-nightly-schedule").inputs["scheduleExpression"]).toBe(
      "cron(0 3 * * ? *)",
    );
  });

  test("without a namespace in the placement, no service joins one", async () => {
    const { recorder } = await record(ingestion({ placement: fakeAwsPlacement() }));
    expect(one(recorder, "ingestion-api-service").inputs["serviceConnectConfiguration"]).toBeUndefined();
  });
});

describe("examples/aws-events: seed 001 on AWS through the stack config", () => {
  const EXAMPLE = "examples/aws-events/Pulumi.aws-events.yaml";

  test("Secrets Manager for the stack secret and the generated key, never in a task definition's environment", async () => {
    const plan = await synthesizeStack(EXAMPLE);
    expect(one(plan, "ingestion-secret-webhook-signing-key-value").inputs["secretString"]).toBe("[secret]");
    expect(one(plan, "ingestion-secret-jwt-signing-key-value").inputs["secretString"]).toBe("[secret]");
    const text = JSON.stringify(plan.resources);
    expect(text).not.toContain(OFFLINE_SECRET_PLACEHOLDER);
    expect(text).not.toContain("mock-password-ingestion-secret-jwt-signing-key-generated");
    for (const task of plan.byType("aws:ecs/taskDefinition:TaskDefinition")) {
      const [c] = JSON.parse(task.inputs["containerDefinitions"] as string) as Container[];
      for (const e of c!.environment) expect(e.name).not.toMatch(/SECRET|SIGNING/);
    }
    const ingestion = container(plan, "ingestion").secrets.map((s) => s.name);
    expect(ingestion).toEqual(["DATABASE_URL", "JWT_SECRET", "WEBHOOK_SIGNING_KEY"]);
    expect(policy(plan, "ingestion-event-handler-execution-role-secrets").Statement[0]!.Resource).toEqual(
      [secretArn("ingestion-event-handler-secret"), secretArn("ingestion-secret-jwt-signing-key")].sort(),
    );
  });

  test("Redpanda on EFS as redpanda:9092, EMQX's MQTT on the NLB, the cleanup on a schedule", async () => {
    const plan = await synthesizeStack(EXAMPLE);
    expect(
      plan
        .byType("aws:efs/accessPoint:AccessPoint")
        .map((a) => a.name)
        .sort(),
    ).toEqual(["ingestion-data-emqx", "ingestion-data-redpanda"]);
    expect(one(plan, "ingestion-redpanda-service").inputs["serviceConnectConfiguration"]).toMatchObject({
      services: [{ clientAlias: [{ port: 9092, dnsName: "redpanda" }] }],
    });
    expect(one(plan, "ingestion-event-handler-service").inputs["serviceConnectConfiguration"]).toMatchObject({
      enabled: true,
    });
    expect(one(plan, "ingestion-nlb-listener-tcp-1883").inputs).toMatchObject({
      port: 1883,
      protocol: "TCP",
    });
    expect(one(plan, "ingestion-dlq-cleanup-schedule").inputs["scheduleExpression"]).toBe(
      "cron(0 3 * * ? *)",
    );
    expect(plan.byName("ingestion-dlq-cleanup-service")).toBeUndefined();
  });
});
