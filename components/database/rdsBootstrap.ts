/**
 * The database bootstrap on RDS. RDS sits in private subnets, so the same bootstrap script the Docker tier runs is
 * executed by a one-off ECS Fargate task inside the VPC, started from the machine running `pulumi up` with
 * `aws ecs run-task`, waited for, and checked for its exit code. The run-task script is pure text (tested with
 * shellcheck and against a fake `aws`); `createRdsBootstrap` registers the task definition, its roles and logs, and
 * the `local.Command` that runs it.
 */
import * as aws from "../shared/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { AwsPlacement } from "../shared/placement";
import { arnPartition, awsName } from "../shared/awsNames";
import { scriptHeader } from "../shared/shell";
import { type Transform, transformed } from "../shared/component";
import { type BootstrapSqlOptions, bootstrapRoles, passwordEnv, renderBootstrapScript } from "./bootstrapSql";

/** The container's name in the task definition (and in the awslogs stream prefix). */
export const BOOTSTRAP_CONTAINER = "bootstrap";
/** How many times `aws ecs wait tasks-stopped` (10 minutes each) is retried before giving up. */
const WAIT_ROUNDS = 3;

/**
 * Bootstrap options for RDS. The RDS master user is not a superuser (it has `rds_superuser`): `managedServer` leaves
 * out what only a superuser may do (`SET LOCAL log_statement`, `NOSUPERUSER NOREPLICATION NOBYPASSRLS`) and makes
 * the master a member of each owner role it hands schemas and databases to.
 */
export function rdsBootstrapOptions(
  args: Pick<BootstrapSqlOptions, "database" | "monitoringUser" | "extensions" | "schemas" | "databases">,
): BootstrapSqlOptions {
  return {
    database: args.database,
    monitoringUser: args.monitoringUser,
    ...(args.extensions?.length && { extensions: args.extensions }),
    ...(args.schemas && { schemas: args.schemas }),
    ...(args.databases && { databases: args.databases }),
    managedServer: true,
  };
}

/**
 * The script `local.Command` runs: start the task, wait for it to stop, fail unless its container exited 0.
 * Everything variable comes from the environment (CLUSTER, TASK_DEFINITION, SUBNETS, SECURITY_GROUP, AWS_REGION,
 * LOG_GROUP, optional ASSUME_ROLE_ARN), so the text never changes with resource ids.
 */
export function renderRunTaskScript(): string {
  const lines = [
    ': "${CLUSTER:?must be set}" "${TASK_DEFINITION:?must be set}" "${SUBNETS:?must be set}"',
    ': "${SECURITY_GROUP:?must be set}" "${AWS_REGION:?must be set}" "${LOG_GROUP:?must be set}"',
    'AWS_DEFAULT_REGION="$AWS_REGION"',
    "export AWS_REGION AWS_DEFAULT_REGION",
    "",
    "# The AWS provider may deploy through an assumed role; the CLI must act as the same principal.",
    'if [ -n "${ASSUME_ROLE_ARN:-}" ]; then',
    '  credentials=$(aws sts assume-role --role-arn "$ASSUME_ROLE_ARN" --role-session-name stackport-bootstrap \\',
    "    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)",
    "  AWS_ACCESS_KEY_ID=$(printf '%s' \"$credentials\" | cut -f1)",
    "  AWS_SECRET_ACCESS_KEY=$(printf '%s' \"$credentials\" | cut -f2)",
    "  AWS_SESSION_TOKEN=$(printf '%s' \"$credentials\" | cut -f3)",
    "  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN",
    "fi",
    "",
    'task=$(aws ecs run-task --cluster "$CLUSTER" --task-definition "$TASK_DEFINITION" \\',
    "  --launch-type FARGATE --count 1 --started-by stackport-bootstrap \\",
    '  --network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=DISABLED}" \\',
    "  --query 'tasks[0].taskArn' --output text)",
    'if [ -z "$task" ] || [ "$task" = "None" ]; then',
    '  echo "stackport: ECS did not start the database bootstrap task (see: aws ecs run-task failures)" >&2',
    "  exit 1",
    "fi",
    'echo "stackport: database bootstrap task $task started"',
    "",
    "rounds=0",
    'until aws ecs wait tasks-stopped --cluster "$CLUSTER" --tasks "$task"; do',
    "  rounds=$((rounds + 1))",
    `  if [ "$rounds" -ge ${WAIT_ROUNDS} ]; then`,
    `    echo "stackport: database bootstrap task $task still running after ${WAIT_ROUNDS * 10} minutes" >&2`,
    "    exit 1",
    "  fi",
    "done",
    "",
    'exit_code=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$task" \\',
    "  --query 'tasks[0].containers[0].exitCode' --output text)",
    'if [ "$exit_code" != "0" ]; then',
    '  reason=$(aws ecs describe-tasks --cluster "$CLUSTER" --tasks "$task" \\',
    "    --query 'tasks[0].stoppedReason' --output text)",
    '  echo "stackport: database bootstrap failed (exit code $exit_code, $reason)" >&2',
    '  echo "stackport: its log: aws logs tail $LOG_GROUP --since 1h" >&2',
    "  exit 1",
    "fi",
    'echo "stackport: database bootstrap complete"',
    "",
  ];
  return (
    scriptHeader("run the database bootstrap as a one-off ECS task and check its exit code") +
    lines.join("\n")
  );
}

