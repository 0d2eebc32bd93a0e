/**
 * The pure half of the AWS target: names, partitions, AZs, subnet carving, NAT planning and args checks. No
 * `@pulumi/aws` import, so a program can validate AWS args without loading the AWS SDK for Docker-only stacks.
 */
import type { ArgsIssue } from "../shared/errors";
import { IPV4_CIDR } from "../shared/formats";

// ---------------------------------------------------------------------------------------------------------
// Pure planning (no Pulumi): names, partitions, AZs, subnet CIDRs, NAT layout.

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
  if (!IPV4_CIDR.test(cidr)) return `'${cidr}' must be an IPv4 CIDR block like 10.40.0.0/16`;
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

/** Which AZ's NAT gateway each private subnet's default route uses (undefined: no egress). */
export function natFor(mode: NatMode, letters: string[]): Record<string, string | undefined> {
  return Object.fromEntries(
    letters.map((l) => [l, mode === "none" ? undefined : mode === "single" ? letters[0] : l]),
  );
}

/** The VPC settings of an AWS target; see `AwsTargetArgs.vpc`. */
export interface AwsVpcArgs {
  /** The VPC's IPv4 block, /16 to /24; cut into 16 subnets. Changing it replaces the whole network. @default "10.40.0.0/16" */
  cidr?: string;
  /** Availability zones (a public and a private subnet in each), 2 to 6. @default 2 */
  availabilityZones?: number;
  /** NAT gateways: `single` shared, one per AZ (`perAz`, egress survives an AZ outage), or `none`. @default "single" */
  natGateways?: NatMode;
  /** VPC flow logs to CloudWatch Logs. @default false */
  flowLogs?: boolean;
}

/** Defaults of `AwsTargetArgs`. */
export const AWS_TARGET_DEFAULTS = {
  vpc: { cidr: "10.40.0.0/16", availabilityZones: 2, natGateways: "single", flowLogs: false },
  flowLogRetentionDays: 30,
} as const;

export const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/;

/** What is wrong with an AWS target's args (empty when valid), each with its arg path. */
export function validateAwsTargetArgs(args: {
  region: string;
  assumeRoleArn?: string | undefined;
  vpc?: AwsVpcArgs | undefined;
}): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  if (!AWS_REGION.test(args.region))
    issues.push({ path: "region", message: "must be an AWS region like eu-west-1" });
  if (args.assumeRoleArn !== undefined && !IAM_ROLE_ARN.test(args.assumeRoleArn))
    issues.push({ path: "assumeRoleArn", message: "must be an IAM role ARN" });
  const problem = vpcCidrProblem(args.vpc?.cidr ?? AWS_TARGET_DEFAULTS.vpc.cidr);
  if (problem) issues.push({ path: "vpc.cidr", message: problem });
  const zones = args.vpc?.availabilityZones;
  if (zones !== undefined && !(Number.isInteger(zones) && zones >= 2 && zones <= AZ_LETTERS.length))
    issues.push({
      path: "vpc.availabilityZones",
      message: `must be a whole number from 2 to ${AZ_LETTERS.length}`,
    });
  return issues;
}
