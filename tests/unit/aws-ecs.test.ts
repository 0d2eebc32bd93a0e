/**
 * Ingestion and basemap on ECS Fargate under the mock runtime: what every task definition contains (parsed from its
 * JSON), where services run, how they deploy and scale, and what their roles may read.
 */
import * as pulumi from "@pulumi/pulumi";
import { EcsBasemap } from "../../components/basemap/ecsBasemap";
import type { DatabaseConnection, RoleConnection } from "../../components/database/contract";
import { looksSecret } from "../../components/shared/containerDefinitions";
import { EcsIngestion } from "../../components/ingestion/ecsIngestion";
import { isArgsError } from "../../components/shared/errors";
import { isConfigError, resolveConfig } from "../../src/config";
import type { Environment } from "../../src/config/schema";
import { basemapSchema, ecsBasemapArgs } from "../../src/config/tiers/basemap";
import { ecsIngestionArgs, ingestionSchema } from "../../src/config/tiers/ingestion";
import { type Recorder, SECRET_MASK } from "../../src/synth/recorder";
import { one, record } from "../harness";
import { fakeAwsPlacement } from "../support/fakeAwsPlacement";

const role = (name: string): RoleConnection => {
  const s = pulumi.output;
  return {
    host: s("db.internal"),
    port: s(5432),
    database: s("platform"),
    user: s(name),
    password: pulumi.secret("pw"),
    url: pulumi.secret(`postgresql://${name}:pw@db.internal:5432/platform`),
  };
};
const database: DatabaseConnection = {
  roles: { db_admin: role("db_admin"), app_writer: role("app_writer"), app_reader: role("app_reader") },
};
const storage = {
  endpoint: pulumi.output("https://s3.eu-west-1.amazonaws.com"),
  region: pulumi.output("eu-west-1"),
  forcePathStyle: false,
  buckets: { raw: pulumi.output("stackport-test-raw"), tiles: pulumi.output("stackport-test-tiles") },
};
/** `stackport:ingestion.services` as a stack file would say it. */
const SERVICES: Record<string, Record<string, unknown>> = {
  api: {
    image: "ghcr.io/acme/api:1.4.0",
    port: 8000,
    health: { path: "/health" },
    environment: { LOG_LEVEL: "info" },
    connections: { database: "app_writer", storage: ["raw"], broker: true },
    route: { path: "/api" },
    aws: { cpu: 512, memoryMb: 1024 },
  },
  worker: {
    image: "ghcr.io/acme/api:1.4.0",
    command: ["celery", "-A", "app", "worker"],
    connections: { database: "app_writer", broker: true },
  },
  beat: {
    image: "ghcr.io/acme/api:1.4.0",
    command: ["python", "-m", "app.ingest"],
    connections: { database: "app_writer" },
    schedule: "rate(15 minutes)",
  },
};
const TARGET_GROUP_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/1";
const TARGET_GROUP = {
  arn: pulumi.output(TARGET_GROUP_ARN),
  arnSuffix: pulumi.output("targetgroup/api/1"),
  loadBalancerArnSuffix: pulumi.output("app/proxy/1"),
};

/** Both tiers as the program builds them for a stack of `environment` (production: 2–10 tasks, failover…). */
function platform(environment: Environment, services = SERVICES) {
  return () => {
    const placement = fakeAwsPlacement();
    const stack = {
      environment,
      logRetentionDays: environment === "production" ? 90 : 30,
      safety: { protect: environment !== "local", retainOnDelete: environment !== "local" },
    };
    const config = ingestionSchema.parse({ on: "cloud", services });
    const ingestion = new EcsIngestion("ingestion", {
      ...ecsIngestionArgs(config, Object.keys(services), stack),
      placement,
      database,
      storage,
      targetGroups: { api: TARGET_GROUP },
    });
    const basemap = new EcsBasemap("basemap", {
      ...ecsBasemapArgs(
        basemapSchema.parse({ on: "cloud", pmtiles: ["world.pmtiles", "2024/roads.pmtiles"] }),
        stack,
      ),
      placement,
      database,
      storage,
    });
    return { ingestion, basemap };
  };
}

type Container = {
  name: string;
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  logConfiguration: { logDriver: string; options: Record<string, string> };
  [k: string]: unknown;
};
const containers = (recorder: Recorder, task: string) =>
  JSON.parse(one(recorder, task).inputs["containerDefinitions"] as string) as Container[];
const policy = (recorder: Recorder, name: string) =>
  JSON.parse(one(recorder, name).inputs["policy"] as string) as {
    Statement: { Action: string[]; Resource: string[] }[];
  };
