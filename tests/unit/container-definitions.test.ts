/**
 * The pure renderers behind every ECS task: container definitions (no secret in `environment`, ever — property
 * tested), IAM policy documents (exactly the referenced secrets; scheduled tasks), and the Fargate
 * size rules of the `aws` config block.
 */
import fc from "fast-check";
import {
  type ContainerSpec,
  containerIssues,
  efsClientPolicy,
  looksSecret,
  referencedSecretArns,
  renderContainerDefinitions,
  runTaskPolicy,
  secretsReadPolicy,
} from "../../components/shared/containerDefinitions";
import {
  FARGATE_MEMORY,
  type FargateSizingArgs,
  resolveFargateSizing,
  validateFargateSizing,
} from "../../components/shared/fargateSizing";
import { awsServiceSchema, awsServiceSizing } from "../../src/config/tiers/awsServices";

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:svc-AbCdEf";
const spec = (over: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: "api",
  image: "ghcr.io/acme/api:1.2.3",
  port: 8000,
  environment: { LOG_LEVEL: "info" },
  secrets: { DATABASE_URL: { secretArn: SECRET_ARN, jsonKey: "DATABASE_URL" } },
  healthPath: "/health",
  logGroup: "/stackport/test/ingestion/api",
  region: "eu-west-1",
  ...over,
});
interface Rendered {
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  healthCheck: { command: string[] };
  [key: string]: unknown;
}
const parse = (json: string) => JSON.parse(json) as Rendered[];

describe("renderContainerDefinitions", () => {
  test("one essential container: awslogs to its own group, port, JSON-key secret, health probe", () => {
    const [c] = parse(renderContainerDefinitions(spec()));
    expect(c).toMatchObject({
      name: "api",
      image: "ghcr.io/acme/api:1.2.3",
      essential: true,
      portMappings: [{ containerPort: 8000, protocol: "tcp" }],
      environment: [{ name: "LOG_LEVEL", value: "info" }],
      secrets: [{ name: "DATABASE_URL", valueFrom: `${SECRET_ARN}:DATABASE_URL::` }],
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": "/stackport/test/ingestion/api",
          "awslogs-region": "eu-west-1",
          "awslogs-stream-prefix": "api",
        },
      },
    });
    expect(c!["healthCheck"].command[1]).toContain("http://127.0.0.1:8000/health");
  });

  test("a secret-looking variable or a URL with credentials in environment is refused, naming the variable", () => {
    const environments: Record<string, string>[] = [
      { DB_PASSWORD: "x" },
      { API_KEY: "x" },
      { SENTRY_DSN: "https://abc@sentry.io/1" },
      { UPSTREAM: "postgresql://app:hunter2@db:5432/x" },
    ];
    for (const environment of environments) {
      const name = Object.keys(environment)[0]!;
      expect(containerIssues(spec({ environment }))).toEqual([
        { path: `environment.${name}`, message: expect.stringContaining("looks like a secret") },
      ]);
      // The renderer is the last guard (FargateService validates first): it refuses too, naming the variable.
      expect(() => renderContainerDefinitions(spec({ environment }))).toThrow(
        `environment.${name}: looks like a secret`,
      );
    }
  });

  test("a variable cannot be both plain and secret", () => {
    expect(() => renderContainerDefinitions(spec({ environment: { DATABASE_URL: "x" } }))).toThrow(
      /environment\.DATABASE_URL: is also injected as a secret/,
    );
  });

  // Names a service might plausibly use, secret-looking or not, plus arbitrary ones.
  const names = fc.oneof(
    fc.constantFrom(
      "LOG_LEVEL",
      "DB_PASSWORD",
      "AWS_SECRET_ACCESS_KEY",
      "GITHUB_TOKEN",
      "PORT",
      "BROKER_URL",
      "KEY",
    ),
    fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/),
  );
  const values = fc.oneof(fc.string(), fc.constant("redis://:pw@broker:6379/0"));

  test("property: whatever the environment, no secret-looking name or credentialed URL lands in `environment`", () => {
    fc.assert(
      fc.property(fc.dictionary(names, values), fc.uniqueArray(names), (environment, secretNames) => {
        const secrets = Object.fromEntries(
          secretNames.map((n) => [n, { secretArn: SECRET_ARN, jsonKey: n }]),
        );
        let json: string;
        try {
          json = renderContainerDefinitions(spec({ environment, secrets }));
        } catch {
          // Refusing is fine, exactly when the validator says why.
          return containerIssues(spec({ environment, secrets })).length > 0;
        }
        const [c] = parse(json);
        const env = c!["environment"] as { name: string; value: string }[];
        const injected = (c!["secrets"] as { name: string }[]).map((s) => s.name);
        return (
          env.every((v) => !looksSecret(v.name, v.value)) &&
          env.every((v) => !injected.includes(v.name)) &&
          secretNames.every((n) => injected.includes(n))
        );
      }),
      { numRuns: 500 },
    );
  });

  test("deterministic: variables sorted by name whatever the input order", () => {
    const a = renderContainerDefinitions(spec({ environment: { B: "2", A: "1" } }));
    const b = renderContainerDefinitions(spec({ environment: { A: "1", B: "2" } }));
    expect(a).toBe(b);
    expect(parse(a)[0]!["environment"].map((v: { name: string }) => v.name)).toEqual(["A", "B"]);
  });
});

