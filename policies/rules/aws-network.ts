/**
 * Security groups: no ingress from the whole internet. A stack whose load balancer is meant for everyone names the
 * ports in its own policy config (`publicIngress`, reviewed in the PR); even then only the proxy tier's rules (the
 * load balancer's, tagged `stackport.tier=proxy`) may use them. Before, 80/443 to the load balancer passed by
 * default, so `allowedCidrs: [0.0.0.0/0]` in production opened it to the world with no violation. The ingestion
 * tier's Network Load Balancer (published ports, its ingress rules tagged `stackport.ingress=nlb`) takes the same
 * exception for its listener ports, TCP or UDP: `0.0.0.0/0` in a port's `allowFrom` needs that reviewed line too.
 */
import { asArray, awsTags, resourceRule } from "./common";

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
export const LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";

const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);

interface Ingress {
  protocol: string;
  from: number;
  to: number;
  cidrs: string[];
}

/** The tag the ingestion tier's Network Load Balancer puts on its listener ingress rules (components/ingestion/nlb.ts). */
const NLB_INGRESS = ["stackport.ingress", "nlb"] as const;

/** Ingress to a load balancer on a port the stack's policy config lists: the ALB (TCP) or the published-ports NLB. */
function isAllowedLbIngress(i: Ingress, tags: Map<string, string>, publicPorts: Set<number>): boolean {
  const tcp = i.protocol === "tcp" || i.protocol === "6";
  const udp = i.protocol === "udp" || i.protocol === "17";
  const alb = tags.get("stackport.tier") === "proxy" && tcp;
  const nlb = tags.get(NLB_INGRESS[0]) === NLB_INGRESS[1] && (tcp || udp);
  return (alb || nlb) && i.from === i.to && publicPorts.has(i.from);
}

export const sgNoPublicIngress = resourceRule(
  {
    name: "aws-sg-no-public-ingress",
    description:
      "Security groups must not allow ingress from 0.0.0.0/0 or ::/0, except to a load balancer (ALB, NLB) on ports the stack's policy config lists.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      'Allow ingress from the load balancer\'s security group (`referencedSecurityGroupId`) or known CIDRs (the proxy\'s `aws.allowedCidrs`, a published port\'s `allowFrom`). A load balancer meant for everyone lists its ports in this rule\'s `publicIngress` in `policies/config/<stack>.json`, e.g. `{ "enforcementLevel": "mandatory", "publicIngress": [80, 443] }` (443 of the ALB) or `[1883]` (an MQTT port on the published-ports NLB).',
    area: "aws-network",
    appliesTo: [SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE],
    configSchema: {
      properties: {
        publicIngress: {
          type: "array",
          items: { type: "integer", minimum: 1, maximum: 65535 },
          default: [],
          description:
            "Ports a load balancer may take from anywhere (the ALB's TCP ports, the published-ports NLB's listener ports); a reviewed exception, empty by default.",
        },
      },
    },
  },
  (props, args, report) => {
    const ingress: Ingress[] = [];
    if (args.type === SECURITY_GROUP) {
      for (const r of asArray(props.ingress)) {
        ingress.push({
          protocol: String(r?.protocol ?? ""),
          from: Number(r?.fromPort),
          to: Number(r?.toPort),
          cidrs: [...asArray<string>(r?.cidrBlocks), ...asArray<string>(r?.ipv6CidrBlocks)],
        });
      }
    } else if (args.type === INGRESS_RULE) {
      ingress.push({
        protocol: String(props.ipProtocol ?? ""),
        from: Number(props.fromPort),
        to: Number(props.toPort),
        cidrs: [props.cidrIpv4, props.cidrIpv6].filter((c): c is string => typeof c === "string"),
      });
    } else if (props.type === "ingress") {
      ingress.push({
        protocol: String(props.protocol ?? ""),
        from: Number(props.fromPort),
        to: Number(props.toPort),
        cidrs: [...asArray<string>(props.cidrBlocks), ...asArray<string>(props.ipv6CidrBlocks)],
      });
    }
    const tags = awsTags(props.tags);
    const publicPorts = new Set(args.getConfig<{ publicIngress: number[] }>().publicIngress);
    for (const i of ingress) {
      const open = i.cidrs.filter((c) => ANYWHERE.has(c));
      if (open.length === 0 || isAllowedLbIngress(i, tags, publicPorts)) continue;
      const ports =
        i.protocol === "-1" ? "all ports" : i.from === i.to ? `port ${i.from}` : `ports ${i.from}-${i.to}`;
      const listed = [...publicPorts].sort((a, b) => a - b).join(", ") || "none";
      report(
        `ingress from ${open.join(", ")} to ${ports}/${i.protocol === "-1" ? "all" : i.protocol}: open to the whole internet (publicIngress lists ${listed}); restrict it to known CIDRs (the proxy's aws.allowedCidrs, a published port's allowFrom)`,
      );
    }
  },
);

export const networkRules = [sgNoPublicIngress];
