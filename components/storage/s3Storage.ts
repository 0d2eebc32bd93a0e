import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { type StatefulSafety, type Transform, statefulOptions, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import { standardLabels } from "../shared/labels";
import { physicalName } from "../shared/naming";
import type { AwsPlacement } from "../shared/placement";
import { awsDnsSuffix } from "../shared/awsNames";
import { type PolicyStatement, type StorageConnection, bucketArn } from "./contract";
import { type Bucket, type BucketArgs, normalizeBuckets, validateS3StorageArgs } from "./settings";
import { type S3BucketNodes, bucketGuards } from "./bucketGuards";

export type { S3BucketNodes } from "./bucketGuards";
import { type ReplicaNodes, createReplication } from "./s3Replication";
import { type S3ReplicationArgs, replicatedBuckets, validateS3Replication } from "./replicationSettings";

export interface S3StorageArgs {
  /** The AWS target the buckets live in (`AwsTarget.placement`). */
  placement: AwsPlacement;
  /**
   * Buckets by stable key; the same settings as the Docker object store. Each gets a globally unique physical name
   * (see `bucketPhysicalName`).
   * @default raw, derived (versioned), tiles, logs (expires after 30 days)
   */
  buckets?: Record<string, BucketArgs>;
  /** A customer-managed KMS key for SSE-KMS (with S3 Bucket Keys). @default SSE-S3 (AES256) */
  kmsKeyArn?: string;
  /** Let `pulumi destroy` delete buckets that still hold objects. @default false */
  forceDestroy?: boolean;
  /**
   * Extra text mixed into the hash that makes bucket names globally unique. Set it (e.g. to your domain) only if a
   * name is taken by another AWS account. Changing it renames, and so replaces, every bucket.
   * @default none
   */
  nameSeed?: string;
  /** `protect` / `retainOnDelete` of the buckets. @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /**
   * Existing buckets to manage instead of creating them: bucket key → the bucket's name. Each is adopted with Pulumi's
   * `import` (the plan shows an import, never a create, and the bucket keeps its name and objects); its side resources
   * (public access block, ownership, encryption, versioning, lifecycle, TLS-only policy) are created and replace the
   * bucket's own settings of those kinds. The import fails unless the bucket's inputs match it: its tags must be the
   * ones this component sets (`stackport.tier: storage`, `stackport.bucket: <key>`…, shown by `pulumi preview`), and
   * `forceDestroy` false. Check with `pulumi preview` before `pulumi up`.
   * @default none: every bucket is created
   * @example { raw: "goes-raw-prod-2019" }
   */
  adopt?: Record<string, string>;
  /**
   * Cross-region replication (backups that survive a region): a replica bucket in `region` per replicated bucket
   * (versioned, private, SSE-S3, TLS-only, the source's lifecycle, protected like the sources), every new version
   * and delete marker replicated by S3 through a role that may do nothing else. Not with `kmsKeyArn`.
   * @default none
   * @example { region: "eu-central-1", buckets: ["raw", "derived"] }
   */
  replication?: S3ReplicationArgs;
  /** Per-child escape hatches. @default none */
  transform?: {
    bucket?: Transform<aws.s3.BucketArgs>;
    policy?: Transform<aws.s3.BucketPolicyArgs>;
    lifecycle?: Transform<aws.s3.BucketLifecycleConfigurationArgs>;
  };
}

/** The bucket ALB access logs go to (it gets the log-delivery statement and SSE-S3). */
export const ACCESS_LOGS_BUCKET = "logs";

/**
 * A bucket's globally unique physical name: `<project>-<stack>-<bucket>-<hash>`. S3 names are global across every
 * AWS account, so the readable part (which another account can equally use) is followed by 8 hex chars of a hash of
 * org/project/stack/region/bucket (+ `nameSeed`): stable for this stack — known at preview, never a random suffix
 * that changes on re-creation — and different for anyone else's. On a clash, set `nameSeed`.
 *
 * The organization is the one the CLI runs the stack in: the Pulumi Cloud organization, or `organization` on a file
 * backend (`npm run synth -- <stack> --organization <org>` plans the same names offline).
 */
export function bucketPhysicalName(region: string, bucket: string, nameSeed?: string): string {
  const identity = [
    stackOrganization(),
    pulumi.getProject(),
    pulumi.getStack(),
    region,
    bucket,
    nameSeed ?? "",
  ].join("/");
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 8);
  // Hashes instead of truncating if the readable part is long: the result stays unique and within S3's 63 chars.
  return physicalName([pulumi.getProject(), pulumi.getStack(), bucket, hash], 63);
}