describe("published ports, data mounts and pinned secret versions", () => {
  test("a pinned version renders ARN:json-key:version-stage:version-id, the stage left empty", () => {
    const versionId = "3f2c4a9e-1b7d-4c0e-9a55-0d9e8f7a6b5c";
    const [c] = parse(
      renderContainerDefinitions(
        spec({
          secrets: {
            JWT_SECRET: { secretArn: SECRET_ARN, versionId },
            DATABASE_URL: { secretArn: SECRET_ARN, jsonKey: "DATABASE_URL", versionId },
          },
        }),
      ),
    );
    expect(c!.secrets).toEqual([
      { name: "DATABASE_URL", valueFrom: `${SECRET_ARN}:DATABASE_URL::${versionId}` },
      { name: "JWT_SECRET", valueFrom: `${SECRET_ARN}:::${versionId}` },
    ]);
  });

  test("port mappings: the service port first, each published port once (by port and protocol), names kept", () => {
    const [c] = parse(
      renderContainerDefinitions(
        spec({
          portName: "api-8000",
          ports: [
            { port: 8000, protocol: "tcp" },
            { port: 1883, protocol: "tcp", name: "api-1883" },
            { port: 1883, protocol: "udp" },
          ],
        }),
      ),
    );
    expect(c!["portMappings"]).toEqual([
      { containerPort: 8000, protocol: "tcp", name: "api-8000" },
      { containerPort: 1883, protocol: "tcp", name: "api-1883" },
      { containerPort: 1883, protocol: "udp" },
    ]);
    // Unchanged for a service without published ports or names (existing task definitions keep their JSON).
    expect(parse(renderContainerDefinitions(spec()))[0]!["portMappings"]).toEqual([
      { containerPort: 8000, protocol: "tcp" },
    ]);
    expect(parse(renderContainerDefinitions(spec()))[0]).not.toHaveProperty("mountPoints");
  });

  test("a data volume is mounted read-write at its path", () => {
    const [c] = parse(
      renderContainerDefinitions(spec({ mounts: [{ sourceVolume: "data", containerPath: "/app/data" }] })),
    );
    expect(c!["mountPoints"]).toEqual([
      { sourceVolume: "data", containerPath: "/app/data", readOnly: false },
    ]);
  });

  test("the task role mounts and writes the file system through its own access point only", () => {
    const fs = "arn:aws:elasticfilesystem:eu-west-1:1:file-system/fs-1";
    const ap = "arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-1";
    expect(efsClientPolicy(fs, ap).Statement).toEqual([
      {
        Sid: "MountOwnAccessPoint",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: [fs],
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": ap } },
      },
    ]);
  });
});

