/**
 * Names and ARN pieces of AWS resources, derived without an API call (so previews never depend on live AWS state).
 * No `@pulumi/aws` import.
 */
import * as pulumi from "@pulumi/pulumi";
import { physicalName } from "./naming";

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
