import * as aws from "./aws";
import * as pulumi from "@pulumi/pulumi";
import { type AlarmSpec, type ServiceAlarmInputs, serviceAlarmSpecs } from "../observability/contract";
import { type BucketGrant, bucketAccessPolicy } from "../storage/contract";
import { arnPartition, awsName } from "./awsNames";
import { type Transform, transformed } from "./component";
import {
  type PortMappingSpec,
  type SecretRef,
  assumeRolePolicy,
  efsClientPolicy,
  referencedSecretArns,
  renderContainerDefinitions,
  runTaskPolicy,
  secretsReadPolicy,
} from "./containerDefinitions";
import { assertValidArgs } from "./errors";
import {
  type FargateSizingArgs,
  ecrTag,
  resolveFargateSizing,
  validateFargateServiceArgs,
} from "./fargateSizing";
import { standardLabels } from "./labels";
import { physicalName } from "./naming";
import type { AwsPlacement } from "./placement";

/** The target group a routed service registers its tasks in (made by the ALB proxy). */
export interface AttachedTargetGroup {
  arn: pulumi.Input<string>;
  /** `targetgroup/<name>/<id>`, the CloudWatch dimension. */
  arnSuffix: pulumi.Input<string>;
  /** `app/<name>/<id>` of the load balancer, the CloudWatch dimension. */
  loadBalancerArnSuffix: pulumi.Input<string>;
}

/** A secret reference whose ARN and version may be outputs. */
export interface SecretRefArgs {
  secretArn: pulumi.Input<string>;
  jsonKey?: string;
  versionId?: pulumi.Input<string>;
}

/** A published port and the Network Load Balancer target group the tasks register in for it. */
export interface PublishedTargetPort extends PortMappingSpec {
  targetGroupArn: pulumi.Input<string>;
}

/** An EFS access point mounted into the container. */
export interface EfsMount {
  fileSystemId: pulumi.Input<string>;
  fileSystemArn: pulumi.Input<string>;
  accessPointId: pulumi.Input<string>;
  accessPointArn: pulumi.Input<string>;
  /** Absolute path in the container. */
  path: string;
}

/** What a service does in its Service Connect namespace. */
export interface ServiceConnectArgs {
  /** The Cloud Map namespace's ARN (the target's, `AwsPlacement.serviceConnect`). */
  namespace: pulumi.Input<string>;
  /** Ports it serves, each under `dnsName:port` (TCP; the port mapping is named `portName`). @default none: client only */
  servers?: { portName: string; port: number; dnsName: string }[];
}

export interface FargateServiceArgs {
  /** Tier the service belongs to (`ingestion`, `basemap`): log group path, task family, tags. */
  tier: string;
  /** The service's stable key (`api`, `worker`, `martin`): container name, log stream prefix, ECS service name. */
  service: string;
  /** The AWS target: tasks run in its private subnets, in its cluster, behind its `services` security group. */
  placement: AwsPlacement;
  /** Task size and count, or a schedule. @default 256 CPU units, 512 MiB, 1–2 tasks */
  sizing?: FargateSizingArgs;
  container: {
    /**
     * `name:tag` or a full registry reference. With `sizing.ecrRepository` it must be `name:tag` (no registry): the
     * task runs `<created repository>:<tag>`, which CI pushes.
     */
    image: string;
    entryPoint?: string[];
    command?: string[];
    port?: number;
    /** Plain configuration (values may be outputs, e.g. bucket names). Secret-looking names are refused. */
    environment?: Record<string, pulumi.Input<string>>;
    /** Path the container health check and the target group probe. */
    healthPath?: string;
    /** Health check command (Docker/ECS form) replacing the `healthPath` probe in the container. */
    healthCommand?: string[];
  };
  /**
   * Ports published through a Network Load Balancer: each gets a container port mapping and registers the tasks in
   * its target group (ip targets). @default []
   */
  publishedPorts?: PublishedTargetPort[];
  /**
   * A directory of its own on EFS: the access point's volume mounted at `path`, over TLS with IAM authorization; the
   * task role may mount and write through this access point only. @default none
   */
  data?: EfsMount;
  /**
   * ECS Service Connect: the task joins `namespace` as a client (other services' aliases resolve in it) and serves
   * each of `servers` under its alias (`redpanda:9092`). Long-running services only: a scheduled task started by
   * EventBridge cannot join Service Connect (it is configured on ECS services), so it is refused here. @default none
   */
  serviceConnect?: ServiceConnectArgs;
  /**
   * Secret values this service needs that exist only as Pulumi secrets (a role's `DATABASE_URL`, the broker URL):
   * stored as one JSON secret in Secrets Manager owned by this service, injected by key.
   * @default {}
   */
  secretValues?: Record<string, pulumi.Input<string>>;
  /**
   * Variables injected from secrets that already exist (e.g. an RDS-managed secret's `password` key, an application
   * secret pinned to its `versionId` so a new value rolls the service). @default {}
   */
  secretRefs?: Record<string, SecretRefArgs>;
  /** Buckets the task role may use (ARN and access), by bucket key. No static keys exist. @default {} */
  buckets?: Record<string, { arn: pulumi.Input<string>; access: BucketGrant["access"] }>;
  /** Register tasks in this target group (routed services). @default not routed */
  targetGroup?: AttachedTargetGroup;
  /** @default 30 */
  logRetentionDays?: number;
  /** How many images the ECR lifecycle policy keeps. @default 20 */
  keepImages?: number;
  /** Per-child escape hatches. @default none */
  transform?: {
    taskDefinition?: Transform<aws.ecs.TaskDefinitionArgs>;
    /** `ignoreChanges` on `desiredCount` is added under autoscaling; keep it if you transform the options. */
    service?: Transform<aws.ecs.ServiceArgs>;
    logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
  };
}

