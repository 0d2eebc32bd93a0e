/**
 * An AWS account and region stackport deploys to: the explicit provider (default tags, optional assumed role), the
 * VPC every AWS tier lives in, four empty per-tier security groups and the shared ECS cluster with its Service
 * Connect namespace — everything the `AwsPlacement` contract promises. Without `network` only the provider: for
 * tiers that need no VPC (S3 buckets, CloudWatch). Loaded lazily by the program (src/platform/context.ts), so stacks without AWS never load `@pulumi/aws`.
 */
import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import { type Transform, transformed } from "../shared/component";
import { ArgsError, assertValidArgs } from "../shared/errors";
import { awsName } from "../shared/awsNames";
import { standardLabels } from "../shared/labels";
import type { AwsPlacement } from "../shared/placement";
import {
  AWS_TARGET_DEFAULTS,
  type AwsVpcArgs,
  type SubnetPlan,
  carveSubnets,
  natFor,
  validateAwsTargetArgs,
} from "./awsNetwork";

export * from "./awsNetwork";

// ---------------------------------------------------------------------------------------------------------
// The component

export const SECURITY_GROUP_ROLES = ["alb", "services", "database", "broker"] as const;
export type SecurityGroupRole = (typeof SECURITY_GROUP_ROLES)[number];

const SECURITY_GROUP_PURPOSE: Record<SecurityGroupRole, string> = {
  alb: "load balancer: 80/443 from allowed clients, out to the services",
  services: "ECS tasks: in from the load balancer, out to the database, broker and HTTPS",
  database: "RDS PostgreSQL: 5432 from the services only",
  broker: "task broker (Redis): from the services only",
};

/** Ports the services reach inside the VPC (the broker's is Redis' default, used by ElastiCache and a task alike). */
const POSTGRES_PORT = 5432;
const BROKER_PORT = 6379;

export interface AwsTargetArgs {
  /** The region every resource of the target lives in. @example "eu-west-1" */
  region: string;
  /**
   * Create the VPC (subnets, NAT gateways, flow logs), the tier security groups and the ECS cluster. `false` for a
   * target that only holds what needs no network (S3 buckets, CloudWatch alarms): no NAT gateway to pay for, and a
   * tier that needs the network fails at once naming this arg. The stackport program sets it from the tiers placed
   * on the target. Turning it off on a target that has a network deletes that network.
   * @default true
   */
  network?: boolean;
  /** A role to assume for every AWS call of this target. @default the caller's credentials */
  assumeRoleArn?: string;
  /** The VPC. @default { cidr: "10.40.0.0/16", availabilityZones: 2, natGateways: "single", flowLogs: false } */
  vpc?: AwsVpcArgs;
  /** Retention of the VPC flow-log group, in days. @default 30 */
  flowLogRetentionDays?: number;
  /** Per-child escape hatches. @default none */
  transform?: {
    provider?: Transform<aws.ProviderArgs>;
    vpc?: Transform<aws.ec2.VpcArgs>;
    subnet?: Transform<aws.ec2.SubnetArgs>;
    natGateway?: Transform<aws.ec2.NatGatewayArgs>;
    securityGroup?: Transform<aws.ec2.SecurityGroupArgs>;
    flowLog?: Transform<aws.ec2.FlowLogArgs>;
    cluster?: Transform<aws.ecs.ClusterArgs>;
    serviceNamespace?: Transform<aws.servicediscovery.HttpNamespaceArgs>;
  };
}

/** The network parts of a target (absent with `network: false`). */
export interface AwsTargetNetworkNodes {
  vpc: aws.ec2.Vpc;
  publicSubnets: Record<string, aws.ec2.Subnet>;
  privateSubnets: Record<string, aws.ec2.Subnet>;
  natGateways: Record<string, aws.ec2.NatGateway>;
  securityGroups: Record<SecurityGroupRole, aws.ec2.SecurityGroup>;
  flowLog?: aws.ec2.FlowLog;
  cluster: aws.ecs.Cluster;
  serviceNamespace: aws.servicediscovery.HttpNamespace;
}

/**
 * The AWS side of a target. Creates, in the target's region and with its default tags:
 * - a VPC (DNS on) with a public and a private subnet per AZ (carved from `vpc.cidr`, see `carveSubnets`), an
 *   internet gateway and one route table per private subnet;
 * - NAT gateways per `vpc.natGateways` (`none` leaves private subnets without internet egress: tasks then need VPC
 *   endpoints to pull images and read secrets);
 * - VPC flow logs to CloudWatch when `vpc.flowLogs` is set;
 * - the four tier security groups, empty but for least-privilege egress rules;
 * - the ECS cluster with Container Insights, and a Cloud Map HTTP namespace as its Service Connect default (services
 *   reach each other by name, as on Docker).
 * With `network: false`, only the provider: `placement` then refuses every network field with an error naming the
 * target.
 * @example
 * const cloud = new AwsTarget("cloud", { region: "eu-west-1", vpc: { natGateways: "perAz", flowLogs: true } });
 * const database = new RdsDatabase("database", { placement: cloud.placement });
 */
