import * as aws from "../shared/aws";
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Environment, ResolvedDatabase, Safety } from "../../src/config";
import type { AwsDatabaseSettings } from "../../src/config/tiers/aws";
import type { AwsPlacement } from "../targets/awsPlacement";
import { awsName } from "../targets/aws";
import { type Transform, statefulOptions, transformed } from "../shared/component";
import { standardLabels } from "../shared/labels";
import { MONITORING_ROLE, bootstrapRoles } from "./bootstrapSql";
import { DATABASE_ROLES, type DatabaseConnection, type DatabaseRole, type RoleConnection } from "./contract";
import { type RdsBootstrap, createRdsBootstrap } from "./rdsBootstrap";

export interface RdsDatabaseArgs {
  /** The resolved `stackport:database` settings (`name` is the database; `image` runs the bootstrap's psql). */
  config: ResolvedDatabase;
  /** `stackport:database.aws`. Changing `engineVersion`'s major replaces the parameter group (an in-place upgrade). */
  aws: AwsDatabaseSettings;
  placement: AwsPlacement;
  /** Protect/retain settings for the instance. */
  safety: Safety;
  /** Outside `local`: deletion protection and a final snapshot. */
  environment: Environment;
  /** Retention of the bootstrap task's log group. @default 30 */
  logRetentionDays?: number;
  /** The role the target's provider assumes (`stackport:targets.<name>.assumeRoleArn`), for the bootstrap's CLI calls. */
  assumeRoleArn?: string;
  /** Per-child escape hatches. @default none */
  transform?: {
    parameterGroup?: Transform<aws.rds.ParameterGroupArgs>;
    instance?: Transform<aws.rds.InstanceArgs>;
    bootstrapTask?: Transform<aws.ecs.TaskDefinitionArgs>;
    bootstrapRun?: Transform<command.local.CommandArgs>;
  };
}

export const RDS_PORT = 5432;
/** The RDS master user: `rds_superuser`, not a superuser; its password lives only in the RDS-managed secret. */
export const MASTER_USERNAME = "stackport_master";

/**
 * PostgreSQL on RDS, exposing the same `DatabaseConnection` as the PostGIS container. In private subnets behind the
 * `database` security group (5432 from the services group only); encrypted; `rds.force_ssl`; slow queries logged;
 * multi-AZ and 7-day backups by default in production; deletion protection and a final snapshot outside `local`;
 * the master password managed by RDS in Secrets Manager (never in state). Role passwords come from
 * `@pulumi/random` and are stored in Secrets Manager for tasks to inject; the bootstrap SQL is the Docker tier's,
 * run by a one-off ECS task (see rdsBootstrap.ts).
 */
export class RdsDatabase extends pulumi.ComponentResource {
  readonly connection: DatabaseConnection;
  /** How the `monitoring` role connects; only when `monitoringUser` is enabled. */
  readonly monitoring?: RoleConnection;
  /** Secret ARN per role: inject `${arn}:password::` into task definitions instead of plain-text passwords. */
  readonly roleSecretArns: Record<string, pulumi.Output<string>>;
  /** What the CloudWatch alarms need. */
  readonly metrics: {
    instanceIdentifier: pulumi.Output<string>;
    allocatedStorageGb: number;
    instanceClass: string;
  };
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
    super("stackport:aws:Database", name, { config: args.config, aws: args.aws }, opts);
    const { config, aws: settings, placement, safety, environment, transform } = args;
    const child = { parent: this, provider: placement.provider };
    const tags = standardLabels("database");
    const local = environment === "local";
    const identifier = awsName(["database"]);

    const subnetGroup = new aws.rds.SubnetGroup(
      `${name}-subnets`,
      { description: "stackport database: private subnets", subnetIds: placement.privateSubnetIds, tags },
      child,
    );
    // Auto-named: a major upgrade creates the new family's group before the old one is deleted.
    const [pgArgs, pgOpts] = transformed<aws.rds.ParameterGroupArgs>(
      transform?.parameterGroup,
      {
        family: `postgres${settings.major}`,
        description: `stackport database parameters (PostgreSQL ${settings.major})`,
        parameters: [
          { name: "rds.force_ssl", value: "1", applyMethod: "pending-reboot" },
          { name: "log_min_duration_statement", value: "500", applyMethod: "immediate" },
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

    const [instanceArgs, instanceOpts] = transformed<aws.rds.InstanceArgs>(
      transform?.instance,
      {
        identifier,
        engine: "postgres",
        engineVersion: settings.engineVersion,
        autoMinorVersionUpgrade: true,
        // Stay on community support: extended support is billed per vCPU-hour once a major reaches end of life.
        engineLifecycleSupport: "open-source-rds-extended-support-disabled",
        instanceClass: settings.instanceClass,
        allocatedStorage: settings.allocatedStorageGb,
        maxAllocatedStorage: settings.maxAllocatedStorageGb,
        storageType: "gp3",
        storageEncrypted: true,
        dbName: config.name,
        username: MASTER_USERNAME,
        manageMasterUserPassword: true,
        port: RDS_PORT,
        dbSubnetGroupName: subnetGroup.name,
        parameterGroupName: parameterGroup.name,
        vpcSecurityGroupIds: [placement.securityGroups.database],
        publiclyAccessible: false,
        multiAz: settings.multiAz,
        backupRetentionPeriod: settings.backupRetentionDays,
        deletionProtection: !local,
        skipFinalSnapshot: local,
        // Stable, so the snapshot is easy to find; a second destroy after a restore needs it renamed (transform).
        ...(!local && { finalSnapshotIdentifier: `${identifier}-final` }),
        // Keep automated backups after the instance is gone wherever the data matters.
        deleteAutomatedBackups: local,
        copyTagsToSnapshot: true,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        performanceInsightsEnabled: settings.performanceInsights,
        ...(settings.performanceInsights && { performanceInsightsRetentionPeriod: 7 }),
        tags,
      },
      statefulOptions(this, safety, { provider: placement.provider }),
    );
    const instance = new aws.rds.Instance(`${name}-instance`, instanceArgs, instanceOpts);

    // Alphanumeric only: the passwords go into URLs and psql -v arguments unescaped.
    const roles = bootstrapRoles(config.monitoringUser);
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
                dbname: config.name,
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
      config,
      placement,
      instance,
      masterUsername: MASTER_USERNAME,
      roleSecrets: secrets,
      image: config.image,
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
      return {
        host: instance.address,
        port: pulumi.output(RDS_PORT),
        database: pulumi.output(config.name),
        user,
        password: pulumi.secret(pw),
        url: pulumi.secret(
          pulumi.interpolate`postgresql://${user}:${pw}@${instance.address}:${RDS_PORT}/${config.name}?sslmode=require`,
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
      allocatedStorageGb: settings.allocatedStorageGb,
      instanceClass: settings.instanceClass,
    };
    this.connection = {
      roles: Object.fromEntries(DATABASE_ROLES.map((role) => [role, roleConnection(role)])) as Record<
        DatabaseRole,
        RoleConnection
      >,
    };
    if (config.monitoringUser) this.monitoring = roleConnection(MONITORING_ROLE);
    this.registerOutputs({ host: instance.address, port: RDS_PORT, database: config.name, identifier });
  }
}
