import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ConfigError, type ConfigIssue } from "../../src/config/errors";
import { configKey } from "../../src/config/keys";
import type { Environment } from "../../src/config/schema";
import {
  type AwsBrokerConfig,
  awsBrokerSchema,
  awsServiceSchema,
  resolveAwsService,
} from "../../src/config/tiers/awsServices";
import { BROKER_PORT, type BrokerConfig, type ServiceConfig } from "../../src/config/tiers/ingestion";
import { awsName } from "../targets/aws";
import type { AwsPlacement } from "../shared/placement";
import { standardLabels } from "../shared/labels";
import type { z } from "zod";
import type { DatabaseConnection } from "../database/contract";
import type { AlarmSpec } from "../observability/contract";
import type { StorageConnection } from "../storage/contract";
import { bucketArn } from "../storage/contract";
import {
  type AttachedTargetGroup,
  FargateService,
  type FargateServiceArgs,
  checkFargateService,
} from "./ecsService";
import { bucketEnvName } from "./serviceEnv";

/** An ingestion service as configured, plus its `aws` block. */
export type EcsServiceConfig = Omit<ServiceConfig, "aws"> & {
  aws?: z.input<typeof awsServiceSchema> | undefined;
};

export interface EcsIngestionArgs {
  /** `stackport:ingestion`: the services and the broker (`broker.aws` picks the AWS broker's settings). */
  config: {
    services: Record<string, EcsServiceConfig>;
    broker: (Omit<BrokerConfig, "aws"> & { aws?: z.input<typeof awsBrokerSchema> | undefined }) | false;
  };
  environment: Environment;
  placement: AwsPlacement;
  /** Present when a service declares `connections.database`. */
  database?: DatabaseConnection;
  /** Present when a service declares `connections.storage`: bucket names (ARNs are derived from them). */
  storage?: Pick<StorageConnection, "endpoint" | "region" | "buckets" | "forcePathStyle">;
  /** Target groups of routed services, by service name (the ALB proxy's `targetGroups`). @default {} */
  targetGroups?: Record<string, AttachedTargetGroup>;
  /** @default 30, 90 in production */
  logRetentionDays?: number;
}

const serviceKey = (svc: string, ...rest: PropertyKey[]) =>
  configKey(["ingestion", "services", svc, ...rest]);

/**
 * The ingestion tier on ECS Fargate: the broker (ElastiCache Valkey, TLS + AUTH token, in the private subnets,
 * reachable only from the services group) when a service uses it, and one `FargateService` per service. Each service
 * gets only what its `connections` declare: `DATABASE_URL` of its role and `BROKER_URL` through its own Secrets
 * Manager secret, S3 access to its buckets through its task role (no static keys), `STORAGE_BUCKET_<NAME>` in plain
 * environment.
 */
export class EcsIngestion extends pulumi.ComponentResource {
  readonly services: Record<string, FargateService>;
  /** CPU/memory for every service; 5xx/unhealthy hosts for routed ones. */
  readonly alarmSpecs: AlarmSpec[];
  readonly nodes: {
    brokerToken?: random.RandomPassword;
    brokerSubnets?: aws.elasticache.SubnetGroup;
    broker?: aws.elasticache.ReplicationGroup;
  } = {};

  constructor(name: string, args: EcsIngestionArgs, opts?: pulumi.ComponentResourceOptions) {
    const { config, placement, environment } = args;
    // Validate every service before anything is registered.
    checkConnections(args);
    const plans = Object.fromEntries(
      Object.entries(config.services).map(([svc, service]) => [svc, planService(svc, service, args)]),
    );
    for (const [svc, plan] of Object.entries(plans)) {
      const { database, broker } = config.services[svc]!.connections;
      const secretNames = [...(database ? ["DATABASE_URL"] : []), ...(broker ? ["BROKER_URL"] : [])];
      checkFargateService({ ...plan, secretValues: Object.fromEntries(secretNames.map((n) => [n, ""])) });
    }
    const usesBroker = Object.values(config.services).some((s) => s.connections.broker);
    super("stackport:aws:Ingestion", name, { config }, opts);
    const child = { parent: this, provider: placement.provider };

    const brokerUrl =
      usesBroker && config.broker !== false
        ? this.createBroker(name, awsBrokerSchema.parse(config.broker.aws ?? {}), args, child)
        : undefined;

    this.services = Object.fromEntries(
      Object.keys(config.services)
        .sort()
        .map((svc) => {
          const { database: role, broker } = config.services[svc]!.connections;
          const fargate = new FargateService(
            `${name}-${svc}`,
            {
              ...plans[svc]!,
              placement,
              secretValues: {
                ...(role && { DATABASE_URL: args.database!.roles[role].url }),
                ...(broker && brokerUrl && { BROKER_URL: brokerUrl }),
              },
              logRetentionDays: args.logRetentionDays ?? (environment === "production" ? 90 : 30),
            },
            { parent: this },
          );
          return [svc, fargate];
        }),
    );
    this.alarmSpecs = Object.values(this.services).flatMap((s) => s.alarmSpecs);
    this.registerOutputs({ services: Object.keys(this.services) });
  }

