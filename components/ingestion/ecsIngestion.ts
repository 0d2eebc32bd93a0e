import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseConnection } from "../database/contract";
import type { AlarmSpec } from "../observability/contract";
import { assertValidArgs } from "../shared/errors";
import { type DataFileSystem, createDataFileSystem } from "../shared/efs";
import { withSchedule } from "../shared/fargateSizing";
import { type AppSecrets, createAppSecrets } from "./appSecrets";
import { type PublishedPorts, publishPorts, resolvePort } from "./nlb";
import { offeredBy } from "../shared/offered";
import { type AttachedTargetGroup, FargateService, type FargateServiceArgs } from "../shared/fargateService";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import { standardLabels } from "../shared/labels";
import type { AwsPlacement } from "../shared/placement";
import { type StorageConnection, bucketArnOf } from "../storage/contract";
import { awsName } from "../shared/awsNames";
import {
  type AppSecretSource,
  BROKER_PORT,
  ECS_BROKER_DEFAULTS,
  type EcsBrokerArgs,
  type EcsServiceArgs,
  serviceContainer,
  serviceDatabaseConnection,
  validateEcsIngestionArgs,
} from "./settings";

export interface EcsIngestionArgs {
  /** The AWS target: its private subnets, cluster and security groups. */
  placement: AwsPlacement;
  /**
   * Services by name. Each gets only what its `connections` declare: `DATABASE_URL` and `BROKER_URL` through its own
   * Secrets Manager secret, S3 access to its buckets through its task role.
   * @default {}
   */
  services?: Record<string, EcsServiceArgs>;
  /** The broker, created only when a service declares `connections.broker`; `false` for none. @default ElastiCache with the defaults */
  broker?: EcsBrokerArgs | false;
  /** For services that declare `connections.database`. @default none */
  database?: DatabaseConnection;
  /** For services that declare `connections.storage`: bucket names (ARNs are derived from them). @default none */
  storage?: Pick<StorageConnection, "endpoint" | "region" | "buckets" | "forcePathStyle">;
  /** Target groups of routed services, by service name (`AlbProxy.targetGroups`). @default {} */
  targetGroups?: Record<string, AttachedTargetGroup>;
  /** Retention of the services' log groups, in days. @default 30 */
  logRetentionDays?: number;
  /**
   * The tier's application secrets by name, mapped to variables by each service's `secrets`. Each one a service uses
   * becomes one Secrets Manager secret, shared by the services that use it and injected through the task
   * definition's `secrets` (never `environment`), pinned to its current version: a new value rolls those services.
   * @default {}
   * @example { "jwt-signing-key": { generate: { length: 64 } }, "oauth-client-secret": { value: cfg.requireSecret("oauthSecret") } }
   */
  secrets?: Record<string, AppSecretSource>;
  /** `protect` / `retainOnDelete` of the data file system (services with `data`). @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** Per-child escape hatches: `services` applies to every service's children. @default none */
  transform?: {
    services?: FargateServiceArgs["transform"];
    broker?: Transform<aws.elasticache.ReplicationGroupArgs>;
  };
}

/**
 * The ingestion tier on ECS Fargate: the broker (ElastiCache Valkey, TLS + AUTH token, in the private subnets,
 * reachable only from the services group) when a service uses it, and one `FargateService` per service. Each service
 * gets only what its `connections` declare: `DATABASE_URL` of its role and `BROKER_URL` through its own Secrets
 * Manager secret, S3 access to its buckets through its task role (no static keys), `STORAGE_BUCKET_<NAME>` in plain
 * environment.
 * @example
 * const ingestion = new EcsIngestion("ingestion", {
 *   placement: cloud.placement,
 *   services: { api: { image: "ghcr.io/example/api:1.4.2", port: 8000, connections: { database: "app_writer" } } },
 *   database: database.connection,
 * });
 */
export class EcsIngestion extends pulumi.ComponentResource {
  readonly services: Record<string, FargateService>;
  /** CPU/memory for every service; 5xx/unhealthy hosts for routed ones. */
  readonly alarmSpecs: AlarmSpec[];
  /** The published ports' load balancer: its DNS name, when a service has `ports`. */
  readonly publishedAddress?: pulumi.Output<string>;
  readonly nodes: {
    brokerToken?: random.RandomPassword;
    brokerSubnets?: aws.elasticache.SubnetGroup;
    broker?: aws.elasticache.ReplicationGroup;
    secrets?: AppSecrets["nodes"];
    published?: PublishedPorts;
    data?: DataFileSystem;
  } = {};

