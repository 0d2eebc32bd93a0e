/**
 * What a tier needs to place resources on an AWS target. Type-only imports: a stack with no AWS tier never loads
 * `@pulumi/aws` (the AwsTarget class that produces this is required lazily by platform.ts).
 */
import type * as aws from "../shared/aws";
import type * as pulumi from "@pulumi/pulumi";

export interface AwsPlacement {
  targetName: string;
  /** The explicit provider every AWS child must use (`{ provider }`), with the target's default tags. */
  provider: aws.Provider;
  region: string;
  vpcId: pulumi.Output<string>;
  vpcCidr: string;
  /** One subnet per availability zone, in AZ order. Public: ALB, NAT. Private: tasks, RDS, caches. */
  publicSubnetIds: pulumi.Output<string>[];
  privateSubnetIds: pulumi.Output<string>[];
  /**
   * One security group per tier, created empty by the target (no inline rules). Components add least-privilege
   * rules with `aws.vpc.SecurityGroupIngressRule` / `EgressRule` resources: the ALB opens 80/443 to its CIDRs,
   * each service opens its port to the ALB group, the database opens 5432 to the service groups.
   */
  securityGroups: {
    alb: pulumi.Output<string>;
    services: pulumi.Output<string>;
    database: pulumi.Output<string>;
    broker: pulumi.Output<string>;
  };
  /** The ECS cluster (Container Insights on) shared by services, scheduled tasks and one-off jobs. */
  cluster: { arn: pulumi.Output<string>; name: pulumi.Output<string> };
  /** Tags applied to every resource (also set as provider default tags). */
  tags: Record<string, string>;
}