const TASKS = ["ingestion-api-task", "ingestion-worker-task", "ingestion-beat-task", "basemap-martin-task"];

describe("ECS task definitions", () => {
  test("every container logs with awslogs to its own log group, created with a retention", async () => {
    const { recorder } = await record(platform("production"));
    const groups = TASKS.map((task) => {
      const [c] = containers(recorder, task);
      expect(c!.logConfiguration.logDriver).toBe("awslogs");
      return c!.logConfiguration.options["awslogs-group"];
    });
    expect(new Set(groups).size).toBe(TASKS.length);
    const created = recorder.byType("aws:cloudwatch/logGroup:LogGroup");
    expect(created.map((g) => g.inputs["name"]).sort()).toEqual([...groups].sort());
    expect(groups).toContain("/stackport/test/ingestion/api");
    for (const g of created) expect(g.inputs["retentionInDays"]).toBe(90);
    expect(one(recorder, "ingestion-api-task").inputs).toMatchObject({
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "512",
      memory: "1024",
    });
  });

  test("no secret-looking variable in any environment; DATABASE_URL and BROKER_URL only as secrets", async () => {
    const { recorder } = await record(platform("production"));
    for (const task of TASKS) {
      const [c] = containers(recorder, task);
      for (const v of c!.environment) expect(looksSecret(v.name, v.value)).toBe(false);
      expect(c!.environment.map((v) => v.name)).not.toContain("DATABASE_URL");
      expect(c!.secrets.map((s) => s.name)).toContain("DATABASE_URL");
    }
    const [api] = containers(recorder, "ingestion-api-task");
    expect(api!.secrets.map((s) => s.name)).toEqual(["BROKER_URL", "DATABASE_URL"]);
    expect(api!.secrets[1]!.valueFrom).toMatch(
      /^arn:aws:secretsmanager:eu-west-1:\d+:secret:ingestion-api-secret-\w+:DATABASE_URL::$/,
    );
    expect(api!.environment).toEqual(
      expect.arrayContaining([
        { name: "STORAGE_BUCKET_RAW", value: "stackport-test-raw" },
        { name: "AWS_REGION", value: "eu-west-1" },
      ]),
    );
    // The values live in the service's own secret, and only as a secret.
    expect(one(recorder, "ingestion-api-secret-value").inputs["secretString"]).toBe(SECRET_MASK);
  });

  test("the execution role reads exactly the secrets its container references", async () => {
    const { recorder } = await record(platform("production"));
    for (const svc of ["api", "worker", "beat"]) {
      const [c] = containers(recorder, `ingestion-${svc}-task`);
      const referenced = [...new Set(c!.secrets.map((s) => s.valueFrom.split(":").slice(0, 7).join(":")))];
      const p = policy(recorder, `ingestion-${svc}-execution-role-secrets`);
      expect(p.Statement).toEqual([
        expect.objectContaining({ Action: ["secretsmanager:GetSecretValue"], Resource: referenced }),
      ]);
    }
    expect(one(recorder, "ingestion-api-execution-role-managed").inputs["policyArn"]).toBe(
      "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
    );
  });

  test("task roles: S3 only on declared buckets (read-only for Martin), none at all without storage", async () => {
    const { recorder } = await record(platform("production"));
    const resources = (name: string) => policy(recorder, name).Statement.flatMap((s) => s.Resource);
    expect(new Set(resources("ingestion-api-task-role-buckets"))).toEqual(
      new Set(["arn:aws:s3:::stackport-test-raw", "arn:aws:s3:::stackport-test-raw/*"]),
    );
    const martin = policy(recorder, "basemap-martin-task-role-buckets");
    expect(new Set(martin.Statement.flatMap((s) => s.Resource))).toEqual(
      new Set(["arn:aws:s3:::stackport-test-tiles", "arn:aws:s3:::stackport-test-tiles/*"]),
    );
    expect(martin.Statement.flatMap((s) => s.Action)).not.toContain("s3:PutObject");
    expect(recorder.byName("ingestion-worker-task-role-buckets")).toBeUndefined();
  });
});

