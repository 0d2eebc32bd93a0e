/**
 * Security groups: no ingress from the whole internet, except HTTP/HTTPS to the load balancer — the proxy tier on
 * AWS, recognised by its `stackport.tier=proxy` tag.
 */
import { asArray, awsTags, resourceRule } from "./common";

export const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
export const INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
export const LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";

const ANYWHERE = new Set(["0.0.0.0/0", "::/0"]);
const WEB_PORTS = new Set([80, 443]);

interface Ingress {
  protocol: string;
  from: number;
  to: number;
  cidrs: string[];
}

function isAllowedAlbIngress(i: Ingress, tags: Map<string, string>): boolean {
  const tcp = i.protocol === "tcp" || i.protocol === "6";
  return tags.get("stackport.tier") === "proxy" && tcp && i.from === i.to && WEB_PORTS.has(i.from);
}

export const sgNoPublicIngress = resourceRule(
  {
    name: "aws-sg-no-public-ingress",
    description:
      "Security groups must not allow ingress from 0.0.0.0/0 or ::/0, except HTTP/HTTPS to the load balancer.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Allow ingress from the load balancer's security group (`referencedSecurityGroupId`) or a known CIDR; only the proxy tier's load balancer may take 80/443 from anywhere.",
    area: "aws-network",
    appliesTo: [SECURITY_GROUP, INGRESS_RULE, LEGACY_RULE],
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
    for (const i of ingress) {
      const open = i.cidrs.filter((c) => ANYWHERE.has(c));
      if (open.length === 0 || isAllowedAlbIngress(i, tags)) continue;
      const ports =
        i.protocol === "-1" ? "all ports" : i.from === i.to ? `port ${i.from}` : `ports ${i.from}-${i.to}`;
      report(`ingress from ${open.join(", ")} to ${ports}/${i.protocol === "-1" ? "all" : i.protocol}`);
    }
  },
);

export const networkRules = [sgNoPublicIngress];