export interface RdsBootstrapArgs extends Pick<BootstrapSqlOptions, "extensions" | "schemas" | "databases"> {
  /** The application database. */
  database: string;
  /** Create the `monitoring` role too. */
  monitoringUser: boolean;
  placement: AwsPlacement;
  instance: aws.rds.Instance;
  masterUsername: string;
  /** Secrets Manager secret per bootstrap role, each a JSON document with a `password` key. */
  roleSecrets: Record<string, aws.secretsmanager.Secret>;
  /** The PostgreSQL client image (the tier's PostGIS image ships psql). */
  image: string;
  logRetentionDays: number;
  assumeRoleArn?: string;
  tags: Record<string, string>;
  /** Resources the run must wait for (the database's ingress rule). */
  dependsOn: pulumi.Resource[];
  transform?: {
    taskDefinition?: Transform<aws.ecs.TaskDefinitionArgs>;
    run?: Transform<command.local.CommandArgs>;
  };
}

export interface RdsBootstrap {
  logGroup: aws.cloudwatch.LogGroup;
  executionRole: aws.iam.Role;
  taskDefinition: aws.ecs.TaskDefinition;
  run: command.local.Command;
}

/** Registers the bootstrap task and its one-shot run. Children are named `${name}-<role>` under `parent`. */
export function createRdsBootstrap(
  name: string,
  parent: pulumi.Resource,
  args: RdsBootstrapArgs,
): RdsBootstrap {
  const { placement, instance, tags } = args;
  const child = { parent, provider: placement.provider };
  const script = renderBootstrapScript(rdsBootstrapOptions(args));
  const roles = bootstrapRoles(args);

  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    {
      name: `/stackport/${pulumi.getStack()}/database-bootstrap`,
      retentionInDays: args.logRetentionDays,
      tags,
    },
    child,
  );

  // The RDS-managed master secret; present once the instance exists (unknown in preview).
  const masterSecretArn = instance.masterUserSecrets.apply((s) => s?.[0]?.secretArn);
  const secretArns = [masterSecretArn, ...roles.map((r) => args.roleSecrets[r]!.arn)];

  const executionRole = new aws.iam.Role(
    `${name}-execution`,
    {
      description: "ECS execution role of the database bootstrap task: pull the image, read its secrets, log",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
      tags,
    },
    child,
  );
  new aws.iam.RolePolicyAttachment(
    `${name}-execution-managed`,
    {
      role: executionRole.name,
      policyArn: `arn:${arnPartition(placement.region)}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy`,
    },
    child,
  );
  const secretsPolicy = new aws.iam.RolePolicy(
    `${name}-execution-secrets`,
    {
      role: executionRole.id,
      policy: pulumi.jsonStringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArns }],
      }),
    },
    child,
  );

  const containerDefinitions = pulumi.jsonStringify([
    {
      name: BOOTSTRAP_CONTAINER,
      image: args.image,
      essential: true,
      entryPoint: ["/bin/sh", "-c"],
      command: [script],
      environment: [
        { name: "PGHOST", value: instance.address },
        { name: "PGPORT", value: "5432" },
        { name: "PGDATABASE", value: args.database },
        { name: "PGUSER", value: args.masterUsername },
        // rds.force_ssl is on; the image has no RDS CA bundle, so verify-full is not possible here.
        { name: "PGSSLMODE", value: "require" },
      ],
      // Passwords are injected by ECS from Secrets Manager at start: never in the task definition, and the script
      // hands them to psql through the environment (\getenv; the client image's psql is 15 or later), never as
      // arguments.
      secrets: [
        { name: "PGPASSWORD", valueFrom: pulumi.interpolate`${masterSecretArn}:password::` },
        ...roles.map((r) => ({
          name: passwordEnv(r),
          valueFrom: pulumi.interpolate`${args.roleSecrets[r]!.arn}:password::`,
        })),
      ],
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": logGroup.name,
          "awslogs-region": placement.region,
          "awslogs-stream-prefix": BOOTSTRAP_CONTAINER,
        },
      },
    },
  ]);
  const [taskArgs, taskOpts] = transformed<aws.ecs.TaskDefinitionArgs>(
    args.transform?.taskDefinition,
    {
      family: awsName(["database-bootstrap"], 255),
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      // postgis/postgis is published for amd64 only.
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      executionRoleArn: executionRole.arn,
      containerDefinitions,
      tags,
    },
    { ...child },
  );
  const taskDefinition = new aws.ecs.TaskDefinition(`${name}-task`, taskArgs, taskOpts);

  const runScript = renderRunTaskScript();
  const [runArgs, runOpts] = transformed<command.local.CommandArgs>(
    args.transform?.run,
    {
      create: runScript,
      environment: {
        CLUSTER: placement.cluster.name,
        TASK_DEFINITION: taskDefinition.arn,
        SUBNETS: pulumi.all(placement.privateSubnetIds).apply((ids) => ids.join(",")),
        SECURITY_GROUP: placement.securityGroups.services,
        AWS_REGION: placement.region,
        LOG_GROUP: logGroup.name,
        ...(args.assumeRoleArn && { ASSUME_ROLE_ARN: args.assumeRoleArn }),
      },
      // Re-run (replace) only when what the task does changes; a new task definition revision with the same SQL
      // (e.g. a rotated secret ARN) re-runs through the `environment` change, which is harmless: the SQL is idempotent.
      triggers: [createHash("sha256").update(script).digest("hex")],
      logging: "stdoutAndStderr",
    },
    { parent, dependsOn: [instance, secretsPolicy, ...args.dependsOn] },
  );
  const run = new command.local.Command(`${name}-run`, runArgs, runOpts);
  return { logGroup, executionRole, taskDefinition, run };
}
