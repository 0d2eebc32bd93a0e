import * as aws from "../shared/aws";
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { type StatefulSafety, type Transform, statefulOptions, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import { standardLabels } from "../shared/labels";
import type { AwsPlacement } from "../shared/placement";
import { arnPartition, awsName } from "../shared/awsNames";
import type { DatabaseAlarmInputs } from "../observability/contract";
import { MONITORING_ROLE, bootstrapRoles } from "./bootstrapSql";
import {
  DATABASE_ACCESS_ROLES,
  DATABASE_ROLES,
  type DatabaseAccessRole,
  type DatabaseConnection,
  type DatabaseRole,
  type RoleConnection,
  databaseRoleName,
} from "./contract";
import { type RdsBootstrap, createRdsBootstrap } from "./rdsBootstrap";
import {
  type DatabaseBootstrapArgs,
  DEFAULT_DATABASE,
  DEFAULT_POSTGIS_IMAGE,
  RDS_DATABASE_DEFAULTS,
  engineMajor,
  validateRdsDatabaseArgs,
} from "./settings";

export interface RdsDatabaseArgs extends DatabaseBootstrapArgs {
  /** The AWS target: the instance goes into its private subnets behind its `database` security group. */
  placement: AwsPlacement;
  /** The application database, created and bootstrapped. Changing it replaces the instance. @default "platform" */
  database?: string;
  /** A major (`17`, minor upgrades automatic) or `major.minor`. A major change upgrades in place. @default "17" */
  engineVersion?: string;
  /** The RDS instance class; a change is applied in place at the next maintenance window (a reboot, or a failover when multi-AZ). @default "db.t4g.medium" */
  instanceClass?: string;
  /** Storage at creation, in GB (gp3); it grows on its own up to `maxAllocatedStorageGb`. @default 20 */
  allocatedStorageGb?: number;
  /** Storage autoscaling ceiling, at least `allocatedStorageGb`. @default 100 */
  maxAllocatedStorageGb?: number;
  /** A standby in a second AZ with automatic failover. @default false */
  multiAz?: boolean;
  /** Days of automated backups, 0 to 35 (0 turns them off). @default 7 */
  backupRetentionDays?: number;
  /** Performance Insights (query load by wait event and statement); turning it on or off is an in-place change. @default false */
  performanceInsights?: boolean;
  /** Days Performance Insights keeps its data: 7 (the free tier) or a multiple of 31 up to 731. @default 7 */
  performanceInsightsRetentionDays?: number;
  /**
   * Enhanced Monitoring: OS metrics every N seconds (1, 5, 10, 15, 30 or 60) through an IAM role RDS assumes; 0 is
   * off. An in-place change. @default 0
   */
  enhancedMonitoringSeconds?: number;
  /**
   * `max_connections` in the parameter group (applied at the next reboot), and what the connections alarm compares
   * with. @default RDS's own, estimated from the instance class's memory
   */
  maxConnections?: number;
  /** Create a `monitoring` role with `pg_monitor`. @default false */
  monitoringUser?: boolean;
  /**
   * A throwaway database (experiments, CI): no deletion protection, no final snapshot, automated backups deleted
   * with the instance, role secrets deleted at once. Keep it off wherever the data matters.
   * @default false
   */
  disposable?: boolean;
  /** The image whose `psql` runs the bootstrap task. @default "postgis/postgis:17-3.5" */
  clientImage?: string;
  /** Retention of the bootstrap task's log group, in days. @default 30 */
  logRetentionDays?: number;
  /** The role the target's provider assumes, for the bootstrap's AWS CLI calls. @default the caller's credentials */
  assumeRoleArn?: string;
  /** `protect` / `retainOnDelete` of the instance. @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** Per-child escape hatches. @default none */
  transform?: {
    parameterGroup?: Transform<aws.rds.ParameterGroupArgs>;
    instance?: Transform<aws.rds.InstanceArgs>;
    bootstrapTask?: Transform<aws.ecs.TaskDefinitionArgs>;
    bootstrapRun?: Transform<command.local.CommandArgs>;
  };
  /**
   * An existing RDS instance to manage instead of creating one: Pulumi `import`s it by identifier (the plan shows an
   * import, never a create). Every input this component sets must match the instance (class, engine version, storage,
   * subnet group, security group, parameter group, master user settings…) or the import fails: `pulumi preview` names
   * each difference. The subnet group, parameter group and security-group rule are this component's own, so an
   * instance is adoptable once it runs in the target's VPC with them (docs/runbooks/cutover-s3-to-minio.md, "Adopting").
   * @default none: the instance is created
   */
  adopt?: { dbInstanceIdentifier: string };
}

export const RDS_PORT = 5432;
/** The RDS master user: `rds_superuser`, not a superuser; its password lives only in the RDS-managed secret. */
export const MASTER_USERNAME = "stackport_master";

/**
 * PostgreSQL on RDS, exposing the same `DatabaseConnection` as the PostGIS container. In private subnets behind the
 * `database` security group (5432 from the services group only); encrypted; `rds.force_ssl`; slow queries logged;
 * deletion protection and a final snapshot unless `disposable`; the master password managed by RDS in Secrets
 * Manager (never in state). Role passwords come from `@pulumi/random` and are stored in Secrets Manager for tasks
 * to inject; the bootstrap SQL is the Docker tier's, run by a one-off ECS task (see rdsBootstrap.ts).
 * @example
 * const db = new RdsDatabase("database", { placement: cloud.placement, multiAz: true, instanceClass: "db.m7g.large" });
 */
export class RdsDatabase extends pulumi.ComponentResource {
  readonly connection: DatabaseConnection;
  /** How the `monitoring` role connects; only when `monitoringUser` is enabled. */
  readonly monitoring?: RoleConnection;
  /** Secret ARN per role: inject `${arn}:password::` into task definitions instead of plain-text passwords. */
  readonly roleSecretArns: Record<string, pulumi.Output<string>>;
  /** What the CloudWatch alarms need (`CloudWatchObservability`'s `database`). */
  readonly metrics: DatabaseAlarmInputs;
  readonly nodes: {
    subnetGroup: aws.rds.SubnetGroup;
    parameterGroup: aws.rds.ParameterGroup;
    instance: aws.rds.Instance;
    ingressFromServices: aws.vpc.SecurityGroupIngressRule;
    passwords: Record<string, random.RandomPassword>;
    secrets: Record<string, aws.secretsmanager.Secret>;
    bootstrap: RdsBootstrap;
  };

  constructor(name: string, args: RdsDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs(`stackport:aws:Database '${name}'`, validateRdsDatabaseArgs(args));
    const d = RDS_DATABASE_DEFAULTS;
    const config = {
      database: args.database ?? DEFAULT_DATABASE,
      engineVersion: args.engineVersion ?? d.engineVersion,
      instanceClass: args.instanceClass ?? d.instanceClass,
      allocatedStorageGb: args.allocatedStorageGb ?? d.allocatedStorageGb,
      maxAllocatedStorageGb: args.maxAllocatedStorageGb ?? d.maxAllocatedStorageGb,
      multiAz: args.multiAz ?? d.multiAz,
      backupRetentionDays: args.backupRetentionDays ?? d.backupRetentionDays,
      performanceInsights: args.performanceInsights ?? d.performanceInsights,
      performanceInsightsRetentionDays:
        args.performanceInsightsRetentionDays ?? d.performanceInsightsRetentionDays,
      enhancedMonitoringSeconds: args.enhancedMonitoringSeconds ?? d.enhancedMonitoringSeconds,
      ...(args.maxConnections !== undefined && { maxConnections: args.maxConnections }),
      monitoringUser: args.monitoringUser ?? false,
      disposable: args.disposable ?? false,
      clientImage: args.clientImage ?? DEFAULT_POSTGIS_IMAGE,
      safety: args.safety ?? { protect: true, retainOnDelete: true },
    };
    super("stackport:aws:Database", name, config, opts);
    const { placement, transform } = args;
    const { safety } = config;
    const child = { parent: this, provider: placement.provider };
    const tags = standardLabels("database");
    const local = config.disposable;
    const major = engineMajor(config.engineVersion);
    const identifier = args.adopt?.dbInstanceIdentifier ?? awsName(["database"]);

    const subnetGroup = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { description: "stackport database: private subnets", subnetIds: placement.privateSubnetIds, tags },
      child,
    );
    // Auto-named: a major upgrade creates the new family's group before the old one is deleted.
    const [pgArgs, pgOpts] = transformed<aws.rds.ParameterGroupArgs>(
      transform?.parameterGroup,
      {
        family: `postgres${major}`,
        description: `stackport database parameters (PostgreSQL ${major})`,
        parameters: [
          { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
          { name: "log_min_duration_statement", value: "500", applyMethod: "immediate" },
          ...(config.maxConnections !== undefined
            ? [
                {
                  name: "max_connections",
                  value: String(config.maxConnections),
                  applyMethod: "pending-reboot",
                },
              ]
            : []),
        ],
        tags,
      },
      { ...child },
    );
    const parameterGroup = new aws.rds.ParameterGroup(`${name}-parameters`, pgArgs, pgOpts);

    const ingressFromServices = new aws.vpc.SecurityGroupIngressRule(
      `${name}-from-services`,
      {
        securityGroupId: placement.securityGroups.database,
        referencedSecurityGroupId: placement.securityGroups.services,
        description: "PostgreSQL from the services",
        ipProtocol: "tcp",
        fromPort: RDS_PORT,
        toPort: RDS_PORT,
        tags,
      },
      child,
    );

    // Enhanced Monitoring: RDS publishes OS metrics to CloudWatch Logs through a role it assumes.
    const monitoringRole =
      config.enhancedMonitoringSeconds > 0 ? this.enhancedMonitoringRole(name, placement, tags) : undefined;

    const [instanceArgs, instanceOpts] = transformed<aws.rds.InstanceArgs>(
      transform?.instance,
      {
        identifier,
        engine: "postgres",
        engineVersion: config.engineVersion,
        autoMinorVersionUpgrade: true,
        // Stay on community support: extended support is billed per vCPU-hour once a major reaches end of life.
        engineLifecycleSupport: "open-source-rds-extended-support-disabled",
        instanceClass: config.instanceClass,
        allocatedStorage: config.allocatedStorageGb,
        maxAllocatedStorage: config.maxAllocatedStorageGb,
        storageType: "gp3",
        storageEncrypted: true,
        dbName: config.database,
        username: MASTER_USERNAME,
        manageMasterUserPassword: true,
        port: RDS_PORT,
        dbSubnetGroupName: subnetGroup.name,
        parameterGroupName: parameterGroup.name,
        vpcSecurityGroupIds: [placement.securityGroups.database],
        publiclyAccessible: false,
        multiAz: config.multiAz,
        backupRetentionPeriod: config.backupRetentionDays,
        deletionProtection: !local,
        skipFinalSnapshot: local,
        // Stable, so the snapshot is easy to find; a second destroy after a restore needs it renamed (transform).
        ...(!local && { finalSnapshotIdentifier: `${identifier}-final` }),
        // Keep automated backups after the instance is gone wherever the data matters.
        deleteAutomatedBackups: local,
        copyTagsToSnapshot: true,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        // Both in-place updates of aws.rds.Instance (neither forces a new instance).
        performanceInsightsEnabled: config.performanceInsights,
        ...(config.performanceInsights && {
          performanceInsightsRetentionPeriod: config.performanceInsightsRetentionDays,
        }),
        ...(monitoringRole && {
          monitoringInterval: config.enhancedMonitoringSeconds,
          monitoringRoleArn: monitoringRole.arn,
        }),
        tags,
      },
      statefulOptions(this, safety, {
        provider: placement.provider,
        ...(args.adopt && { import: args.adopt.dbInstanceIdentifier }),
      }),
    );
    const instance = new aws.rds.Instance(`${name}-instance`, instanceArgs, instanceOpts);

    // An extra database's roles connect to it; every other role to the application database.
    const extraOf = Object.fromEntries(
      Object.keys(args.databases ?? {}).flatMap((db) =>
        DATABASE_ACCESS_ROLES.map((r) => [databaseRoleName(db, r), db] as const),
      ),
    );
    const databaseOf = (role: string): string => extraOf[role] ?? config.database;
    // Alphanumeric only: the passwords go into URLs unescaped.
    const roles = bootstrapRoles({ monitoringUser: config.monitoringUser, databases: args.databases ?? {} });
    const passwords: Record<string, random.RandomPassword> = {};
    const secrets: Record<string, aws.secretsmanager.Secret> = {};
    const secretValues: aws.secretsmanager.SecretVersion[] = [];
    for (const role of roles) {
      const key = `${name}-${role.replace(/_/g, "-")}`;
      const password = new random.RandomPassword(
        `${key}-password`,
        { length: 40, special: false },
        { parent: this },
      );
      const secret = new aws.secretsmanager.Secret(
        `${key}-secret`,
        {
          name: `${pulumi.getProject()}/${pulumi.getStack()}/database/${role}`,
          description: `stackport database role ${role}: JSON {username, password, host, port, dbname}`,
          // In local, delete at once so a re-created stack can reuse the name; elsewhere keep a recovery window.
          recoveryWindowInDays: local ? 0 : 7,
          tags,
        },
        child,
      );
      secretValues.push(
        new aws.secretsmanager.SecretVersion(
          `${key}-secret-value`,
          {
            secretId: secret.id,
            secretString: pulumi.secret(
              pulumi.jsonStringify({
                username: role,
                password: password.result,
                host: instance.address,
                port: RDS_PORT,
                dbname: databaseOf(role),
                engine: "postgres",
              }),
            ),
          },
          child,
        ),
      );
      passwords[role] = password;
      secrets[role] = secret;
    }

    const bootstrap = createRdsBootstrap(`${name}-bootstrap`, this, {
      database: config.database,
      monitoringUser: config.monitoringUser,
      ...(args.extensions && { extensions: args.extensions }),
      ...(args.schemas && { schemas: args.schemas }),
      ...(args.databases && { databases: args.databases }),
      placement,
      instance,
      masterUsername: MASTER_USERNAME,
      roleSecrets: secrets,
      image: config.clientImage,
      logRetentionDays: args.logRetentionDays ?? 30,
      ...(args.assumeRoleArn && { assumeRoleArn: args.assumeRoleArn }),
      tags,
      dependsOn: [ingressFromServices, ...secretValues],
      transform: {
        ...(transform?.bootstrapTask && { taskDefinition: transform.bootstrapTask }),
        ...(transform?.bootstrapRun && { run: transform.bootstrapRun }),
      },
    });

    // User and URL wait for the bootstrap run, so a consumer of a role's connection also waits for the role.
    const bootstrapped = bootstrap.run.stdout.apply(() => true);
    const roleConnection = (role: string): RoleConnection => {
      const pw = passwords[role]!.result;
      const user = bootstrapped.apply(() => role);
      const database = databaseOf(role);
      return {
        host: instance.address,
        port: pulumi.output(RDS_PORT),
        database: pulumi.output(database),
        user,
        password: pulumi.secret(pw),
        url: pulumi.secret(
          pulumi.interpolate`postgresql://${user}:${pw}@${instance.address}:${RDS_PORT}/${database}?sslmode=require`,
        ),
      };
    };

    this.nodes = {
      subnetGroup,
      parameterGroup,
      instance,
      ingressFromServices,
      passwords,
      secrets,
      bootstrap,
    };
    this.roleSecretArns = Object.fromEntries(roles.map((r) => [r, secrets[r]!.arn]));
    this.metrics = {
      instanceIdentifier: instance.identifier,
      allocatedStorageGb: config.allocatedStorageGb,
      instanceClass: config.instanceClass,
      ...(config.maxConnections !== undefined && { maxConnections: config.maxConnections }),
    };
    this.connection = {
      roles: Object.fromEntries(DATABASE_ROLES.map((role) => [role, roleConnection(role)])) as Record<
        DatabaseRole,
        RoleConnection
      >,
      databases: Object.fromEntries(
        Object.keys(args.databases ?? {}).map((db) => [
          db,
          Object.fromEntries(
            DATABASE_ACCESS_ROLES.map((r) => [r, roleConnection(databaseRoleName(db, r))]),
          ) as Record<DatabaseAccessRole, RoleConnection>,
        ]),
      ),
    };
    if (config.monitoringUser) this.monitoring = roleConnection(MONITORING_ROLE);
    this.registerOutputs({ host: instance.address, port: RDS_PORT, database: config.database, identifier });
  }

  /** The role RDS assumes to publish Enhanced Monitoring metrics (AWS's managed policy for it). */
  private enhancedMonitoringRole(name: string, placement: AwsPlacement, tags: Record<string, string>) {
    const child = { parent: this, provider: placement.provider };
    const role = new aws.iam.Role(
      `${name}-monitoring-role`,
      {
        description: "RDS Enhanced Monitoring: publish the database's OS metrics to CloudWatch Logs",
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "monitoring.rds.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
        tags,
      },
      child,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-monitoring-policy`,
      {
        role: role.name,
        policyArn: `arn:${arnPartition(placement.region)}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole`,
      },
      child,
    );
    return role;
  }
}