/**
 * One container on ECS Fargate — the building block of every ingestion service and of Martin. Creates the log
 * group (`/stackport/<stack>/<tier>/<service>`), optionally an ECR repository, the execution role (ECR pull, logs,
 * and `GetSecretValue` on exactly the referenced secrets), the task role (only the declared buckets), the task
 * definition, and then either an ECS service in private subnets (no public IP, circuit breaker with rollback,
 * CPU target-tracking autoscaling, optional target group) or — with `schedule` — an EventBridge rule that runs the
 * task. Optionally: published ports registered in Network Load Balancer target groups, an EFS data directory (one
 * task, and a deployment stops the old task before starting the new one), and ECS Service Connect.
 */
export class FargateService extends pulumi.ComponentResource {
  readonly logGroupName: string;
  /** Set for services (not for scheduled tasks). */
  readonly alarmInputs?: ServiceAlarmInputs;
  readonly alarmSpecs: AlarmSpec[];
  readonly nodes: {
    logGroup: aws.cloudwatch.LogGroup;
    repository?: aws.ecr.Repository;
    secret?: aws.secretsmanager.Secret;
    executionRole: aws.iam.Role;
    taskRole: aws.iam.Role;
    taskDefinition: aws.ecs.TaskDefinition;
    service?: aws.ecs.Service;
    scalingTarget?: aws.appautoscaling.Target;
    scalingPolicy?: aws.appautoscaling.Policy;
    schedule?: aws.cloudwatch.EventRule;
    scheduleTarget?: aws.cloudwatch.EventTarget;
  };

  constructor(name: string, args: FargateServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs(`stackport:aws:Service '${name}'`, validateFargateServiceArgs(args));
    const { placement, container, tier, service } = args;
    const sizing = sizingOf(args);
    const tag = sizing.ecrRepository ? ecrTag(container.image) : undefined;

    super("stackport:aws:Service", name, { tier, service, sizing }, opts);
    const provider = placement.provider;
    const child = { parent: this, provider };
    const tags = { ...standardLabels(tier), "stackport.service": service };
    const stack = pulumi.getStack();

    this.logGroupName = `/stackport/${stack}/${tier}/${service}`;
    const [logArgs, logOpts] = transformed<aws.cloudwatch.LogGroupArgs>(
      args.transform?.logGroup,
      { name: this.logGroupName, retentionInDays: args.logRetentionDays ?? 30, tags },
      { ...child },
    );
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, logArgs, logOpts);

    let image: pulumi.Input<string> = container.image;
    let repository: aws.ecr.Repository | undefined;
    if (tag !== undefined) {
      repository = new aws.ecr.Repository(
        `${name}-repository`,
        {
          name: awsName([tier, service], 256),
          imageScanningConfiguration: { scanOnPush: true },
          // A pushed tag never changes meaning: a task definition revision always runs the image it was made with.
          imageTagMutability: "IMMUTABLE",
          tags,
        },
        child,
      );
      new aws.ecr.LifecyclePolicy(
        `${name}-repository-lifecycle`,
        { repository: repository.name, policy: keepNewestImages(args.keepImages ?? 20) },
        child,
      );
      image = pulumi.interpolate`${repository.repositoryUrl}:${tag}`;
    }

