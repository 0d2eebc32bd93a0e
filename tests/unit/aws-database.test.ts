import { type Environment, isConfigError, rdsDatabaseArgs, resolveConfig } from "../../src/config";
import { RdsDatabase } from "../../components/database/rdsDatabase";
import { renderBootstrapScript } from "../../components/database/bootstrapSql";
import { AwsTarget } from "../../components/targets/aws";
import { isSecret, one, record, valueOf } from "../harness";

const databaseConfig = (environment: Environment = "staging", extra: Record<string, unknown> = {}) =>
  resolveConfig({
    environment,
    targets: { t: { kind: "aws", region: "eu-west-1" } },
    database: { on: "t", ...extra },
  }).database!;

/** RDS as the program builds it for a stack of `environment` (its defaults: multi-AZ in production…). */
const rds = (
  environment: Environment,
  opts: { aws?: Record<string, unknown>; monitoringUser?: boolean } = {},
) =>
  record(() => {
    const placement = new AwsTarget("cloud", { region: "eu-west-1" }).placement;
    const config = databaseConfig(environment, {
      ...(opts.monitoringUser && { monitoringUser: true }),
      ...(opts.aws && { aws: opts.aws }),
    });
    const safe = environment !== "local";
    return new RdsDatabase("database", {
      ...rdsDatabaseArgs(config, {
        environment,
        safety: { protect: safe, retainOnDelete: safe },
        logRetentionDays: 30,
      }),
      placement,
    });
  });

describe("RdsDatabase", () => {
  it("production: encrypted, private, multi-AZ, 7-day backups, deletion protection, final snapshot, managed master password", async () => {
    const { recorder } = await rds("production");
    const instance = one(recorder, "database-instance");
    expect(instance.type).toBe("aws:rds/instance:Instance");
    expect(instance.provider).toBe("cloud-aws");
    expect([instance.protect, instance.retainOnDelete]).toEqual([true, true]);
    expect(instance.inputs).toMatchObject({
      engine: "postgres",
      engineVersion: "17",
      instanceClass: "db.t4g.medium",
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      storageEncrypted: true,
      publiclyAccessible: false,
      multiAz: true,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "stackport-test-database-final",
      manageMasterUserPassword: true,
      copyTagsToSnapshot: true,
      enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
      engineLifecycleSupport: "open-source-rds-extended-support-disabled",
      vpcSecurityGroupIds: ["cloud-database-sg-id"],
      deleteAutomatedBackups: false,
      performanceInsightsEnabled: true,
    });
    expect(instance.inputs["password"]).toBeUndefined();
  });

  it("staging defaults: single-AZ and 7-day backups, still protected with a final snapshot", async () => {
    const instance = one((await rds("staging")).recorder, "database-instance").inputs;
    expect(instance).toMatchObject({
      multiAz: false,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      skipFinalSnapshot: false,
    });
  });

  it("local: no deletion protection and no final snapshot", async () => {
    const { recorder } = await rds("local");
    const instance = one(recorder, "database-instance");
    expect(instance.inputs).toMatchObject({ deletionProtection: false, skipFinalSnapshot: true });
    expect(instance.inputs["finalSnapshotIdentifier"]).toBeUndefined();
  });

  it("puts the instance in private subnets with force_ssl and slow-query logging", async () => {
    const { recorder } = await rds("staging");
    expect(one(recorder, "database-subnets").inputs["subnetIds"]).toEqual([
      "cloud-private-a-id",
      "cloud-private-b-id",
    ]);
    const pg = one(recorder, "database-parameters").inputs;
    expect(pg["family"]).toBe("postgres17");
    expect(pg["parameters"]).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "rds.force_ssl", value: "1" }),
        expect.objectContaining({ name: "log_min_duration_statement", value: "500" }),
      ]),
    );
  });

  it("opens 5432 on the database group to the services group only", async () => {
    const { recorder } = await rds("production");
    const ingress = recorder.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(ingress).toHaveLength(1);
    expect(ingress[0]!.inputs).toMatchObject({
      securityGroupId: "cloud-database-sg-id",
      referencedSecurityGroupId: "cloud-services-sg-id",
      ipProtocol: "tcp",
      fromPort: 5432,
      toPort: 5432,
    });
    expect(ingress[0]!.inputs["cidrIpv4"]).toBeUndefined();
  });

  it("stores each role's password in Secrets Manager as a secret, never in plain text", async () => {
    const { recorder, result } = await rds("production", { monitoringUser: true });
    const roles = ["db-admin", "app-writer", "app-reader", "monitoring"];
    for (const role of roles) {
      const secret = one(recorder, `database-${role}-secret`);
      expect(secret.inputs["name"]).toBe(`stackport/test/database/${role.replace(/-/g, "_")}`);
      expect(secret.inputs["recoveryWindowInDays"]).toBe(7);
      const value = one(recorder, `database-${role}-secret-value`);
      expect(value.inputs["secretString"]).toBe("[secret]");
    }
    // The recorder masks secrets, so a mock password showing up anywhere means it leaked in plain text.
    expect(JSON.stringify(recorder.resources.map((r) => r.inputs))).not.toMatch(/mock-password/);
    expect(await isSecret(result.connection.roles.app_writer.password)).toBe(true);
    expect(await isSecret(result.connection.roles.app_writer.url)).toBe(true);
    expect(await valueOf(result.connection.roles.app_reader.user)).toBe("app_reader");
    expect(await valueOf(result.connection.roles.app_reader.port)).toBe(5432);
    expect(Object.keys(result.roleSecretArns).sort()).toEqual([
      "app_reader",
      "app_writer",
      "db_admin",
      "monitoring",
    ]);
  });

  it("runs the shared bootstrap as a one-off ECS task, with secrets injected and logs in CloudWatch", async () => {
    const { recorder } = await rds("staging");
    const task = one(recorder, "database-bootstrap-task").inputs;
    expect(task).toMatchObject({ requiresCompatibilities: ["FARGATE"], networkMode: "awsvpc" });
    const [container] = JSON.parse(String(task["containerDefinitions"]));
    expect(container.image).toBe("postgis/postgis:17-3.5");
    expect(container.command).toEqual([
      renderBootstrapScript({ database: "platform", monitoringUser: false, managedServer: true }),
    ]);
    expect(container.secrets.map((s: { name: string }) => s.name)).toEqual([
      "PGPASSWORD",
      "DB_ADMIN_PASSWORD",
      "APP_WRITER_PASSWORD",
      "APP_READER_PASSWORD",
    ]);
    for (const s of container.secrets) expect(s.valueFrom).toMatch(/:password::$/);
    expect(container.environment).not.toContainEqual(expect.objectContaining({ name: "PGPASSWORD" }));
    expect(container.logConfiguration).toMatchObject({
      logDriver: "awslogs",
      options: { "awslogs-group": "/stackport/test/database-bootstrap", "awslogs-region": "eu-west-1" },
    });
    expect(one(recorder, "database-bootstrap-logs").inputs["retentionInDays"]).toBe(30);

    const run = one(recorder, "database-bootstrap-run");
    expect(run.type).toBe("command:local:Command");
    expect(String(run.inputs["create"])).toContain("aws ecs run-task");
    expect(run.inputs["environment"]).toMatchObject({
      CLUSTER: "stackport-test-cloud",
      SUBNETS: "cloud-private-a-id,cloud-private-b-id",
      SECURITY_GROUP: "cloud-services-sg-id",
      AWS_REGION: "eu-west-1",
    });
    expect(run.inputs["triggers"]).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(run.dependsOn).toEqual(
      expect.arrayContaining([
        "database-instance",
        "database-from-services",
        "database-app-writer-secret-value",
      ]),
    );
  });

  it("re-runs the bootstrap only when its SQL changes", async () => {
    const trigger = async (extra: Record<string, unknown>) =>
      one(
        (
          await record(() => {
            const placement = new AwsTarget("cloud", { region: "eu-west-1" }).placement;
            return new RdsDatabase("database", { ...extra, placement });
          })
        ).recorder,
        "database-bootstrap-run",
      ).inputs["triggers"];
    const base = await trigger({});
    expect(await trigger({ instanceClass: "db.m7g.large" })).toEqual(base);
    expect(await trigger({ database: "other" })).not.toEqual(base);
  });
});