/**
 * The file backend's organization, `organization`, when the CLI passes none (CLIs older than the language host's
 * `--organization` argument, under which `getOrganization()` throws): the program runs instead of failing, and names
 * match a file-backend stack's. A CLI that later passes a Cloud organization changes the hash, so the (protected)
 * buckets' preview then fails on a replacement instead of renaming them.
 */
function stackOrganization(): string {
  try {
    return pulumi.getOrganization();
  } catch {
    return "organization";
  }
}

/**
 * The bucket policy: deny every request without TLS; the logs bucket also lets the ELB log-delivery service write
 * under `AWSLogs/`. The service-principal form is AWS's current one (regions opened since 2022 accept only it);
 * regions older than that historically wanted the regional ELB account id — add that statement with
 * `transform.policy` if ALB log delivery fails there.
 */
export function bucketPolicyDocument(arn: string, opts: { acceptsAlbLogs: boolean }) {
  const statements: PolicyStatement[] = [
    {
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [arn, `${arn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ];
  if (opts.acceptsAlbLogs) {
    statements.push({
      Sid: "AllowAlbAccessLogDelivery",
      Effect: "Allow",
      Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${arn}/AWSLogs/*`,
    });
  }
  return { Version: "2012-10-17", Statement: statements };
}

/** Lifecycle rules from the tier config (the same keys as MinIO's), or none. */
export function lifecycleRules(config: Bucket) {
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [];
  if (config.expireAfterDays) {
    rules.push({
      id: "stackport-expire",
      status: "Enabled",
      filter: {},
      expiration: { days: config.expireAfterDays },
      abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    });
  }
  if (config.noncurrentExpireAfterDays) {
    rules.push({
      id: "stackport-expire-noncurrent",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: config.noncurrentExpireAfterDays },
    });
  }
  return rules;
}

/**
 * Object storage on S3, exposing the same `StorageConnection` as MinIO. Per configured bucket: the bucket
 * (protected/retained per the stack's safety settings), a public access block with all four flags, owner-enforced
 * object ownership (no ACLs), default encryption (SSE-KMS with a bucket key when `kmsKeyArn` is set, SSE-S3
 * otherwise — and always SSE-S3 for the `logs` bucket, the only kind ALB access logs accept), versioning
 * (Enabled/Suspended), lifecycle expiry when configured, and a TLS-only bucket policy.
 *
 * Credentials: services on AWS authenticate with their task role (see `bucketAccessPolicy`), so the connection's
 * `accessKeyId`/`secretAccessKey` are empty secrets — S3 clients fall back to the default credential chain.
 * @example
 * const storage = new S3Storage("storage", {
 *   placement: cloud.placement,
 *   buckets: { raw: { versioning: true }, logs: { versioning: false, expireAfterDays: 30 } },
 * });
 */
export class S3Storage extends pulumi.ComponentResource {
  readonly connection: StorageConnection;
  /** Bucket ARNs by stable key, for IAM policies (`bucketAccessPolicy`). Known at preview. */
  readonly bucketArns: Record<string, string>;
  /** Physical name of the bucket ALB access logs go to; undefined when the bucket set has no `logs` bucket. */
  readonly accessLogsBucket?: pulumi.Output<string>;
  readonly nodes: {
    buckets: Record<string, S3BucketNodes>;
    /** Only with `replication`. */
    replication?: {
      provider: aws.Provider;
      role: aws.iam.Role;
      rolePolicy: aws.iam.RolePolicy;
      replicas: Record<string, ReplicaNodes>;
    };
  };

