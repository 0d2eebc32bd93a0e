/**
 * Published ports of ECS services: one internet-facing Network Load Balancer per tier in the public subnets, with its
 * own security group open to each port's `allowFrom` CIDRs only (the ALB's allow-list model), one listener and one
 * target group (ip targets) per port, and the services group opened to the load balancer on those ports alone.
 * Children are created under the tier component that calls `publishPorts`.
 */
import * as aws from "../shared/aws";
import type * as pulumi from "@pulumi/pulumi";
import { awsName } from "../shared/awsNames";
import type { PublishedTargetPort } from "../shared/fargateService";
import { standardLabels } from "../shared/labels";
import type { AwsPlacement } from "../shared/placement";
import type { EcsPublishedPortArgs } from "./settings";

/** Tag on the NLB's ingress rules: the `aws-sg-no-public-ingress` rule treats them as load balancer ingress. */
export const NLB_INGRESS_TAG = { "stackport.ingress": "nlb" } as const;

/** The ports of one service with their defaults applied. */
export interface ResolvedPort {
  port: number;
  protocol: "tcp" | "udp";
  publishedPort: number;
  allowFrom: string[];
  /** The TCP port the target group checks (a UDP port is checked over TCP on the service's `port`). */
  healthPort: number;
}

export const resolvePort = (p: EcsPublishedPortArgs, servicePort: number | undefined): ResolvedPort => {
  const protocol = p.protocol ?? "tcp";
  return {
    port: p.port,
    protocol,
    publishedPort: p.publishedPort ?? p.port,
    allowFrom: [...new Set(p.allowFrom)].sort(),
    healthPort: protocol === "udp" ? (servicePort ?? p.port) : p.port,
  };
};

const cidrSlug = (cidr: string) => cidr.replace(/[./]/g, "-");

export interface PublishedPorts {
  securityGroup: aws.ec2.SecurityGroup;
  loadBalancer: aws.lb.LoadBalancer;
  /** By `<svc>-<protocol>-<port>`. */
  targetGroups: Record<string, aws.lb.TargetGroup>;
  listeners: Record<string, aws.lb.Listener>;
  /** What each service registers in: its target groups, by service. */
  byService: Record<string, PublishedTargetPort[]>;
}

/** Creates the tier's NLB for `ports` (service → resolved ports; at least one port overall). */
export function publishPorts(
  parent: pulumi.Resource,
  name: string,
  placement: AwsPlacement,
  ports: Record<string, ResolvedPort[]>,
): PublishedPorts {
  const child = { parent, provider: placement.provider };
  const tags = standardLabels("ingestion");
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-nlb-sg`,
    {
      vpcId: placement.vpcId,
      description: "stackport published ports: listeners from allowed CIDRs, out to the services",
      revokeRulesOnDelete: true,
      tags: { ...tags, Name: awsName([name, "nlb"]) },
    },
    child,
  );
  const loadBalancer = new aws.lb.LoadBalancer(
    `${name}-nlb`,
    {
      name: awsName([name], 32),
      loadBalancerType: "network",
      internal: false,
      subnets: placement.publicSubnetIds,
      securityGroups: [securityGroup.id],
      enableCrossZoneLoadBalancing: true,
      tags,
    },
    child,
  );

  const targetGroups: Record<string, aws.lb.TargetGroup> = {};
  const listeners: Record<string, aws.lb.Listener> = {};
  const byService: Record<string, PublishedTargetPort[]> = {};
  const opened = new Set<string>();
  for (const svc of Object.keys(ports).sort()) {
    byService[svc] = [];
    for (const p of ports[svc]!) {
      const key = `${svc}-${p.protocol}-${p.port}`;
      const protocol = p.protocol.toUpperCase();
      for (const cidr of p.allowFrom) {
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-nlb-in-${p.protocol}-${p.publishedPort}-${cidrSlug(cidr)}`,
          {
            securityGroupId: securityGroup.id,
            ipProtocol: p.protocol,
            fromPort: p.publishedPort,
            toPort: p.publishedPort,
            cidrIpv4: cidr,
            description: `${svc} ${protocol} ${p.publishedPort} from ${cidr}`,
            tags: { ...tags, ...NLB_INGRESS_TAG },
          },
          child,
        );
      }
      const portKey = `${p.protocol}-${p.port}`;
      const toOpen =
        p.protocol === "udp" && p.healthPort !== p.port ? [portKey, `tcp-${p.healthPort}`] : [portKey];
      for (const k of toOpen.filter((k) => !opened.has(k))) {
        opened.add(k);
        const [proto, port] = k.split("-") as ["tcp" | "udp", string];
        // The NLB forwards to (and health-checks) the tasks' addresses in the VPC: nothing else may use this group.
        new aws.vpc.SecurityGroupEgressRule(
          `${name}-nlb-to-services-${k}`,
          {
            securityGroupId: securityGroup.id,
            ipProtocol: proto,
            fromPort: Number(port),
            toPort: Number(port),
            referencedSecurityGroupId: placement.securityGroups.services,
            description: `to the services on ${proto.toUpperCase()} ${port}`,
            tags,
          },
          child,
        );
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-services-from-nlb-${k}`,
          {
            securityGroupId: placement.securityGroups.services,
            ipProtocol: proto,
            fromPort: Number(port),
            toPort: Number(port),
            referencedSecurityGroupId: securityGroup.id,
            description: `from the published-ports NLB on ${proto.toUpperCase()} ${port}`,
            tags,
          },
          child,
        );
      }
      const targetGroup = new aws.lb.TargetGroup(
        `${name}-nlb-${key}`,
        {
          name: awsName([name, key], 32),
          port: p.port,
          protocol,
          targetType: "ip",
          vpcId: placement.vpcId,
          deregistrationDelay: 30,
          healthCheck: {
            protocol: "TCP",
            port: p.healthPort === p.port && p.protocol === "tcp" ? "traffic-port" : String(p.healthPort),
            interval: 15,
            healthyThreshold: 2,
            unhealthyThreshold: 3,
          },
          tags: { ...tags, "stackport.service": svc },
        },
        child,
      );
      targetGroups[key] = targetGroup;
      listeners[key] = new aws.lb.Listener(
        `${name}-nlb-listener-${p.protocol}-${p.publishedPort}`,
        {
          loadBalancerArn: loadBalancer.arn,
          port: p.publishedPort,
          protocol,
          defaultActions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
          tags,
        },
        child,
      );
      byService[svc]!.push({ port: p.port, protocol: p.protocol, targetGroupArn: targetGroup.arn });
    }
  }
  return { securityGroup, loadBalancer, targetGroups, listeners, byService };
}
