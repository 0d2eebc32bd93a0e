import * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement } from "../shared/placement";
import { iam } from "../shared/aws";
import { physicalName } from "../shared/naming";
import { bucketAccessPolicy } from "./contract";

export interface S3MirrorCredentialsArgs {
  placement: AwsPlacement;
  /** ARNs of the buckets the mirror copies. */
  bucketArns: string[];
  /** The S3 side is the cutover's target: the mirror writes and deletes there. Else it only reads. */
  writable: boolean;
  /** The buckets' customer-managed KMS key (`stackport:storage.aws.kmsKeyArn`), when they use one. */
  kmsKeyArn?: string;
}

/**
 * Credentials for an object mirror running on a Docker host, which has no task role to assume: an IAM user whose
 * only rights are the cutover's buckets (read, or read-write-delete when S3 is the target), and one access key.
 * The platform creates them only in the phases that copy objects, so the key is deleted when the cutover moves
 * past `backfill`. The secret is a Pulumi secret, like every credential.
 */
export function s3MirrorCredentials(name: string, parent: pulumi.Resource, args: S3MirrorCredentialsArgs) {
  const child = { parent, provider: args.placement.provider };
  const user = new iam.User(
    `${name}-user`,
    {
      name: physicalName(["stackport", pulumi.getStack(), "storage-mirror"], 64),
      path: "/stackport/",
      tags: args.placement.tags,
    },
    child,
  );
  new iam.UserPolicy(
    `${name}-policy`,
    { user: user.name, policy: JSON.stringify(mirrorPolicyDocument(args)) },
    child,
  );
  const key = new iam.AccessKey(`${name}-key`, { user: user.name }, child);
  return { accessKeyId: pulumi.secret(key.id), secretAccessKey: pulumi.secret(key.secret) };
}

/** The buckets' access policy, plus use of their KMS key when they are encrypted with a customer key. */
export function mirrorPolicyDocument(args: Omit<S3MirrorCredentialsArgs, "placement">) {
  const access = args.writable ? "readwrite" : "read";
  const doc = bucketAccessPolicy(args.bucketArns.map((arn) => ({ arn, access })));
  if (!args.kmsKeyArn) return doc;
  const actions = args.writable ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"];
  return {
    ...doc,
    Statement: [
      ...doc.Statement,
      { Sid: "UseBucketKey", Effect: "Allow", Action: actions, Resource: [args.kmsKeyArn] },
    ],
  };
}