  constructor(name: string, args: EcsIngestionArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate every service before anything is registered.
    assertValidArgs(`stackport:aws:Ingestion '${name}'`, validateEcsIngestionArgs(args, offeredBy(args)));
    const services = args.services ?? {};
    const config = {
      services,
      broker: args.broker === false ? (false as const) : { ...ECS_BROKER_DEFAULTS, ...args.broker },
      logRetentionDays: args.logRetentionDays ?? 30,
    };
    const { placement } = args;
    const plans = Object.fromEntries(
      Object.entries(services).map(([svc, service]) => [svc, planService(svc, service, args)]),
    );
    const usesBroker = Object.values(services).some((s) => s.connections?.broker);
    super("stackport:aws:Ingestion", name, config, opts);
    const child = { parent: this, provider: placement.provider };

    const brokerUrl =
      usesBroker && config.broker !== false ? this.createBroker(name, config.broker, args, child) : undefined;
    const extras = this.createServiceExtras(name, args);
    if (this.nodes.published) this.publishedAddress = this.nodes.published.loadBalancer.dnsName;

    this.services = Object.fromEntries(
      Object.keys(services)
        .sort()
        .map((svc) => {
          const { database: role, broker } = services[svc]!.connections ?? {};
          const fargate = new FargateService(
            `${name}-${svc}`,
            {
              ...plans[svc]!,
              ...extras(svc),
              placement,
              secretValues: {
                ...(role && { DATABASE_URL: serviceDatabaseConnection(args.database!, role).url }),
                ...(broker && brokerUrl && { BROKER_URL: brokerUrl }),
              },
              logRetentionDays: config.logRetentionDays,
              ...(args.transform?.services && { transform: args.transform.services }),
            },
            { parent: this },
          );
          return [svc, fargate];
        }),
    );
    this.alarmSpecs = Object.values(this.services).flatMap((s) => s.alarmSpecs);
    this.registerOutputs({
      services: Object.keys(this.services),
      ...(this.publishedAddress && { publishedAddress: this.publishedAddress }),
    });
  }

  /**
   * What services get beyond their container: the application secrets they use (one Secrets Manager secret each),
   * the NLB target groups of their published ports, their EFS access point, and Service Connect (every long-running
   * service a client; one with a TCP port also a server under its own name, as on Docker's network).
   */
  private createServiceExtras(
    name: string,
    args: EcsIngestionArgs,
  ): (svc: string) => Pick<FargateServiceArgs, "secretRefs" | "publishedPorts" | "data" | "serviceConnect"> {
    const { placement } = args;
    const services = args.services ?? {};
    const used = Object.values(services).flatMap((s) => Object.values(s.secrets ?? {}));
    const secrets =
      used.length > 0
        ? createAppSecrets(this, name, {
            provider: placement.provider,
            sources: args.secrets ?? {},
            used,
            tier: "ingestion",
          })
        : undefined;
    const ports = Object.fromEntries(
      Object.entries(services)
        .filter(([, s]) => s.ports?.length)
        .map(([svc, s]) => [svc, s.ports!.map((p) => resolvePort(p, s.port))]),
    );
    const published = Object.keys(ports).length > 0 ? publishPorts(this, name, placement, ports) : undefined;
    const paths = Object.fromEntries(
      Object.entries(services)
        .filter(([, s]) => s.data)
        .map(([svc, s]) => [svc, s.data!.path]),
    );
    const data =
      Object.keys(paths).length > 0
        ? createDataFileSystem(this, name, {
            placement,
            tier: "ingestion",
            safety: args.safety ?? { protect: true, retainOnDelete: true },
            paths,
          })
        : undefined;
    const namespace = placement.serviceConnect?.namespaceArn;
    const servers = namespace && this.serviceConnectServers(name, args);
    Object.assign(this.nodes, {
      ...(secrets && { secrets: secrets.nodes }),
      ...(published && { published }),
      ...(data && { data }),
    });
    return (svc) => {
      const s = services[svc]!;
      const refs = Object.entries(s.secrets ?? {}).map(([env, secret]) => [env, secrets!.refs[secret]!]);
      const scheduled = withSchedule(s.sizing, s.schedule)?.schedule !== undefined;
      return {
        ...(refs.length > 0 && { secretRefs: Object.fromEntries(refs) }),
        ...(published?.byService[svc] && { publishedPorts: published.byService[svc] }),
        ...(data?.mounts[svc] && { data: data.mounts[svc] }),
        ...(namespace && !scheduled && { serviceConnect: { namespace, servers: servers![svc] ?? [] } }),
      };
    };
  }

