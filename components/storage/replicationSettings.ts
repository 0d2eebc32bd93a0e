/**
 * The pure half of S3 cross-region replication (`S3StorageArgs.replication`): its args, checks and the replication
 * role's policy. No provider import, so the config checks can use it without loading the AWS SDK.
 */
import type * as aws from "../shared/aws";
import type { ArgsIssue } from "../shared/errors";
import type { PolicyStatement } from "./contract";
import type { Bucket } from "./settings";

/** `S3StorageArgs.replication`. */
export interface S3ReplicationArgs {
  /** The replicas' region; not the buckets' own. */
  region: string;
  /**
   * A provider for `region`, same account as the target's.
   * @default one made here for `region`, with the target's tags and `assumeRoleArn`
   */
  provider?: aws.Provider;
  /** The role the made provider assumes (the target's `assumeRoleArn`). @default the caller's credentials */
  assumeRoleArn?: string;
  /** Bucket keys to replicate; each must be versioned (S3 replicates versions). @default every versioned bucket */
  buckets?: string[];
  /** Storage class of the replicas. @default "STANDARD_IA" */
  storageClass?: "STANDARD" | "STANDARD_IA" | "ONEZONE_IA" | "INTELLIGENT_TIERING" | "GLACIER_IR";
}

/** What is wrong with `replication` (empty when valid). */
export function validateS3Replication(
  replication: Omit<S3ReplicationArgs, "provider"> | undefined,
  ctx: { region?: string | undefined; buckets: Record<string, Bucket>; kmsKeyArn?: string | undefined },
): ArgsIssue[] {
  if (!replication) return [];
  const issues: ArgsIssue[] = [];
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(replication.region))
    issues.push({
      path: "replication.region",
      message: `must be an AWS region like eu-central-1 (got '${replication.region}')`,
    });
  else if (replication.region === ctx.region)
    issues.push({
      path: "replication.region",
      message: "must differ from the buckets' own region (a replica there survives nothing)",
    });
  if (ctx.kmsKeyArn !== undefined)
    issues.push({
      path: "replication",
      message: "replicating SSE-KMS buckets is not supported: use SSE-S3 (no kmsKeyArn)",
    });
  for (const key of replication.buckets ?? []) {
    const bucket = ctx.buckets[key];
    if (!bucket)
      issues.push({
        path: "replication.buckets",
        message: `unknown bucket '${key}' (buckets: ${Object.keys(ctx.buckets).join(", ")})`,
      });
    else if (!bucket.versioning)
      issues.push({
        path: "replication.buckets",
        message: `bucket '${key}' is not versioned: S3 replicates only versioned buckets`,
      });
  }
  return issues;
}

/** The keys a replication applies to: the listed ones, or every versioned bucket. */
export function replicatedBuckets(
  replication: { buckets?: string[] },
  buckets: Record<string, Bucket>,
): string[] {
  return replication.buckets ?? Object.keys(buckets).filter((k) => buckets[k]!.versioning);
}

/** The replication role's policy: read the sources' versions, replicate into the replicas, nothing else. */
export function replicationPolicyDocument(sources: string[], replicas: string[]) {
  const statements: PolicyStatement[] = [
    {
      Sid: "ReadSourceConfiguration",
      Effect: "Allow",
      Action: ["s3:GetReplicationConfiguration", "s3:ListBucket"],
      Resource: sources,
    },
    {
      Sid: "ReadSourceVersions",
      Effect: "Allow",
      Action: ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
      Resource: sources.map((s) => `${s}/*`),
    },
    {
      Sid: "ReplicateIntoReplicas",
      Effect: "Allow",
      Action: ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
      Resource: replicas.map((r) => `${r}/*`),
    },
  ];
  return { Version: "2012-10-17", Statement: statements };
}