describe("RdsDatabase args", () => {
  it("default to a small single-AZ instance with a week of backups, protected and kept", async () => {
    const { recorder } = await record(() => {
      const placement = new AwsTarget("cloud", { region: "eu-west-1" }).placement;
      return new RdsDatabase("database", { placement });
    });
    const instance = one(recorder, "database-instance");
    expect([instance.protect, instance.retainOnDelete]).toEqual([true, true]);
    expect(instance.inputs).toMatchObject({
      engineVersion: "17",
      instanceClass: "db.t4g.medium",
      multiAz: false,
      backupRetentionPeriod: 7,
      deletionProtection: true,
      skipFinalSnapshot: false,
      performanceInsightsEnabled: false,
      dbName: "platform",
    });
  });

  it("refuses bad args naming each arg path, before registering anything", () => {
    expect(
      () =>
        new RdsDatabase("database", {
          placement: {} as never,
          engineVersion: "seventeen",
          allocatedStorageGb: 200,
          maxAllocatedStorageGb: 100,
          backupRetentionDays: 36,
        }),
    ).toThrow(
      [
        "Invalid args for stackport:aws:Database 'database' (3 problems):",
        "  - engineVersion: must be a PostgreSQL version like 17 or 17.4",
        "  - maxAllocatedStorageGb: must be at least allocatedStorageGb",
        "  - backupRetentionDays: must be a whole number of days from 0 to 35",
      ].join("\n"),
    );
  });
});

