/**
 * Cross-region replication of `S3Storage` buckets (backups that survive a region): per replicated bucket a replica
 * bucket in another region (versioned, private, SSE-S3, TLS-only, the source's lifecycle), S3 replication of every
 * new object version and delete marker into it, and one IAM role S3 assumes that may only read the sources'
 * versions and replicate into the replicas. Objects that existed before replication was turned on are not copied
 * (S3 Batch Replication does that; see docs/runbooks/point-in-time-recovery.md).
 */
import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import { type StatefulSafety, statefulOptions } from "../shared/component";
import { standardLabels } from "../shared/labels";
import { type S3BucketNodes, bucketGuards } from "./bucketGuards";
import { bucketArn } from "./contract";
import { type S3ReplicationArgs, replicationPolicyDocument } from "./replicationSettings";
import type { Bucket } from "./settings";

export type { S3ReplicationArgs } from "./replicationSettings";

/** A replica bucket: the children of a served bucket, and the source's replication configuration. */
export interface ReplicaNodes extends S3BucketNodes {
  replication: aws.s3.BucketReplicationConfig;
}

/** The replicas, the role and each source's replication configuration. */
export function createReplication(
  name: string,
  parent: pulumi.Resource,
  args: {
    replication: S3ReplicationArgs;
    safety: StatefulSafety;
    /** By key: the source bucket, its versioning, its settings, and the replica's physical name. */
    sources: Record<
      string,
      {
        bucket: aws.s3.Bucket;
        versioning: aws.s3.BucketVersioning;
        config: Bucket;
        replicaName: string;
        arn: string;
      }
    >;
    sourceProvider: aws.Provider;
    tags: Record<string, string>;
    policyDocument: (arn: string) => object;
    lifecycleRules: (config: Bucket) => aws.types.input.s3.BucketLifecycleConfigurationRule[];
  },
) {
  const { replication, safety, sources } = args;
  const region = replication.region;
  const tags = standardLabels("storage");
  const provider =
    replication.provider ??
    new aws.Provider(
      `${name}-replica-aws`,
      {
        region,
        defaultTags: { tags: args.tags },
        ...(replication.assumeRoleArn && {
          assumeRoles: [
            { roleArn: replication.assumeRoleArn, sessionName: `stackport-${pulumi.getStack()}` },
          ],
        }),
      },
      { parent },
    );
  const child = { parent, provider };
  const keys = Object.keys(sources).sort();
  const replicaArns = keys.map((k) => bucketArn(region, sources[k]!.replicaName));
  const role = new aws.iam.Role(
    `${name}-replication-role`,
    {
      description: "stackport storage: S3 replication into the replica region",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" },
        ],
      }),
      tags,
    },
    { parent, provider: args.sourceProvider },
  );
  const rolePolicy = new aws.iam.RolePolicy(
    `${name}-replication-policy`,
    {
      role: role.id,
      policy: JSON.stringify(
        replicationPolicyDocument(
          keys.map((k) => sources[k]!.arn),
          replicaArns,
        ),
      ),
    },
    { parent, provider: args.sourceProvider },
  );
  const replicas: Record<string, ReplicaNodes> = {};
  for (const key of keys) {
    const source = sources[key]!;
    const base = `${name}-${key}-replica`;
    const bucket = new aws.s3.Bucket(
      base,
      { bucket: source.replicaName, tags: { ...tags, "stackport.bucket": key, "stackport.replica-of": key } },
      statefulOptions(parent, safety, { provider }),
    );
    const ref = { bucket: bucket.bucket };
    const { publicAccessBlock, ownership, encryption } = bucketGuards(base, ref.bucket, undefined, child);
    const versioning = new aws.s3.BucketVersioning(
      `${base}-versioning`,
      { ...ref, versioningConfiguration: { status: "Enabled" } },
      child,
    );
    const rules = args.lifecycleRules(source.config);
    const lifecycle =
      rules.length > 0
        ? new aws.s3.BucketLifecycleConfiguration(
            `${base}-lifecycle`,
            { ...ref, rules },
            { ...child, dependsOn: [versioning] },
          )
        : undefined;
    const policy = new aws.s3.BucketPolicy(
      `${base}-policy`,
      { ...ref, policy: JSON.stringify(args.policyDocument(bucketArn(region, source.replicaName))) },
      { ...child, dependsOn: [publicAccessBlock] },
    );
    const config = new aws.s3.BucketReplicationConfig(
      `${name}-${key}-replication`,
      {
        bucket: source.bucket.bucket,
        role: role.arn,
        rules: [
          {
            id: "stackport-replica",
            status: "Enabled",
            filter: {},
            // Deletions reach the replica as delete markers: its versions still hold the data.
            deleteMarkerReplication: { status: "Enabled" },
            destination: { bucket: bucket.arn, storageClass: replication.storageClass ?? "STANDARD_IA" },
          },
        ],
      },
      // Both sides must be versioned first, and the role allowed.
      { parent, provider: args.sourceProvider, dependsOn: [source.versioning, versioning, rolePolicy] },
    );
    replicas[key] = {
      bucket,
      publicAccessBlock,
      ownership,
      encryption,
      versioning,
      policy,
      replication: config,
      ...(lifecycle && { lifecycle }),
    };
  }
  return { provider, role, rolePolicy, replicas };
}
