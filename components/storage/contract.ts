import type * as pulumi from "@pulumi/pulumi";

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
