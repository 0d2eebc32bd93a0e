import * as pulumi from "@pulumi/pulumi";
import { arnPartition } from "../shared/awsNames";

/**
 * How consumers reach object storage, whichever backend made it (MinIO on Docker, S3 on AWS).
 * Credentials are Pulumi secrets end to end.
 */
export interface StorageConnection {
  /** S3 endpoint reachable from containers on the target's backend network, e.g. `http://storage:9000`. */
  endpoint: pulumi.Output<string>;
  /** Region to sign requests with (MinIO accepts any; `us-east-1` by convention). */
  region: pulumi.Output<string>;
  /** Physical bucket names by their stable key (`raw`, `derived`, `tiles`, `logs`, …). */
  buckets: Record<string, pulumi.Output<string>>;
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
  /** Path-style addressing (`endpoint/bucket/key`), needed by MinIO. */
  forcePathStyle: boolean;
}

/**
 * The `MC_HOST_<alias>` value mc reads: `scheme://key:secret@host[:port]`. mc splits it with two regular expressions
 * and uses the parts raw, never percent-decoding them (minio/mc `cmd/config.go`, `parseEnvURLStr`): the key ends at
 * the first `:`, the secret at the last `@`, and a second `:` starts a session token. So credentials go in as they
 * are (AWS secret keys with `/` and `+` included), and what mc would misread is refused, naming `owner` (whose
 * credential it is) but never the credential: a `:` in either, a line break, an empty key or secret.
 */
export function mcHostUrl(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
  owner: string,
): string {
  const url = new URL(endpoint);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${owner}: S3 endpoint '${endpoint}' must be an http:// or https:// URL`);
  }
  for (const [what, value] of [
    ["access key", accessKeyId],
    ["secret key", secretAccessKey],
  ] as const) {
    const problem =
      value === ""
        ? "is empty"
        : value.includes(":")
          ? "contains ':', which mc reads as the end of the key or the start of a session token"
          : /[\r\n]/.test(value)
            ? "contains a line break, which mc cannot read from MC_HOST_<alias>"
            : undefined;
    if (problem)
      throw new Error(`${owner}: the ${what} ${problem}; give it a credential without ':' or line breaks`);
  }
  return `${url.protocol}//${accessKeyId}:${secretAccessKey}@${url.host}`;
}

/** `mcHostUrl` of a connection, as a secret (it holds the credentials). `owner` names it in errors. */
export function mcHost(
  c: {
    endpoint: pulumi.Input<string>;
    accessKeyId: pulumi.Input<string>;
    secretAccessKey: pulumi.Input<string>;
  },
  owner: string,
): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([c.endpoint, c.accessKeyId, c.secretAccessKey])
      .apply(([endpoint, key, secret]) => mcHostUrl(endpoint, key, secret, owner)),
  );
}

// ---------------------------------------------------------------------------------------------------------
// On AWS, consumers reach S3 with a role scoped to the buckets they declare, never with keys.

/** A bucket's ARN, from its name: no lookup needed. */
export const bucketArn = (region: string, name: string) => `arn:${arnPartition(region)}:s3:::${name}`;

/** One statement of an IAM or bucket policy document. */
export interface PolicyStatement {
  Sid: string;
  Effect: "Allow" | "Deny";
  Principal?: unknown;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

/**
 * How a consumer uses a bucket: `read` lists and gets objects; `append` also puts them but never deletes (an
 * overwrite on a versioned bucket keeps the old version), e.g. a backup sync; `readwrite` also deletes.
 */
export type BucketAccess = "read" | "append" | "readwrite";
export const BUCKET_ACCESS: readonly BucketAccess[] = ["read", "append", "readwrite"];

/** One bucket a service declares, and how it uses it. */
export interface BucketGrant {
  arn: string;
  access: BucketAccess;
}

/**
 * The IAM policy document a consumer needs for the buckets it declares, and nothing else: list and get on every
 * declared bucket, put on the `append` and `readwrite` ones, delete only on the `readwrite` ones. Never
 * bucket-level configuration (policy, versioning, lifecycle, deletion of the bucket). The same document is a task
 * role's policy on AWS and a MinIO user's policy on Docker (MinIO reads AWS IAM syntax, these actions included).
 */
export function bucketAccessPolicy(grants: BucketGrant[]) {
  if (grants.length === 0) throw new Error("bucketAccessPolicy needs at least one bucket");
  const sorted = [...grants].sort((a, b) => a.arn.localeCompare(b.arn));
  const writable = sorted.filter((g) => g.access === "readwrite");
  const statements: PolicyStatement[] = [
    {
      Sid: "ListDeclaredBuckets",
      Effect: "Allow",
      Action: ["s3:GetBucketLocation", "s3:ListBucket"],
      Resource: sorted.map((g) => g.arn),
    },
    {
      Sid: "ReadObjects",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:GetObjectVersion"],
      Resource: sorted.map((g) => `${g.arn}/*`),
    },
  ];
  if (writable.length > 0) {
    statements.push({
      Sid: "WriteObjects",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      Resource: writable.map((g) => `${g.arn}/*`),
    });
  }
  const appendOnly = sorted.filter((g) => g.access === "append");
  if (appendOnly.length > 0) {
    statements.push({
      Sid: "AppendObjects",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: appendOnly.map((g) => `${g.arn}/*`),
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** `bucketArn` of a bucket name that is an Output (a physical name S3Storage computes). */
export function bucketArnOf(region: string, bucket: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(bucket).apply((name) => bucketArn(region, name));
}