describe("ECS services and scheduled tasks", () => {
  test("private subnets, no public IP, circuit breaker with rollback, load balancer only when routed", async () => {
    const { recorder } = await record(platform("production"));
    const services = recorder.byType("aws:ecs/service:Service");
    expect(services.map((s) => s.name).sort()).toEqual([
      "basemap-martin-service",
      "ingestion-api-service",
      "ingestion-worker-service",
    ]);
    for (const s of services) {
      expect(s.inputs).toMatchObject({
        launchType: "FARGATE",
        networkConfiguration: {
          assignPublicIp: false,
          subnets: ["subnet-private-a", "subnet-private-b"],
          securityGroups: ["sg-services"],
        },
        deploymentCircuitBreaker: { enable: true, rollback: true },
      });
    }
    expect(one(recorder, "ingestion-api-service").inputs["loadBalancers"]).toEqual([
      { targetGroupArn: TARGET_GROUP_ARN, containerName: "api", containerPort: 8000 },
    ]);
    expect(one(recorder, "ingestion-worker-service").inputs["loadBalancers"]).toBeUndefined();
  });

  test("autoscaling: 2–10 tasks on CPU 60 % in production, 1–2 in staging", async () => {
    const prod = await record(platform("production"));
    const target = one(prod.recorder, "ingestion-api-scaling").inputs;
    expect(target).toMatchObject({
      minCapacity: 2,
      maxCapacity: 10,
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: "service/test/ingestion-api",
    });
    expect(one(prod.recorder, "ingestion-api-service").inputs["desiredCount"]).toBe(2);
    expect(one(prod.recorder, "ingestion-api-scaling-cpu").inputs).toMatchObject({
      policyType: "TargetTrackingScaling",
      targetTrackingScalingPolicyConfiguration: {
        targetValue: 60,
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
      },
    });
    const staging = await record(platform("staging"));
    expect(one(staging.recorder, "ingestion-api-scaling").inputs).toMatchObject({
      minCapacity: 1,
      maxCapacity: 2,
    });
  });

  test("a service with a schedule runs as an EventBridge-scheduled task, not a service", async () => {
    const { recorder } = await record(platform("production"));
    expect(recorder.byName("ingestion-beat-service")).toBeUndefined();
    expect(one(recorder, "ingestion-beat-schedule").inputs["scheduleExpression"]).toBe("rate(15 minutes)");
    expect(one(recorder, "ingestion-beat-schedule-target").inputs).toMatchObject({
      ecsTarget: { launchType: "FARGATE", taskCount: 1, networkConfiguration: { assignPublicIp: false } },
    });
    const run = policy(recorder, "ingestion-beat-schedule-role-run");
    expect(run.Statement.map((s) => s.Action)).toEqual([["ecs:RunTask"], ["iam:PassRole"]]);
  });

  test("alarm specs: CPU and memory for every service, 5xx and unhealthy hosts for routed ones", async () => {
    const { result } = await record(platform("production"));
    expect(result.ingestion.alarmSpecs.map((a) => a.key).sort()).toEqual([
      "ingestion-api-5xx",
      "ingestion-api-cpu",
      "ingestion-api-memory",
      "ingestion-api-unhealthy",
      "ingestion-worker-cpu",
      "ingestion-worker-memory",
    ]);
    const cpu = result.ingestion.alarmSpecs.find((a) => a.key === "ingestion-api-cpu")!;
    expect(cpu).toMatchObject({ namespace: "AWS/ECS", metricName: "CPUUtilization", threshold: 80 });
  });
});

describe("broker, ECR and Martin", () => {
  test("ElastiCache broker: TLS, encrypted, secret auth token, private subnets, reachable from services only", async () => {
    const { recorder } = await record(platform("production"));
    expect(one(recorder, "ingestion-broker").inputs).toMatchObject({
      engine: "valkey",
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: SECRET_MASK,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      numCacheClusters: 2,
      securityGroupIds: ["sg-broker"],
    });
    expect(one(recorder, "ingestion-broker-subnets").inputs["subnetIds"]).toEqual([
      "subnet-private-a",
      "subnet-private-b",
    ]);
    expect(one(recorder, "ingestion-broker-from-services").inputs).toMatchObject({
      securityGroupId: "sg-broker",
      fromPort: 6379,
      toPort: 6379,
      referencedSecurityGroupId: "sg-services",
    });
  });

  test("ECR on request: scan on push, immutable tags, lifecycle; the task runs <repository>:<tag>", async () => {
    const api = { ...SERVICES["api"]!, image: "acme-api:1.4.0", aws: { ecrRepository: true } };
    const { recorder } = await record(platform("staging", { api }));
    expect(one(recorder, "ingestion-api-repository").inputs).toMatchObject({
      imageScanningConfiguration: { scanOnPush: true },
      imageTagMutability: "IMMUTABLE",
    });
    expect(one(recorder, "ingestion-api-repository-lifecycle")).toBeDefined();
    expect(containers(recorder, "ingestion-api-task")[0]!["image"]).toBe(
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/stackport-test-ingestion-api:1.4.0",
    );
  });

  test("Martin: PMTiles from S3 through the task role (no static keys), PostGIS as app_reader", async () => {
    const { recorder } = await record(platform("production"));
    const [c] = containers(recorder, "basemap-martin-task");
    const config = c!.environment.find((v) => v.name === "MARTIN_CONFIG_YAML")!.value;
    expect(config).toContain("world: s3://stackport-test-tiles/world.pmtiles");
    expect(config).toContain("2024.roads: s3://stackport-test-tiles/2024/roads.pmtiles");
    expect(config).toContain("connection_string: ${DATABASE_URL}");
    expect(config).toContain("base_path: /tiles");
    expect(JSON.stringify(c)).not.toMatch(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/);
    expect(c!["portMappings"]).toEqual([{ containerPort: 3000, protocol: "tcp" }]);
    // Martin's cache (512 MB default) + headroom decides the default Fargate memory.
    expect(one(recorder, "basemap-martin-task").inputs["memory"]).toBe("1024");
  });
});