describe("stackport:database.aws settings", () => {
  const args = (environment: Environment, aws: Record<string, unknown> = {}) =>
    rdsDatabaseArgs(databaseConfig(environment, { aws }), {
      environment,
      safety: { protect: true, retainOnDelete: true },
      logRetentionDays: 30,
    });
  const issues = (environment: Environment, aws: Record<string, unknown>) => {
    try {
      databaseConfig(environment, { aws });
      return [];
    } catch (e) {
      if (!isConfigError(e)) throw e;
      return e.issues;
    }
  };

  it("defaults depend on the environment", () => {
    expect(args("production")).toMatchObject({ multiAz: true, backupRetentionDays: 7, disposable: false });
    expect(args("staging", { engineVersion: "16.4" })).toMatchObject({
      multiAz: false,
      backupRetentionDays: 7,
      engineVersion: "16.4",
    });
    expect(args("local")).toMatchObject({ backupRetentionDays: 1, disposable: true });
  });

  it("refuses storage ceilings below the allocation and backups off in production, naming the keys", () => {
    expect(issues("staging", { allocatedStorageGb: 200, maxAllocatedStorageGb: 100 })).toEqual([
      { key: "stackport:database.aws.maxAllocatedStorageGb", message: "must be at least allocatedStorageGb" },
    ]);
    expect(issues("staging", { backupRetentionDays: 36 })).toEqual([
      {
        key: "stackport:database.aws.backupRetentionDays",
        message: "must be a whole number of days from 0 to 35",
      },
    ]);
    expect(issues("production", { backupRetentionDays: 0 })).toEqual([
      { key: "stackport:database.aws.backupRetentionDays", message: expect.stringContaining("1–35") },
    ]);
  });
});

describe("RDS monitoring: Performance Insights, Enhanced Monitoring, max_connections", () => {
  it("Performance Insights keeps the configured retention; Enhanced Monitoring gets its own role", async () => {
    const { recorder } = await rds("production", {
      aws: { performanceInsightsRetentionDays: 31, enhancedMonitoringSeconds: 60 },
    });
    const instance = one(recorder, "database-instance");
    expect(instance.inputs).toMatchObject({
      performanceInsightsEnabled: true,
      performanceInsightsRetentionPeriod: 31,
      monitoringInterval: 60,
      monitoringRoleArn: "arn:aws:iam::123456789012:role/database-monitoring-role",
    });
    const role = one(recorder, "database-monitoring-role");
    expect(JSON.parse(role.inputs["assumeRolePolicy"] as string).Statement[0].Principal).toEqual({
      Service: "monitoring.rds.amazonaws.com",
    });
    expect(one(recorder, "database-monitoring-policy").inputs["policyArn"]).toBe(
      "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    );
  });

  it("without Enhanced Monitoring there is no role and no interval (the default plan stays as it was)", async () => {
    const { recorder } = await rds("production");
    expect(recorder.resources.map((r) => r.name)).not.toContain("database-monitoring-role");
    expect(one(recorder, "database-instance").inputs).not.toHaveProperty("monitoringInterval");
    expect(one(recorder, "database-instance").inputs["performanceInsightsRetentionPeriod"]).toBe(7);
  });

  it("maxConnections goes into the parameter group (at the next reboot) and the connections alarm", async () => {
    const { recorder, result } = await rds("staging", { aws: { maxConnections: 300 } });
    expect(one(recorder, "database-parameters").inputs["parameters"]).toContainEqual({
      name: "max_connections",
      value: "300",
      applyMethod: "pending-reboot",
    });
    expect(result.metrics.maxConnections).toBe(300);
  });

  it("refuses retention and intervals RDS does not take, naming the keys", () => {
    const problems = (aws: Record<string, unknown>) => {
      try {
        databaseConfig("staging", { aws });
        return [];
      } catch (e) {
        if (!isConfigError(e)) throw e;
        return e.issues.map((i) => i.key);
      }
    };
    expect(
      problems({ performanceInsightsRetentionDays: 30, enhancedMonitoringSeconds: 2, maxConnections: 1 }),
    ).toEqual([
      "stackport:database.aws.performanceInsightsRetentionDays",
      "stackport:database.aws.enhancedMonitoringSeconds",
      "stackport:database.aws.maxConnections",
    ]);
  });

  it("extra databases get a secret per role, connecting to their own database", async () => {
    const { recorder, result } = await record(() => {
      const placement = new AwsTarget("cloud", { region: "eu-west-1" }).placement;
      return new RdsDatabase("database", { placement, databases: { events: {} } });
    });
    expect(one(recorder, "database-events-writer-secret").inputs["name"]).toBe(
      "stackport/test/database/events_writer",
    );
    const url = await valueOf(result.connection.databases!["events"]!.reader.url);
    expect(url).toMatch(/^postgresql:\/\/events_reader:.*\/events\?sslmode=require$/);
    const run = one(recorder, "database-bootstrap-run");
    expect(JSON.stringify(run.inputs)).not.toContain("mock-password");
  });
});
