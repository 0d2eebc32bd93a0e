/**
 * The slice of `@pulumi/aws` stackport uses. The package's index eagerly requires all ~250 service modules
 * (about 80 ms per process); importing the services directly keeps synth of an AWS stack near its floor.
 * Type-only: `types` is erased at compile time.
 */
export * as acm from "@pulumi/aws/acm";
export * as appautoscaling from "@pulumi/aws/appautoscaling";
export * as cloudwatch from "@pulumi/aws/cloudwatch";
export * as ec2 from "@pulumi/aws/ec2";
export * as ecr from "@pulumi/aws/ecr";
export * as ecs from "@pulumi/aws/ecs";
export * as efs from "@pulumi/aws/efs";
export * as elasticache from "@pulumi/aws/elasticache";
export * as iam from "@pulumi/aws/iam";
export * as lb from "@pulumi/aws/lb";
export * as rds from "@pulumi/aws/rds";
export * as route53 from "@pulumi/aws/route53";
export * as s3 from "@pulumi/aws/s3";
export * as secretsmanager from "@pulumi/aws/secretsmanager";
export * as servicediscovery from "@pulumi/aws/servicediscovery";
export * as sns from "@pulumi/aws/sns";
export * as vpc from "@pulumi/aws/vpc";
export { Provider, type ProviderArgs } from "@pulumi/aws/provider";
export type * as types from "@pulumi/aws/types";