  /**
   * Each long-running service's TCP ports under its bare name (`redpanda:9092`), and the services group opened to
   * itself on exactly those ports (a client's Service Connect proxy connects to the server task's address).
   */
  private serviceConnectServers(
    name: string,
    args: EcsIngestionArgs,
  ): Record<string, { portName: string; port: number; dnsName: string }[]> {
    const { placement } = args;
    const out: Record<string, { portName: string; port: number; dnsName: string }[]> = {};
    for (const [svc, s] of Object.entries(args.services ?? {})) {
      if (withSchedule(s.sizing, s.schedule)?.schedule !== undefined) continue;
      const tcp = [
        ...(s.port !== undefined ? [s.port] : []),
        ...(s.ports ?? []).filter((p) => (p.protocol ?? "tcp") === "tcp").map((p) => p.port),
      ];
      const unique = [...new Set(tcp)].sort((a, b) => a - b);
      if (unique.length > 0)
        out[svc] = unique.map((port) => ({ portName: `${svc}-${port}`, port, dnsName: svc }));
    }
    const child = { parent: this, provider: placement.provider };
    const tags = standardLabels("ingestion");
    const ports = [...new Set(Object.values(out).flatMap((l) => l.map((x) => x.port)))].sort((a, b) => a - b);
    for (const port of ports) {
      // The same rule both ways: services accept it from, and may send it to, the services group.
      const rule = {
        securityGroupId: placement.securityGroups.services,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        referencedSecurityGroupId: placement.securityGroups.services,
        description: `Service Connect: services to services on ${port}`,
        tags,
      };
      new aws.vpc.SecurityGroupIngressRule(`${name}-services-from-services-${port}`, rule, child);
      new aws.vpc.SecurityGroupEgressRule(`${name}-services-to-services-${port}`, rule, child);
    }
    return out;
  }

  /**
   * ElastiCache Valkey: TLS in transit, encrypted at rest, an AUTH token from `random`, private subnets, reachable
   * from the services group only. Returns the `rediss://` URL (secret) services get as `BROKER_URL`.
   */
  private createBroker(
    name: string,
    broker: Required<EcsBrokerArgs>,
    args: EcsIngestionArgs,
    child: pulumi.CustomResourceOptions,
  ): pulumi.Output<string> {
    const { placement } = args;
    const failover = broker.failover;
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
    const [groupArgs, groupOpts] = transformed<aws.elasticache.ReplicationGroupArgs>(
      args.transform?.broker,
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
      { ...child },
    );
    const group = new aws.elasticache.ReplicationGroup(`${name}-broker`, groupArgs, groupOpts);
    Object.assign(this.nodes, { brokerToken: token, brokerSubnets: subnets, broker: group });
    // Celery and redis-py refuse a rediss:// URL without ssl_cert_reqs; ElastiCache presents an Amazon-issued cert.
    return pulumi.secret(
      pulumi.interpolate`rediss://:${token.result}@${group.primaryEndpointAddress}:${BROKER_PORT}/0?ssl_cert_reqs=required`,
    );
  }
}

type ServicePlan = Pick<
  FargateServiceArgs,
  "tier" | "service" | "sizing" | "container" | "buckets" | "targetGroup"
>;

/** Everything about one service that follows from its args alone (no resources): sizing, container, buckets. */
function planService(svc: string, service: EcsServiceArgs, args: EcsIngestionArgs): ServicePlan {
  const region = args.placement.region;
  const buckets = service.connections?.storage;
  const storage = buckets && args.storage;
  const targetGroup = service.routed ? args.targetGroups?.[svc] : undefined;
  return {
    tier: "ingestion",
    service: svc,
    ...(withSchedule(service.sizing, service.schedule) && {
      sizing: withSchedule(service.sizing, service.schedule)!,
    }),
    container: serviceContainer(service, region, storage),
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