    // Secret values live in one Secrets Manager secret per service (JSON, one key per variable): ECS cannot
    // assemble a DATABASE_URL from parts, and the values must never enter the task definition.
    let secret: aws.secretsmanager.Secret | undefined;
    const refs: Record<string, SecretRefArgs> = { ...args.secretRefs };
    const values = args.secretValues ?? {};
    if (Object.keys(values).length > 0) {
      secret = new aws.secretsmanager.Secret(
        `${name}-secret`,
        { description: `stackport ${stack} ${tier}/${service}: connection URLs`, tags },
        child,
      );
      new aws.secretsmanager.SecretVersion(
        `${name}-secret-value`,
        { secretId: secret.id, secretString: pulumi.secret(pulumi.jsonStringify(values)) },
        child,
      );
      for (const key of Object.keys(values)) refs[key] = { secretArn: secret.arn, jsonKey: key };
    }
    const resolvedRefs = resolveRefs(refs);

    const executionRole = new aws.iam.Role(
      `${name}-execution-role`,
      { assumeRolePolicy: assumeRolePolicy("ecs-tasks.amazonaws.com"), tags },
      child,
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-execution-role-managed`,
      {
        role: executionRole.name,
        policyArn: `arn:${arnPartition(placement.region)}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy`,
      },
      child,
    );
    if (Object.keys(refs).length > 0) {
      new aws.iam.RolePolicy(
        `${name}-execution-role-secrets`,
        {
          role: executionRole.id,
          policy: resolvedRefs.apply((r) => JSON.stringify(secretsReadPolicy(referencedSecretArns(r)))),
        },
        child,
      );
    }

    const taskRole = new aws.iam.Role(
      `${name}-task-role`,
      { assumeRolePolicy: assumeRolePolicy("ecs-tasks.amazonaws.com"), tags },
      child,
    );
    const buckets = Object.entries(args.buckets ?? {}).sort(([a], [b]) => a.localeCompare(b));
    if (args.data) {
      const { fileSystemArn, accessPointArn } = args.data;
      new aws.iam.RolePolicy(
        `${name}-task-role-data`,
        {
          role: taskRole.id,
          policy: pulumi
            .all([fileSystemArn, accessPointArn])
            .apply(([fs, ap]) => JSON.stringify(efsClientPolicy(fs, ap))),
        },
        child,
      );
    }
    if (buckets.length > 0) {
      new aws.iam.RolePolicy(
        `${name}-task-role-buckets`,
        {
          role: taskRole.id,
          policy: pulumi
            .all(buckets.map(([, b]) => b.arn))
            .apply((arns) =>
              JSON.stringify(
                bucketAccessPolicy(arns.map((arn, i) => ({ arn, access: buckets[i]![1].access }))),
              ),
            ),
        },
        child,
      );
    }

    // Service Connect servers refer to named port mappings; published ports add their own mappings.
    const servers = args.serviceConnect?.servers ?? [];
    const nameOf = (port: number, protocol: string) =>
      protocol === "tcp" ? servers.find((x) => x.port === port)?.portName : undefined;
    const portName = container.port !== undefined ? nameOf(container.port, "tcp") : undefined;
    const ports: PortMappingSpec[] = [
      ...(args.publishedPorts ?? []).map(({ port, protocol }) => ({ port, protocol })),
      ...servers.map(({ port }) => ({ port, protocol: "tcp" as const })),
    ].map((p) => {
      const n = nameOf(p.port, p.protocol);
      return { ...p, ...(n !== undefined && { name: n }) };
    });
    const environment = pulumi.all(container.environment ?? {});
    const containerDefinitions = pulumi.all([image, environment, resolvedRefs]).apply(([img, env, secrets]) =>
      renderContainerDefinitions({
        name: service,
        image: img,
        ...(container.entryPoint && { entryPoint: container.entryPoint }),
        ...(container.command && { command: container.command }),
        ...(container.healthCommand && { healthCommand: container.healthCommand }),
        ...(container.port !== undefined && { port: container.port }),
        ...(portName !== undefined && { portName }),
        ...(ports.length > 0 && { ports }),
        ...(args.data && { mounts: [{ sourceVolume: DATA_VOLUME, containerPath: args.data.path }] }),
        ...(container.healthPath !== undefined && { healthPath: container.healthPath }),
        environment: env,
        secrets,
        logGroup: this.logGroupName,
        region: placement.region,
      }),
    );
    const [taskArgs, taskOpts] = transformed<aws.ecs.TaskDefinitionArgs>(
      args.transform?.taskDefinition,
      {
        family: physicalName([stack, tier, service], 255),
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(sizing.cpu),
        memory: String(sizing.memoryMb),
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions,
        ...(args.data && {
          volumes: [
            {
              name: DATA_VOLUME,
              efsVolumeConfiguration: {
                fileSystemId: args.data.fileSystemId,
                // TLS to the mount target, and the task role's IAM identity checked against the file system policy.
                transitEncryption: "ENABLED",
                authorizationConfig: { accessPointId: args.data.accessPointId, iam: "ENABLED" },
              },
            },
          ],
        }),
        tags,
      },
      { ...child, dependsOn: [logGroup] },
    );
    const taskDefinition = new aws.ecs.TaskDefinition(`${name}-task`, taskArgs, taskOpts);

    const network = {
      subnets: placement.privateSubnetIds,
      securityGroups: [placement.securityGroups.services],
      assignPublicIp: false,
    };
    this.nodes = { logGroup, repository, secret, executionRole, taskRole, taskDefinition };

    if (sizing.schedule !== undefined) {
      this.scheduleTask(name, args, network, [executionRole, taskRole], tags);
      this.alarmSpecs = [];
    } else {
      const ecsService = this.createService(name, args, network, tags);
      this.alarmInputs = {
        clusterName: placement.cluster.name,
        serviceName: ecsService.name,
        ...(args.targetGroup && {
          targetGroupArnSuffix: args.targetGroup.arnSuffix,
          loadBalancerArnSuffix: args.targetGroup.loadBalancerArnSuffix,
        }),
      };
      this.alarmSpecs = serviceAlarmSpecs(`${tier}-${service}`, this.alarmInputs);
    }
    this.registerOutputs({ logGroupName: this.logGroupName, taskDefinitionArn: taskDefinition.arn });
  }

  private createService(
    name: string,
    args: FargateServiceArgs,
    network: aws.types.input.ecs.ServiceNetworkConfiguration,
    tags: Record<string, string>,
  ): aws.ecs.Service {
    const { placement } = args;
    const sizing = sizingOf(args);
    const child = { parent: this, provider: placement.provider };
    const autoscaling = sizing.maxTasks > sizing.minTasks;
    const loadBalancers: aws.types.input.ecs.ServiceLoadBalancer[] = [
      ...(args.targetGroup
        ? [
            {
              targetGroupArn: args.targetGroup.arn,
              containerName: args.service,
              containerPort: args.container.port!,
            },
          ]
        : []),
      ...(args.publishedPorts ?? []).map((p) => ({
        targetGroupArn: p.targetGroupArn,
        containerName: args.service,
        containerPort: p.port,
      })),
    ];
    const [serviceArgs, serviceOpts] = transformed<aws.ecs.ServiceArgs>(
      args.transform?.service,
      {
        name: physicalName([args.tier, args.service], 255),
        cluster: placement.cluster.arn,
        taskDefinition: this.nodes.taskDefinition.arn,
        launchType: "FARGATE",
        desiredCount: sizing.minTasks,
        networkConfiguration: network,
        deploymentCircuitBreaker: { enable: true, rollback: true },
        // One writer of a data directory: a deployment stops the old task before the new one starts.
        deploymentMinimumHealthyPercent: args.data ? 0 : 100,
        deploymentMaximumPercent: args.data ? 100 : 200,
        ...(loadBalancers.length > 0 && { loadBalancers, healthCheckGracePeriodSeconds: 60 }),
        ...(args.serviceConnect && {
          serviceConnectConfiguration: {
            enabled: true,
            namespace: args.serviceConnect.namespace,
            ...(args.serviceConnect.servers?.length && {
              services: args.serviceConnect.servers.map((x) => ({
                portName: x.portName,
                discoveryName: x.portName,
                clientAlias: [{ port: x.port, dnsName: x.dnsName }],
              })),
            }),
          },
        }),
        // A deployment that the circuit breaker rolls back fails `pulumi up` instead of reporting success.
        waitForSteadyState: true,
        propagateTags: "SERVICE",
        enableEcsManagedTags: true,
        tags,
      },
      {
        ...child,
        // The autoscaler owns the task count once the service exists; without this every `pulumi up` would reset
        // it to minTasks (terraform-aws-modules/terraform-aws-ecs#165 — same fix there: ignore desired_count).
        ...(autoscaling && { ignoreChanges: ["desiredCount"] }),
      },
    );
    const service = new aws.ecs.Service(`${name}-service`, serviceArgs, serviceOpts);
    this.nodes.service = service;

    if (autoscaling) {
      const scalingTarget = new aws.appautoscaling.Target(
        `${name}-scaling`,
        {
          serviceNamespace: "ecs",
          resourceId: pulumi.interpolate`service/${placement.cluster.name}/${service.name}`,
          scalableDimension: "ecs:service:DesiredCount",
          minCapacity: sizing.minTasks,
          maxCapacity: sizing.maxTasks,
          tags,
        },
        child,
      );
      this.nodes.scalingTarget = scalingTarget;
      this.nodes.scalingPolicy = new aws.appautoscaling.Policy(
        `${name}-scaling-cpu`,
        {
          policyType: "TargetTrackingScaling",
          serviceNamespace: scalingTarget.serviceNamespace,
          resourceId: scalingTarget.resourceId,
          scalableDimension: scalingTarget.scalableDimension,
          targetTrackingScalingPolicyConfiguration: {
            targetValue: sizing.cpuTargetPercent,
            predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
            // Out fast, in slowly: a burst of ingest work should not flap the task count.
            scaleOutCooldown: 60,
            scaleInCooldown: 300,
          },
        },
        child,
      );
    }
    return service;
  }

  private scheduleTask(
    name: string,
    args: FargateServiceArgs,
    network: aws.types.input.ecs.ServiceNetworkConfiguration,
    roles: aws.iam.Role[],
    tags: Record<string, string>,
  ): void {
    const { placement } = args;
    const schedule = args.sizing!.schedule!;
    const child = { parent: this, provider: placement.provider };
    const eventsRole = new aws.iam.Role(
      `${name}-schedule-role`,
      { assumeRolePolicy: assumeRolePolicy("events.amazonaws.com"), tags },
      child,
    );
    const taskDefinitionArn = this.nodes.taskDefinition.arn;
    new aws.iam.RolePolicy(
      `${name}-schedule-role-run`,
      {
        role: eventsRole.id,
        policy: pulumi
          .all([taskDefinitionArn, placement.cluster.arn, ...roles.map((r) => r.arn)])
          .apply(([td, cluster, ...roleArns]) =>
            JSON.stringify(runTaskPolicy({ taskDefinitionArn: td, clusterArn: cluster, roleArns })),
          ),
      },
      child,
    );
    const rule = new aws.cloudwatch.EventRule(
      `${name}-schedule`,
      { scheduleExpression: schedule, description: `stackport ${args.tier}/${args.service}`, tags },
      child,
    );
    this.nodes.schedule = rule;
    this.nodes.scheduleTarget = new aws.cloudwatch.EventTarget(
      `${name}-schedule-target`,
      {
        rule: rule.name,
        arn: placement.cluster.arn,
        roleArn: eventsRole.arn,
        ecsTarget: {
          taskDefinitionArn,
          launchType: "FARGATE",
          taskCount: 1,
          networkConfiguration: network,
          propagateTags: "TASK_DEFINITION",
        },
      },
      child,
    );
  }
}

/** The sizing with its defaults; a service with a data directory runs one task (`validateFargateServiceArgs`). */
const sizingOf = (args: FargateServiceArgs) =>
  resolveFargateSizing(args.data ? { minTasks: 1, maxTasks: 1, ...args.sizing } : args.sizing);

/** The task definition volume an `EfsMount` becomes. */
const DATA_VOLUME = "data";

/** Secret references with every ARN (and pinned version) resolved, for the renderer and the execution-role policy. */
function resolveRefs(refs: Record<string, SecretRefArgs>): pulumi.Output<Record<string, SecretRef>> {
  const names = Object.keys(refs).sort();
  return pulumi
    .all(names.map((n) => pulumi.all([refs[n]!.secretArn, refs[n]!.versionId])))
    .apply((resolved) =>
      Object.fromEntries(
        names.map((n, i) => {
          const [secretArn, versionId] = resolved[i]!;
          const { jsonKey } = refs[n]!;
          return [
            n,
            {
              secretArn,
              ...(jsonKey !== undefined && { jsonKey }),
              ...(versionId !== undefined && { versionId }),
            },
          ];
        }),
      ),
    );
}

/** ECR lifecycle: expire everything but the newest N images (untagged ones included). */
function keepNewestImages(count: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `keep the newest ${count} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: count },
        action: { type: "expire" },
      },
    ],
  });
}