describe("bad input fails before any resource is registered", () => {
  async function refusal(services: Record<string, Record<string, unknown>>) {
    let error: unknown;
    const { recorder } = await record(() => {
      try {
        platform("production", services)();
      } catch (e) {
        error = e;
      }
    });
    expect(
      recorder.resources.filter((r) => r.type.startsWith("stackport:") || r.type.startsWith("aws:ecs")),
    ).toEqual([]);
    expect(isArgsError(error)).toBe(true);
    return String(error);
  }

  /** The same input in a stack: the issues `resolveConfig` reports, each line a config key and its message. */
  function stackIssues(tiers: Record<string, unknown>): string[] {
    try {
      resolveConfig({
        environment: "production",
        targets: { cloud: { kind: "aws", region: "eu-west-1" } },
        ...tiers,
      });
      return [];
    } catch (e) {
      if (!isConfigError(e)) throw e;
      return e.issues.map((i) => `${i.key}: ${i.message}`);
    }
  }

  test("a Fargate cpu/memory combination AWS refuses", async () => {
    const api = { ...SERVICES["worker"]!, aws: { cpu: 2048, memoryMb: 2048 } };
    const message = "2048 MiB is not a Fargate size for cpu 2048; allowed: 4096–16384 in steps of 1024";
    expect(await refusal({ api })).toContain(`services.api.sizing.memoryMb: ${message}`);
    expect(
      stackIssues({
        ingestion: { on: "cloud", broker: false, services: { api: { ...api, connections: {} } } },
      }),
    ).toEqual([`stackport:ingestion.services.api.aws.memoryMb: ${message}`]);
  });

  test("a full registry reference with ecrRepository", async () => {
    const api = { ...SERVICES["worker"]!, aws: { ecrRepository: true } };
    expect(await refusal({ api })).toContain(
      "services.api.image: with ecrRepository the image must be 'name:tag'",
    );
    expect(
      stackIssues({
        ingestion: { on: "cloud", broker: false, services: { api: { ...api, connections: {} } } },
      }),
    ).toEqual([
      expect.stringMatching(
        /^stackport:ingestion\.services\.api\.image: with ecrRepository the image must be 'name:tag'/,
      ),
    ]);
  });

  test("the basemap import job (not on AWS yet) and a cache that does not fit the task", async () => {
    expect(
      stackIssues({
        basemap: {
          on: "cloud",
          postgis: false,
          pmtiles: ["a.pmtiles"],
          import: { image: "ghcr.io/osgeo/gdal:3.9.0", command: ["ogr2ogr"] },
        },
        storage: { on: "cloud" },
      }),
    ).toContainEqual(
      expect.stringMatching(/^stackport:basemap\.import: the import job runs on Docker targets only/),
    );
    const cache = await record(() => {
      try {
        new EcsBasemap("basemap", {
          cacheMb: 4096,
          sizing: { cpu: 256 },
          placement: fakeAwsPlacement(),
          database,
        });
      } catch (e) {
        return e;
      }
    });
    expect(String(cache.result)).toContain("sizing.memoryMb: must be at least cacheMb + 128 (4224)");
    expect(
      stackIssues({
        basemap: { on: "cloud", cacheMb: 4096, memoryMb: 8192, aws: { cpu: 256 } },
        database: { on: "cloud" },
      }),
    ).toContainEqual(
      expect.stringMatching(/^stackport:basemap\.aws\.memoryMb: must be at least cacheMb \+ 128 \(4224\)/),
    );
  });
});