describe("IAM policy documents", () => {
  test("the execution role reads exactly the referenced secrets (deduplicated), nothing else", () => {
    const other = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-XyZ";
    const arns = referencedSecretArns({
      DATABASE_URL: { secretArn: SECRET_ARN, jsonKey: "DATABASE_URL" },
      BROKER_URL: { secretArn: SECRET_ARN, jsonKey: "BROKER_URL" },
      PGPASSWORD: { secretArn: other, jsonKey: "password" },
    });
    const policy = secretsReadPolicy(arns);
    expect(policy.Statement).toEqual([
      {
        Sid: "ReadReferencedSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [SECRET_ARN, other].sort(),
      },
    ]);
  });

  test("scheduled tasks: EventBridge may run any revision of the family on this cluster and pass its roles", () => {
    const policy = runTaskPolicy({
      taskDefinitionArn: "arn:aws:ecs:eu-west-1:1:task-definition/test-ingestion-beat:7",
      clusterArn: "arn:aws:ecs:eu-west-1:1:cluster/test",
      roleArns: ["arn:aws:iam::1:role/b", "arn:aws:iam::1:role/a"],
    });
    expect(policy.Statement[0]).toMatchObject({
      Action: ["ecs:RunTask"],
      Resource: ["arn:aws:ecs:eu-west-1:1:task-definition/test-ingestion-beat:*"],
      Condition: { ArnEquals: { "ecs:cluster": "arn:aws:ecs:eu-west-1:1:cluster/test" } },
    });
    expect(policy.Statement[1]!.Resource).toEqual(["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"]);
  });
});

describe("Fargate sizes (FargateSizingArgs; stackport:…aws in the config)", () => {
  const issuesOf = (input: FargateSizingArgs) => validateFargateSizing(input, "sizing");

  test("a memory size Fargate refuses names the arg and lists what that cpu allows", () => {
    expect(issuesOf({ cpu: 256, memoryMb: 4096 })).toEqual([
      {
        path: "sizing.memoryMb",
        message: "4096 MiB is not a Fargate size for cpu 256; allowed: 512, 1024, 2048",
      },
    ]);
    expect(issuesOf({ cpu: 1024, memoryMb: 1024 })[0]!.message).toContain(
      "allowed: 2048–8192 in steps of 1024",
    );
  });

  test("an unknown cpu names the arg and the allowed values", () => {
    expect(issuesOf({ cpu: 300 })).toEqual([
      { path: "sizing.cpu", message: "must be one of 256, 512, 1024, 2048, 4096 (Fargate CPU units)" },
    ]);
  });

  test("every listed combination is accepted; defaults: smallest memory, 2–10 tasks in production, 1–2 elsewhere", () => {
    for (const [cpu, sizes] of Object.entries(FARGATE_MEMORY)) {
      for (const memoryMb of sizes) expect(issuesOf({ cpu: Number(cpu), memoryMb })).toEqual([]);
    }
    const production = awsServiceSizing(awsServiceSchema.parse({ cpu: 512 }), "production");
    expect(resolveFargateSizing(production)).toMatchObject({
      memoryMb: 1024,
      minTasks: 2,
      maxTasks: 10,
      cpuTargetPercent: 60,
    });
    expect(awsServiceSizing(undefined, "staging")).toMatchObject({ minTasks: 1, maxTasks: 2 });
    expect(awsServiceSizing(awsServiceSchema.parse({ minTasks: 4 }), "staging")).toMatchObject({
      minTasks: 4,
      maxTasks: 4,
    });
    expect(resolveFargateSizing({})).toMatchObject({ cpu: 256, memoryMb: 512, minTasks: 1, maxTasks: 2 });
  });

  test("min > max and scaling keys on a scheduled task are refused", () => {
    expect(issuesOf({ minTasks: 5, maxTasks: 3 })).toEqual([
      { path: "sizing.maxTasks", message: "must be ≥ minTasks (5)" },
    ]);
    expect(issuesOf({ schedule: "rate(15 minutes)", minTasks: 2 })[0]!.path).toBe("sizing.minTasks");
    expect(issuesOf({ schedule: "every 5 minutes" })[0]!.path).toBe("sizing.schedule");
    expect(issuesOf({ schedule: "cron(0 3 * * ? *)" })).toEqual([]);
    // The config never gives a scheduled task counts (services.<svc>.schedule), so its defaults cannot trip this rule.
    expect(awsServiceSizing(undefined, "production", { scheduled: true })).not.toHaveProperty("minTasks");
    // A service with a data directory runs one task unless the config says otherwise (then FargateService refuses it).
    expect(awsServiceSizing(undefined, "production", { single: true })).toMatchObject({
      minTasks: 1,
      maxTasks: 1,
    });
  });
});
