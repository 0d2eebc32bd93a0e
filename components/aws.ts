/**
 * `stackport/aws` — the components that run in an AWS account and region. Loads the `@pulumi/aws` service modules
 * it uses (components/shared/aws.ts), never `@pulumi/docker`.
 *
 * Start with an `AwsTarget` (VPC, security groups, ECS cluster); every tier component takes its `placement`. The
 * tiers expose the same connection contracts as their Docker counterparts, so a program can move a tier between
 * targets; the contracts, defaults and validators are in the root entry, `stackport`.
 * @example
 * import { AwsTarget, RdsDatabase } from "stackport/aws";
 * const cloud = new AwsTarget("cloud", { region: "eu-west-1" });
 * const database = new RdsDatabase("database", { placement: cloud.placement, multiAz: true });
 */

// ---- The target
export { AwsTarget, SECURITY_GROUP_ROLES } from "./targets/aws";
export type { AwsTargetArgs, AwsTargetNetworkNodes, SecurityGroupRole } from "./targets/aws";

// ---- Tiers
export { S3Storage } from "./storage/s3Storage";
export type { BucketGuards } from "./storage/bucketGuards";
export type { S3BucketNodes, S3StorageArgs } from "./storage/s3Storage";
export type { ReplicaNodes, S3ReplicationArgs } from "./storage/s3Replication";

export { RdsDatabase } from "./database/rdsDatabase";
export type { RdsDatabaseArgs } from "./database/rdsDatabase";
export type { RdsBootstrap } from "./database/rdsBootstrap";

export { AlbProxy } from "./proxy/albProxy";
export type { AlbProxyArgs, ProxyTargetGroup } from "./proxy/albProxy";
export type { AlbUpstream } from "./proxy/albRules";

export { EcsIngestion } from "./ingestion/ecsIngestion";
export type { EcsIngestionArgs } from "./ingestion/ecsIngestion";
export type { EcsBrokerArgs, EcsPublishedPortArgs, EcsServiceArgs } from "./ingestion/settings";
export type { AppSecrets } from "./ingestion/appSecrets";
export type { PublishedPorts } from "./ingestion/nlb";
export type { DataFileSystem } from "./shared/efs";

export { EcsBasemap } from "./basemap/ecsBasemap";
export type { EcsBasemapArgs } from "./basemap/ecsBasemap";

// ---- Types the AWS args and components use
export type { FargateSizingArgs } from "./shared/fargateSizing";
// The Fargate building block behind EcsIngestion's services and EcsBasemap: its type names `EcsIngestion.services`
// and `EcsBasemapArgs.transform`; the class itself is not (yet) public.
export type {
  AttachedTargetGroup,
  EfsMount,
  FargateService,
  FargateServiceArgs,
  PublishedTargetPort,
  SecretRefArgs,
  ServiceConnectArgs,
} from "./shared/fargateService";
export type { PortMappingSpec } from "./shared/containerDefinitions";

// ---- Observability
export { CloudWatchObservability } from "./observability/cloudwatch";
export type { CloudWatchObservabilityArgs } from "./observability/cloudwatch";
