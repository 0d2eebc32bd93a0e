/**
 * The pure half of the AWS target: names, partitions, AZs, subnet carving, NAT planning and config checks. No
 * `@pulumi/aws` import, so config resolution can use it without loading the AWS SDK for Docker-only stacks.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ConfigIssue } from "../config/errors";
import { configKey } from "../config/keys";
import type { AwsTargetConfig, Environment } from "../config/schema";
import { physicalName } from "../../components/shared/naming";

// ---------------------------------------------------------------------------------------------------------
// Pure planning (no Pulumi): names, partitions, AZs, subnet CIDRs, NAT layout.

/**
 * Physical name of an account-scoped AWS resource: `<project>-<stack>-<parts…>`. The project is included because
 * one AWS account often hosts several Pulumi projects; like every physical name it hashes rather than truncates.
 */
export function awsName(parts: string[], max = 63): string {
  return physicalName([pulumi.getProject(), pulumi.getStack(), ...parts], max);
}

/** The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`): needed to build ARNs without an API call. */
export function arnPartition(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/** DNS suffix of a region's service endpoints. */
export function awsDnsSuffix(region: string): string {
  return region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
}

const AZ_LETTERS = "abcdef";

/**
 * Availability zone names `<region>a`, `<region>b`, … — derived, not looked up: an invoke would make previews depend
 * on live AWS state (and mocks return nothing for invokes). Every region has at least `a`–`c`; a few accounts lack
 * a letter in older regions (e.g. us-east-1), and then the subnet in that AZ fails to create with a clear AWS error.
 */
export function availabilityZones(region: string, count: number): { letter: string; name: string }[] {
  if (count < 1 || count > AZ_LETTERS.length) throw new Error(`availability zone count ${count} must be 1–6`);
  return [...AZ_LETTERS.slice(0, count)].map((letter) => ({ letter, name: `${region}${letter}` }));
}

interface Ipv4Block {
  base: number;
  prefix: number;
}

function parseBlock(cidr: string): Ipv4Block {
  const [address, prefixText] = cidr.split("/");
  const octets = address!.split(".").map(Number);
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  return { base, prefix: prefixText === undefined ? 32 : Number(prefixText) };
}

function formatBlock({ base, prefix }: Ipv4Block): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefix}`;
}

/** Each subnet is 1/16 of the VPC: private subnets take slots 0–5, public subnets slots 8–13. */
const SUBNET_EXTRA_BITS = 4;
const PUBLIC_SLOT_OFFSET = 8;
/** AWS accepts VPC and subnet blocks between /16 and /28. */
const MIN_VPC_PREFIX = 16;
const MAX_VPC_PREFIX = 28 - SUBNET_EXTRA_BITS;

/** What is wrong with a VPC CIDR for stackport's subnet layout, or undefined. */
export function vpcCidrProblem(cidr: string): string | undefined {
  const block = parseBlock(cidr);
  if (block.prefix < MIN_VPC_PREFIX || block.prefix > MAX_VPC_PREFIX) {
    return `'${cidr}' must be a /${MIN_VPC_PREFIX} to /${MAX_VPC_PREFIX} block (AWS allows /16–/28 and stackport cuts it into 16 subnets)`;
  }
  if (block.base % 2 ** (32 - block.prefix) !== 0) {
    return `'${cidr}' has host bits set; use the network address ${formatBlock({ base: block.base - (block.base % 2 ** (32 - block.prefix)), prefix: block.prefix })}`;
  }
  return undefined;
}

export interface SubnetPlan {
  /** AZ letter: the stable key in child names (`<target>-private-a`). */
  letter: string;
  availabilityZone: string;
  publicCidr: string;
  privateCidr: string;
}

/**
 * Carves the VPC into one public and one private subnet per AZ. Deterministic and prefix-stable: adding an AZ adds
 * subnets and never moves existing ones, so growing from 2 to 3 AZs replaces nothing.
 */
export function carveSubnets(vpcCidr: string, region: string, azCount: number): SubnetPlan[] {
  const problem = vpcCidrProblem(vpcCidr);
  if (problem) throw new Error(problem);
  const vpc = parseBlock(vpcCidr);
  const prefix = vpc.prefix + SUBNET_EXTRA_BITS;
  const size = 2 ** (32 - prefix);
  const slot = (i: number) => formatBlock({ base: vpc.base + i * size, prefix });
  return availabilityZones(region, azCount).map(({ letter, name }, i) => ({
    letter,
    availabilityZone: name,
    privateCidr: slot(i),
    publicCidr: slot(PUBLIC_SLOT_OFFSET + i),
  }));
}

export type NatMode = "none" | "single" | "perAz";

/** @default `perAz` in production (an AZ outage keeps egress elsewhere), `single` elsewhere (one NAT costs less) */
export function natMode(environment: Environment, configured: NatMode | undefined): NatMode {
  return configured ?? (environment === "production" ? "perAz" : "single");
}

/** Which AZ's NAT gateway each private subnet's default route uses (undefined: no egress). */
export function natFor(mode: NatMode, letters: string[]): Record<string, string | undefined> {
  return Object.fromEntries(
    letters.map((l) => [l, mode === "none" ? undefined : mode === "single" ? letters[0] : l]),
  );
}

/** Configuration problems of an AWS target, each naming its config key. */
export function awsTargetIssues(name: string, config: AwsTargetConfig): ConfigIssue[] {
  const problem = vpcCidrProblem(config.vpc.cidr);
  return problem ? [{ key: configKey(["targets", name, "vpc", "cidr"]), message: problem }] : [];
}