  constructor(name: string, args: S3StorageArgs, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs(`stackport:aws:ObjectStorage '${name}'`, [
      ...validateS3StorageArgs(args),
      ...validateS3Replication(args.replication, {
        region: args.placement?.region,
        buckets: normalizeBuckets(args.buckets),
        kmsKeyArn: args.kmsKeyArn,
      }),
    ]);
    const config = {
      buckets: normalizeBuckets(args.buckets),
      ...(args.kmsKeyArn !== undefined && { kmsKeyArn: args.kmsKeyArn }),
      forceDestroy: args.forceDestroy ?? false,
      ...(args.nameSeed !== undefined && { nameSeed: args.nameSeed }),
      safety: args.safety ?? { protect: true, retainOnDelete: true },
      ...(args.replication && {
        replication: {
          region: args.replication.region,
          buckets: replicatedBuckets(args.replication, normalizeBuckets(args.buckets)),
          storageClass: args.replication.storageClass ?? "STANDARD_IA",
        },
      }),
    };
    super("stackport:aws:ObjectStorage", name, config, opts);
    const { placement, transform } = args;
    const { safety } = config;
    const region = placement.region;
    const child = { parent: this, provider: placement.provider };
    const tags = standardLabels("storage");

    const buckets: Record<string, S3BucketNodes> = {};
    const names: Record<string, string> = {};
    for (const [key, bucketConfig] of Object.entries(config.buckets)) {
      const adopted = args.adopt?.[key];
      const physical = adopted ?? bucketPhysicalName(region, key, config.nameSeed);
      names[key] = physical;
      const base = `${name}-${key}`;

      const [bucketArgs, bucketOpts] = transformed<aws.s3.BucketArgs>(
        transform?.bucket,
        { bucket: physical, forceDestroy: config.forceDestroy, tags: { ...tags, "stackport.bucket": key } },
        statefulOptions(this, safety, { provider: placement.provider, ...(adopted && { import: adopted }) }),
      );
      const bucket = new aws.s3.Bucket(base, bucketArgs, bucketOpts);
      // Side resources take the bucket *name* from the bucket's output, which also records the dependency.
      const ref = { bucket: bucket.bucket };

      const kms = key !== ACCESS_LOGS_BUCKET ? config.kmsKeyArn : undefined;
      const { publicAccessBlock, ownership, encryption } = bucketGuards(base, ref.bucket, kms, child);
      const versioning = new aws.s3.BucketVersioning(
        `${base}-versioning`,
        // Suspended, not Disabled: a bucket that was ever versioned cannot go back to Disabled.
        { ...ref, versioningConfiguration: { status: bucketConfig.versioning ? "Enabled" : "Suspended" } },
        child,
      );
      const rules = lifecycleRules(bucketConfig);
      let lifecycle: aws.s3.BucketLifecycleConfiguration | undefined;
      if (rules.length > 0) {
        const [lifecycleArgs, lifecycleOpts] = transformed<aws.s3.BucketLifecycleConfigurationArgs>(
          transform?.lifecycle,
          { ...ref, rules },
          // Noncurrent-version rules need versioning configured first.
          { ...child, dependsOn: [versioning] },
        );
        lifecycle = new aws.s3.BucketLifecycleConfiguration(
          `${base}-lifecycle`,
          lifecycleArgs,
          lifecycleOpts,
        );
      }
      const [policyArgs, policyOpts] = transformed<aws.s3.BucketPolicyArgs>(
        transform?.policy,
        {
          ...ref,
          policy: JSON.stringify(
            bucketPolicyDocument(bucketArn(region, physical), { acceptsAlbLogs: key === ACCESS_LOGS_BUCKET }),
          ),
        },
        // S3 rejects a policy while the public access block is being changed.
        { ...child, dependsOn: [publicAccessBlock] },
      );
      const policy = new aws.s3.BucketPolicy(`${base}-policy`, policyArgs, policyOpts);
      buckets[key] = {
        bucket,
        publicAccessBlock,
        ownership,
        encryption,
        versioning,
        policy,
        ...(lifecycle && { lifecycle }),
      };
    }

    this.nodes = { buckets };
    if (args.replication && config.replication) {
      const replication = args.replication;
      this.nodes.replication = createReplication(name, this, {
        replication,
        safety,
        sources: Object.fromEntries(
          config.replication.buckets.map((key) => [
            key,
            {
              bucket: buckets[key]!.bucket,
              versioning: buckets[key]!.versioning,
              config: config.buckets[key]!,
              replicaName: bucketPhysicalName(replication.region, `${key}-replica`, config.nameSeed),
              arn: bucketArn(region, names[key]!),
            },
          ]),
        ),
        sourceProvider: placement.provider,
        tags: placement.tags,
        policyDocument: (arn) => bucketPolicyDocument(arn, { acceptsAlbLogs: false }),
        lifecycleRules,
      });
    }
    this.bucketArns = Object.fromEntries(Object.entries(names).map(([k, n]) => [k, bucketArn(region, n)]));
    const logs = buckets[ACCESS_LOGS_BUCKET];
    // The bucket's output (not the plain name) so a consumer also waits for the bucket and its policy to exist.
    if (logs) this.accessLogsBucket = pulumi.all([logs.bucket.bucket, logs.policy.id]).apply(([n]) => n);
    this.connection = {
      endpoint: pulumi.output(`https://s3.${region}.${awsDnsSuffix(region)}`),
      region: pulumi.output(region),
      buckets: Object.fromEntries(Object.entries(buckets).map(([k, b]) => [k, b.bucket.bucket])),
      // Task roles, not keys: see the class comment.
      accessKeyId: pulumi.secret(""),
      secretAccessKey: pulumi.secret(""),
      forcePathStyle: false,
    };
    this.registerOutputs({
      endpoint: this.connection.endpoint,
      buckets: this.connection.buckets,
      accessLogsBucket: this.accessLogsBucket,
    });
  }
}