export class AwsTarget extends pulumi.ComponentResource {
  readonly placement: AwsPlacement;
  readonly nodes: { provider: aws.Provider } & Partial<AwsTargetNetworkNodes>;

  constructor(name: string, args: AwsTargetArgs, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs(`stackport:aws:Target '${name}'`, validateAwsTargetArgs(args));
    const vpcDefaults = AWS_TARGET_DEFAULTS.vpc;
    const config = {
      region: args.region,
      // Recorded only when off: a target with a network keeps the inputs it always had.
      ...(args.network === false && { network: false as const }),
      ...(args.assumeRoleArn !== undefined && { assumeRoleArn: args.assumeRoleArn }),
      vpc: {
        cidr: args.vpc?.cidr ?? vpcDefaults.cidr,
        availabilityZones: args.vpc?.availabilityZones ?? vpcDefaults.availabilityZones,
        natGateways: args.vpc?.natGateways ?? vpcDefaults.natGateways,
        flowLogs: args.vpc?.flowLogs ?? vpcDefaults.flowLogs,
      },
      flowLogRetentionDays: args.flowLogRetentionDays ?? AWS_TARGET_DEFAULTS.flowLogRetentionDays,
    };
    super("stackport:aws:Target", name, config, opts);
    const { transform } = args;
    const tags = { ...standardLabels("platform"), "stackport.target": name };

    const [providerArgs, providerOpts] = transformed<aws.ProviderArgs>(
      transform?.provider,
      {
        region: config.region,
        defaultTags: { tags },
        ...(config.assumeRoleArn && {
          assumeRoles: [{ roleArn: config.assumeRoleArn, sessionName: `stackport-${pulumi.getStack()}` }],
        }),
      },
      { parent: this },
    );
    const provider = new aws.Provider(`${name}-aws`, providerArgs, providerOpts);
    if (args.network === false) {
      this.nodes = { provider };
      this.placement = withoutNetwork({ targetName: name, provider, region: config.region, tags });
      this.registerOutputs({ network: false });
      return;
    }
    const child = { parent: this, provider };
    const named = (role: string) => ({ ...tags, Name: awsName([name, role]) });

    const [vpcArgs, vpcOpts] = transformed<aws.ec2.VpcArgs>(
      transform?.vpc,
      { cidrBlock: config.vpc.cidr, enableDnsSupport: true, enableDnsHostnames: true, tags: named("vpc") },
      { ...child },
    );
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, vpcArgs, vpcOpts);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: named("igw") }, child);

    const plan = carveSubnets(config.vpc.cidr, config.region, config.vpc.availabilityZones);
    const subnet = (tier: "public" | "private", p: SubnetPlan) => {
      const [subnetArgs, subnetOpts] = transformed<aws.ec2.SubnetArgs>(
        transform?.subnet,
        {
          vpcId: vpc.id,
          cidrBlock: tier === "public" ? p.publicCidr : p.privateCidr,
          availabilityZone: p.availabilityZone,
          // Nothing stackport runs in public subnets needs a public IP but the NAT (which has an EIP) and the ALB.
          mapPublicIpOnLaunch: false,
          tags: { ...named(`${tier}-${p.letter}`), "stackport.subnet": tier },
        },
        { ...child },
      );
      return new aws.ec2.Subnet(`${name}-${tier}-${p.letter}`, subnetArgs, subnetOpts);
    };
    const publicSubnets = Object.fromEntries(plan.map((p) => [p.letter, subnet("public", p)]));
    const privateSubnets = Object.fromEntries(plan.map((p) => [p.letter, subnet("private", p)]));

    // Public: one shared route table with the default route to the internet gateway.
    const publicRoutes = new aws.ec2.RouteTable(
      `${name}-public-routes`,
      { vpcId: vpc.id, tags: named("public") },
      child,
    );
    const internetRoute = new aws.ec2.Route(
      `${name}-public-internet`,
      { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id },
      child,
    );
    const publicReady = plan.map((p) => {
      const association = new aws.ec2.RouteTableAssociation(
        `${name}-public-${p.letter}-routes`,
        { subnetId: publicSubnets[p.letter]!.id, routeTableId: publicRoutes.id },
        child,
      );
      return readyWhen(publicSubnets[p.letter]!.id, [association.id, internetRoute.id]);
    });

    // NAT gateways live in public subnets; which private subnet uses which follows `natFor`.
    const natOf = natFor(
      config.vpc.natGateways,
      plan.map((p) => p.letter),
    );
    const natGateways: Record<string, aws.ec2.NatGateway> = {};
    for (const letter of new Set(Object.values(natOf))) {
      if (!letter) continue;
      const ip = new aws.ec2.Eip(
        `${name}-nat-${letter}-ip`,
        { domain: "vpc", tags: named(`nat-${letter}`) },
        child,
      );
      const [natArgs, natOpts] = transformed<aws.ec2.NatGatewayArgs>(
        transform?.natGateway,
        { subnetId: publicSubnets[letter]!.id, allocationId: ip.id, tags: named(`nat-${letter}`) },
        // The NAT needs the internet gateway attached before it can route.
        { ...child, dependsOn: [igw] },
      );
      natGateways[letter] = new aws.ec2.NatGateway(`${name}-nat-${letter}`, natArgs, natOpts);
    }

    // Private: one route table per AZ, so `perAz` keeps each AZ's egress in that AZ.
    const privateReady = plan.map((p) => {
      const routes = new aws.ec2.RouteTable(
        `${name}-private-${p.letter}-routes`,
        { vpcId: vpc.id, tags: named(`private-${p.letter}`) },
        child,
      );
      const association = new aws.ec2.RouteTableAssociation(
        `${name}-private-${p.letter}-routes`,
        { subnetId: privateSubnets[p.letter]!.id, routeTableId: routes.id },
        child,
      );
      const nat = natOf[p.letter] && natGateways[natOf[p.letter]!];
      const egress =
        nat &&
        new aws.ec2.Route(
          `${name}-private-${p.letter}-egress`,
          { routeTableId: routes.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id },
          child,
        );
      return readyWhen(privateSubnets[p.letter]!.id, [association.id, ...(egress ? [egress.id] : [])]);
    });

    const flowLog =
      config.vpc.flowLogs &&
      this.flowLogs(name, vpc, config.flowLogRetentionDays, child, tags, transform?.flowLog);

    const securityGroups = Object.fromEntries(
      SECURITY_GROUP_ROLES.map((role) => {
        const [sgArgs, sgOpts] = transformed<aws.ec2.SecurityGroupArgs>(
          transform?.securityGroup,
          {
            vpcId: vpc.id,
            description: `stackport ${pulumi.getStack()} ${SECURITY_GROUP_PURPOSE[role]}`,
            // Rules are separate resources; revoking them first lets groups that reference each other be deleted.
            revokeRulesOnDelete: true,
            tags: named(`${role}-sg`),
          },
          { ...child },
        );
        return [role, new aws.ec2.SecurityGroup(`${name}-${role}-sg`, sgArgs, sgOpts)];
      }),
    ) as Record<SecurityGroupRole, aws.ec2.SecurityGroup>;
    this.egressRules(name, config.vpc.cidr, securityGroups, child, tags);

    const [namespaceArgs, namespaceOpts] = transformed<aws.servicediscovery.HttpNamespaceArgs>(
      transform?.serviceNamespace,
      {
        name: awsName([name]),
        description: `stackport ${pulumi.getStack()} ${name}: ECS Service Connect names`,
        tags,
      },
      { ...child },
    );
    // Service Connect needs no DNS: an HTTP namespace is enough, and it creates no Route 53 zone to pay for.
    const serviceNamespace = new aws.servicediscovery.HttpNamespace(
      `${name}-services`,
      namespaceArgs,
      namespaceOpts,
    );
    const [clusterArgs, clusterOpts] = transformed<aws.ecs.ClusterArgs>(
      transform?.cluster,
      {
        name: awsName([name]),
        settings: [{ name: "containerInsights", value: "enabled" }],
        serviceConnectDefaults: { namespace: serviceNamespace.arn },
        tags,
      },
      { ...child },
    );
    const cluster = new aws.ecs.Cluster(`${name}-cluster`, clusterArgs, clusterOpts);

    this.nodes = {
      provider,
      vpc,
      publicSubnets,
      privateSubnets,
      natGateways,
      securityGroups,
      ...(flowLog && { flowLog }),
      cluster,
      serviceNamespace,
    };
    this.placement = {
      targetName: name,
      provider,
      region: config.region,
      vpcId: vpc.id,
      vpcCidr: config.vpc.cidr,
      publicSubnetIds: publicReady,
      privateSubnetIds: privateReady,
      securityGroups: {
        alb: securityGroups.alb.id,
        services: securityGroups.services.id,
        database: securityGroups.database.id,
        broker: securityGroups.broker.id,
      },
      cluster: { arn: cluster.arn, name: cluster.name },
      serviceConnect: { namespaceArn: serviceNamespace.arn },
      tags,
    };
    this.registerOutputs({
      vpcId: vpc.id,
      publicSubnetIds: publicReady,
      privateSubnetIds: privateReady,
      clusterName: cluster.name,
    });
  }

  /** Least-privilege egress: rules, never inline blocks, so components can add their own next to them. */
  private egressRules(
    name: string,
    vpcCidr: string,
    groups: Record<SecurityGroupRole, aws.ec2.SecurityGroup>,
    child: pulumi.CustomResourceOptions,
    tags: Record<string, string>,
  ) {
    const rule = (key: string, args: Omit<aws.vpc.SecurityGroupEgressRuleArgs, "tags">) =>
      new aws.vpc.SecurityGroupEgressRule(`${name}-${key}`, { ...args, tags }, child);
    // The ALB only talks to targets inside the VPC (the proxy tier adds nothing outward).
    rule("alb-to-vpc", {
      securityGroupId: groups.alb.id,
      description: "load balancer to targets in the VPC",
      ipProtocol: "tcp",
      fromPort: 0,
      toPort: 65535,
      cidrIpv4: vpcCidr,
    });
    // Tasks pull images (ECR, registries), read secrets and write logs over HTTPS through the NAT.
    rule("services-to-https", {
      securityGroupId: groups.services.id,
      description: "HTTPS: image registries, Secrets Manager, CloudWatch Logs, S3",
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
    });
    rule("services-to-database", {
      securityGroupId: groups.services.id,
      description: "PostgreSQL",
      ipProtocol: "tcp",
      fromPort: POSTGRES_PORT,
      toPort: POSTGRES_PORT,
      referencedSecurityGroupId: groups.database.id,
    });
    rule("services-to-broker", {
      securityGroupId: groups.services.id,
      description: "task broker (Redis)",
      ipProtocol: "tcp",
      fromPort: BROKER_PORT,
      toPort: BROKER_PORT,
      referencedSecurityGroupId: groups.broker.id,
    });
    // database and broker: no egress rule at all — they only answer.
  }

  private flowLogs(
    name: string,
    vpc: aws.ec2.Vpc,
    retentionInDays: number,
    child: pulumi.CustomResourceOptions,
    tags: Record<string, string>,
    transform?: Transform<aws.ec2.FlowLogArgs>,
  ): aws.ec2.FlowLog {
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-flow-logs`,
      { name: `/stackport/${pulumi.getStack()}/${name}/vpc-flow-logs`, retentionInDays, tags },
      child,
    );
    const role = new aws.iam.Role(
      `${name}-flow-logs-role`,
      {
        description: "VPC flow logs delivery to CloudWatch Logs",
        assumeRolePolicy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { Service: "vpc-flow-logs.amazonaws.com" },
              Action: "sts:AssumeRole",
            },
          ],
        }),
        tags,
      },
      child,
    );
    new aws.iam.RolePolicy(
      `${name}-flow-logs-delivery`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
              Resource: [logGroup.arn, pulumi.interpolate`${logGroup.arn}:*`],
            },
          ],
        }),
      },
      child,
    );
    const [flowArgs, flowOpts] = transformed<aws.ec2.FlowLogArgs>(
      transform,
      {
        vpcId: vpc.id,
        trafficType: "ALL",
        logDestinationType: "cloud-watch-logs",
        logDestination: logGroup.arn,
        iamRoleArn: role.arn,
        maxAggregationInterval: 60,
        tags,
      },
      { ...child },
    );
    return new aws.ec2.FlowLog(`${name}-flow-log`, flowArgs, flowOpts);
  }
}

/**
 * The placement of a target without a network: the provider, region and tags tiers like S3 need; every network field
 * throws, naming the target and the arg, so a tier that needs a VPC fails before registering anything.
 */
function withoutNetwork(
  base: Pick<AwsPlacement, "targetName" | "provider" | "region" | "tags">,
): AwsPlacement {
  const placement = { ...base } as AwsPlacement;
  for (const field of NETWORK_FIELDS) {
    Object.defineProperty(placement, field, {
      enumerable: false,
      get() {
        throw new ArgsError(`stackport:aws:Target '${base.targetName}'`, [
          {
            path: "network",
            message: `is false, but a tier placed on this target needs its network (placement.${field}: a VPC, subnets, security groups or the ECS cluster); leave network at its default (true)`,
          },
        ]);
      },
    });
  }
  return placement;
}

const NETWORK_FIELDS = [
  "vpcId",
  "vpcCidr",
  "publicSubnetIds",
  "privateSubnetIds",
  "securityGroups",
  "cluster",
  "serviceConnect",
] as const;

/**
 * A subnet id that resolves only once its routes exist: anything placed in the subnet (tasks pulling images, the
 * bootstrap job) then implicitly waits for egress, without knowing about route tables.
 */
function readyWhen(subnetId: pulumi.Output<string>, routes: pulumi.Output<string>[]): pulumi.Output<string> {
  return pulumi.all([subnetId, ...routes]).apply(([id]) => id);
}
