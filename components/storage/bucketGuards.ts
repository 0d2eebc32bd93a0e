/**
 * The guards every S3 bucket stackport creates gets, the served buckets and their cross-region replicas alike: no
 * public access, no ACLs (the bucket owner owns every object), encryption at rest by default.
 */
import * as aws from "../shared/aws";
import type * as pulumi from "@pulumi/pulumi";

export interface BucketGuards {
  publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  ownership: aws.s3.BucketOwnershipControls;
  encryption: aws.s3.BucketServerSideEncryptionConfiguration;
}

/** The children of one S3 bucket stackport creates (`S3Storage.nodes.buckets`, and each replica). */
export interface S3BucketNodes extends BucketGuards {
  bucket: aws.s3.Bucket;
  versioning: aws.s3.BucketVersioning;
  lifecycle?: aws.s3.BucketLifecycleConfiguration;
  policy: aws.s3.BucketPolicy;
}

/**
 * `<base>-public-access-block`, `<base>-ownership` and `<base>-encryption` for the bucket named by `bucket` (its
 * output, which also records the dependency): SSE-KMS with a bucket key when `kmsKeyArn` is given, SSE-S3 otherwise.
 */
export function bucketGuards(
  base: string,
  bucket: pulumi.Input<string>,
  kmsKeyArn: pulumi.Input<string> | undefined,
  opts: pulumi.CustomResourceOptions,
): BucketGuards {
  const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
    `${base}-public-access-block`,
    {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    opts,
  );
  const ownership = new aws.s3.BucketOwnershipControls(
    `${base}-ownership`,
    { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } },
    opts,
  );
  const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
    `${base}-encryption`,
    {
      bucket,
      rules: [
        kmsKeyArn
          ? {
              applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
              // One data key per bucket instead of per object: far fewer (billed) KMS calls.
              bucketKeyEnabled: true,
            }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    },
    opts,
  );
  return { publicAccessBlock, ownership, encryption };
}