  /**
   * ElastiCache Valkey: TLS in transit, encrypted at rest, an AUTH token from `random`, private subnets, reachable
   * from the services group only. Returns the `rediss://` URL (secret) services get as `BROKER_URL`.
   */
  private createBroker(
    name: string,
    broker: AwsBrokerConfig,
    args: EcsIngestionArgs,
    child: pulumi.CustomResourceOptions,
  ): pulumi.Output<string> {
    const { placement, environment } = args;
    const failover = broker.failover ?? environment === "production";
    const tags = standardLabels("ingestion");
    // ElastiCache AUTH tokens: 16–128 printable characters without @, ", / — alphanumeric is always safe in URLs.
    const token = new random.RandomPassword(
      `${name}-broker-token`,
      { length: 48, special: false },
      { parent: this },
    );
    const subnets = new aws.elasticache.SubnetGroup(
      `${name}-broker-subnets`,
      { name: awsName(["broker"], 255), subnetIds: placement.privateSubnetIds, tags },
      child,
    );
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-broker-from-services`,
      {
        securityGroupId: placement.securityGroups.broker,
        ipProtocol: "tcp",
        fromPort: BROKER_PORT,
        toPort: BROKER_PORT,
        referencedSecurityGroupId: placement.securityGroups.services,
        description: "broker from the ingestion services",
        tags,
      },
      child,
    );
    const group = new aws.elasticache.ReplicationGroup(
      `${name}-broker`,
      {
        replicationGroupId: awsName(["broker"], 40),
        description: `stackport ${pulumi.getStack()} ingestion broker`,
        engine: "valkey",
        engineVersion: broker.engineVersion,
        nodeType: broker.nodeType,
        port: BROKER_PORT,
        numCacheClusters: failover ? 2 : 1,
        automaticFailoverEnabled: failover,
        multiAzEnabled: failover,
        transitEncryptionEnabled: true,
        atRestEncryptionEnabled: true,
        authToken: token.result,
        subnetGroupName: subnets.name,
        securityGroupIds: [placement.securityGroups.broker],
        tags,
      },
      child,
    );
    Object.assign(this.nodes, { brokerToken: token, brokerSubnets: subnets, broker: group });
    // Celery and redis-py refuse a rediss:// URL without ssl_cert_reqs; ElastiCache presents an Amazon-issued cert.
    return pulumi.secret(
      pulumi.interpolate`rediss://:${token.result}@${group.primaryEndpointAddress}:${BROKER_PORT}/0?ssl_cert_reqs=required`,
    );
  }
}

type ServicePlan = Pick<
  FargateServiceArgs,
  "tier" | "service" | "configKey" | "sizing" | "container" | "buckets" | "targetGroup"
>;

/** Everything about one service that follows from config alone (no resources): sizing, container, buckets. */
function planService(svc: string, service: EcsServiceConfig, args: EcsIngestionArgs): ServicePlan {
  const region = args.placement.region;
  const buckets = service.connections.storage;
  const storage = buckets && args.storage;
  const healthPath =
    service.health?.path !== undefined && (service.health.port ?? service.port) === service.port
      ? service.health.path
      : undefined;
  const targetGroup = service.route ? args.targetGroups?.[svc] : undefined;
  return {
    tier: "ingestion",
    service: svc,
    configKey: serviceKey(svc),
    sizing: resolveAwsService(service.aws, args.environment, serviceKey(svc, "aws")),
    container: {
      image: service.image,
      ...(service.command && { command: service.command }),
      ...(service.port !== undefined && { port: service.port }),
      ...(healthPath !== undefined && { healthPath }),
      ...(service.health?.command && { healthCommand: service.health.command }),
      environment: {
        ...service.environment,
        AWS_REGION: region,
        ...(storage && {
          STORAGE_ENDPOINT: storage.endpoint,
          STORAGE_REGION: storage.region,
          STORAGE_FORCE_PATH_STYLE: String(storage.forcePathStyle),
          ...Object.fromEntries(buckets.map((b) => [bucketEnvName(b), storage.buckets[b]!])),
        }),
      },
    },
    ...(storage && {
      buckets: Object.fromEntries(
        buckets.map((b) => [
          b,
          { arn: bucketArnOf(region, storage.buckets[b]!), access: "readwrite" as const },
        ]),
      ),
    }),
    ...(targetGroup && { targetGroup }),
  };
}

/** S3 bucket ARNs follow from the name (`arn:<partition>:s3:::<bucket>`); no lookup needed. */
export function bucketArnOf(region: string, bucket: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(bucket).apply((name) => bucketArn(region, name));
}

/** The connections services declare must be available on this stack (also checked by config; guards direct use). */
function checkConnections(args: EcsIngestionArgs): void {
  const issues: ConfigIssue[] = [];
  for (const [svc, s] of Object.entries(args.config.services)) {
    const { database, storage, broker } = s.connections;
    if (database && !args.database) {
      issues.push({
        key: serviceKey(svc, "connections", "database"),
        message: "the database tier is not placed",
      });
    }
    storage?.forEach((bucket, i) => {
      if (!args.storage?.buckets[bucket]) {
        issues.push({
          key: serviceKey(svc, "connections", "storage", i),
          message: `the storage tier has no bucket '${bucket}'`,
        });
      }
    });
    if (broker && args.config.broker === false) {
      issues.push({
        key: serviceKey(svc, "connections", "broker"),
        message: "stackport:ingestion.broker is false",
      });
    }
    if (s.route && s.port !== undefined && !args.targetGroups?.[svc]) {
      issues.push({
        key: serviceKey(svc, "route"),
        message: "the route needs the proxy tier on an AWS target (an ALB target group for this service)",
      });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
