import * as pulumi from "@pulumi/pulumi";

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
 * The `MC_HOST_<alias>` value mc reads: `scheme://key:secret@host[:port]`. Credentials are percent-encoded — AWS
 * secret keys contain `/` and `+`, which would otherwise break the URL.
 */
export function mcHostUrl(endpoint: string, accessKeyId: string, secretAccessKey: string): string {
  const url = new URL(endpoint);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`S3 endpoint '${endpoint}' must be an http:// or https:// URL`);
  }
  return `${url.protocol}//${encodeURIComponent(accessKeyId)}:${encodeURIComponent(secretAccessKey)}@${url.host}`;
}

/** `mcHostUrl` of a connection, as a secret (it holds the credentials). */
export function mcHost(c: {
  endpoint: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
}): pulumi.Output<string> {
  return pulumi.secret(
    pulumi
      .all([c.endpoint, c.accessKeyId, c.secretAccessKey])
      .apply(([endpoint, key, secret]) => mcHostUrl(endpoint, key, secret)),
  );
}
