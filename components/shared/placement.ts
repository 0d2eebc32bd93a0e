/**
 * The placements: what a tier needs from the target it is placed on. A target component (components/targets/)
 * produces one; every tier component takes one as its `placement` arg. Type-only imports: neither provider SDK is
 * loaded by this module.
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type * as aws from "./aws";

/**
 * What a tier needs to place containers on a Docker target: the provider to pass to every child, and the names of
 * the two networks. `edge` carries proxied traffic; `backend` is where stateful services live.
 */
export interface DockerPlacement {
  targetName: string;
  provider: docker.Provider;
  edgeNetwork: pulumi.Output<string>;
  backendNetwork: pulumi.Output<string>;
  /** Directory on the Docker host for stackport's files. */
  dataRoot: string;
  /** True when the Docker daemon is reached over SSH. */
  remote: boolean;
}

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
  /**
   * The cluster's ECS Service Connect namespace (Cloud Map, HTTP): services that join it reach each other by the
   * names they have on Docker (`redpanda:9092`). Absent: a hand-made placement without one; services then get no
   * service discovery.
   */
  serviceConnect?: { namespaceArn: pulumi.Output<string> };
  /** Tags applied to every resource (also set as provider default tags). */
  tags: Record<string, string>;
}
