/**
 * `stackport:storage` — the S3-compatible object store: MinIO on a Docker target, S3 on an AWS target, one bucket
 * set for both. The schema (with the `aws` block), the environment's defaults, the checks only the stack can make,
 * and the mapping from config to the component args.
 */
import { z } from "zod";
import type { StatefulSafety } from "../../../components/shared/component";
import {
  BUCKET_NAME,
  DEFAULT_BUCKETS,
  DOCKER_STORAGE_DEFAULTS,
  MAX_EXPIRY_DAYS,
  STORAGE_API_PORT,
  STORAGE_CONSOLE_PORT,
  normalizeBuckets,
  validateS3StorageArgs,
} from "../../../components/storage/settings";
import type { DockerObjectStorageArgs } from "../../../components/storage/dockerObjectStorage";
import type { S3StorageArgs } from "../../../components/storage/s3Storage";
import { validateS3Replication } from "../../../components/storage/replicationSettings";
import { type ConfigIssue, configIssues } from "../errors";
import { adoptStorageSchema, externalStorageSchema } from "./external";
import { CONFIG_NAMESPACE, configKey } from "../keys";
import { type Environment, type Published, keyName, pinnedImage, publishOrOff, publishedOn } from "../schema";

const bucketSchema = z.strictObject({
  /** Object versioning. */
  versioning: z.boolean().default(true),
  /** Delete objects this many days after creation. */
  expireAfterDays: z.number().int().min(1).max(MAX_EXPIRY_DAYS).optional(),
  /** Delete non-current versions this many days after they were replaced. */
  noncurrentExpireAfterDays: z.number().int().min(1).max(MAX_EXPIRY_DAYS).optional(),
});
export type BucketConfig = z.infer<typeof bucketSchema>;

const bucketName = z
  .string()
  .regex(BUCKET_NAME, "must be 3-63 lower-case letters, digits or '-' (S3 bucket rules)");

/** `stackport:storage.aws`: settings that only exist when the tier is on an AWS target. */
export const awsStorageSchema = z.strictObject({
  /** Customer-managed KMS key for SSE-KMS (with S3 Bucket Keys). @default SSE-S3 (AES256) */
  kmsKeyArn: z.string().optional(),
  /** Let `pulumi destroy` delete non-empty buckets. Refused in production. @default false */
  forceDestroy: z.boolean().default(false),
  /**
   * Extra text mixed into the hash that makes bucket names globally unique. Set it (e.g. to your domain) only if a
   * name is taken by another AWS account. Changing it renames — replaces — every bucket.
   */
  nameSeed: z.string().optional(),
  /**
   * Cross-region replication (backups that survive a region): a replica bucket in `region` for each of `buckets`
   * (default: every versioned bucket), written by S3 for every new object version and delete marker. Not with
   * `kmsKeyArn`. See docs/runbooks/point-in-time-recovery.md.
   */
  replication: z
    .strictObject({
      /** The replicas' region, e.g. `eu-central-1`; not the target's. */
      region: z.string(),
      /** Bucket keys to replicate, each versioned. @default every versioned bucket */
      buckets: z.array(keyName).optional(),
      /** Storage class of the replicas. @default `STANDARD_IA` */
      storageClass: z
        .enum(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"])
        .optional(),
    })
    .optional(),
});
export type AwsStorageSettings = z.infer<typeof awsStorageSchema>;

export const storageSchema = z.strictObject({
  /** The target the tier runs on (a key of `stackport:targets`). */
  on: keyName,
  /**
   * The S3-compatible server. The default is the last published MinIO image (MinIO's Docker Hub images are gone and
   * its community edition is source-only); swap in another S3 server (RustFS, Garage…) here.
   */
  image: pinnedImage.default(DOCKER_STORAGE_DEFAULTS.image),
  /** Image that runs the bucket bootstrap (`mc`). */
  clientImage: pinnedImage.default(DOCKER_STORAGE_DEFAULTS.clientImage),
  /** The S3 API on the host, or `false` for never. @default `127.0.0.1:9000` in `local`, else not published */
  publishApi: publishOrOff,
  /** The web console on the host, or `false` for never. @default `127.0.0.1:9001` in `local`, else not published */
  publishConsole: publishOrOff,
  /** The buckets, by name (S3 rules: 3–63 lower-case letters, digits or `-`). */
  buckets: z.record(bucketName, bucketSchema).default(DEFAULT_BUCKETS as never),
  /** Container memory limit, in MB. */
  memoryMb: z.number().int().min(128).default(DOCKER_STORAGE_DEFAULTS.memoryMb),
  aws: awsStorageSchema.optional(),
  /**
   * Object storage a system stackport does not run serves (the tier `on` an `external` target, the `from` side of a
   * cutover): an S3-compatible endpoint, credentials from stack secrets. stackport creates nothing there.
   */
  external: externalStorageSchema.optional(),
  /**
   * Bring existing S3 buckets under management instead of creating them (Pulumi `import`, AWS only). The plan shows
   * an import; the bucket keeps its name and its objects (docs/runbooks/cutover-s3-to-minio.md, "Adopting").
   */
  adopt: adoptStorageSchema.optional(),
});
export type StorageConfig = z.infer<typeof storageSchema>;

export interface ResolvedStorage extends Omit<StorageConfig, "publishApi" | "publishConsole" | "aws"> {
  publishApi: Published;
  publishConsole: Published;
  /** Settings used when the tier is on an AWS target. */
  aws: AwsStorageSettings;
}

/** Environment defaults: the API and console on loopback in `local`, published nowhere elsewhere. */
export function resolveStorage(storage: StorageConfig, environment: Environment): ResolvedStorage {
  return {
    ...storage,
    publishApi: publishedOn(storage.publishApi, environment, STORAGE_API_PORT),
    publishConsole: publishedOn(storage.publishConsole, environment, STORAGE_CONSOLE_PORT),
    aws: storage.aws ?? awsStorageSchema.parse({}),
  };
}

/** Rules only the stack can make: production never lets `pulumi destroy` empty a bucket. */
export function checkStorage(cfg: {
  environment: Environment;
  storage?: StorageConfig | undefined;
}): ConfigIssue[] {
  if (cfg.environment === "production" && cfg.storage?.aws?.forceDestroy) {
    return [
      {
        key: configKey(["storage", "aws", "forceDestroy"]),
        message:
          "is refused in production: it lets `pulumi destroy` delete buckets with data; empty them deliberately instead",
      },
    ];
  }
  return [];
}

/** The tier on a Docker target. */
export function dockerStorageArgs(
  storage: ResolvedStorage,
  safety: StatefulSafety,
): Omit<DockerObjectStorageArgs, "placement"> {
  return {
    image: storage.image,
    clientImage: storage.clientImage,
    buckets: storage.buckets,
    ...(storage.publishApi && { publishApi: storage.publishApi }),
    ...(storage.publishConsole && { publishConsole: storage.publishConsole }),
    memoryMb: storage.memoryMb,
    safety,
  };
}

/** The tier on an AWS target: the same buckets, with the `aws` block's settings. */
export function s3StorageArgs(
  storage: ResolvedStorage,
  safety: StatefulSafety,
): Omit<S3StorageArgs, "placement"> {
  const { kmsKeyArn, forceDestroy, nameSeed, replication } = storage.aws;
  return {
    buckets: storage.buckets,
    ...(kmsKeyArn !== undefined && { kmsKeyArn }),
    // The target's assumeRoleArn is added where the tier is placed (the replica region's provider needs it).
    ...(replication && { replication }),
    forceDestroy,
    ...(nameSeed !== undefined && { nameSeed }),
    ...(storage.adopt && { adopt: storage.adopt.buckets }),
    safety,
  };
}

/** A storage arg path's config key: the args mirror the config, the `aws` block's settings sit at the top. */
export function storageKey(path: string, kind: "docker" | "aws"): string {
  const awsOnly = ["kmsKeyArn", "forceDestroy", "nameSeed", "replication"];
  const prefix = kind === "aws" && awsOnly.includes(path.split(".")[0]!) ? "storage.aws" : "storage";
  return `${CONFIG_NAMESPACE}:${prefix}${path ? `.${path}` : ""}`;
}

/**
 * The `aws` block as `S3Storage` checks it, named by config key: whenever it is given, wherever the tier is placed
 * (a cutover may move the tier to AWS later). The bucket set is checked by the schema with the same rules.
 */
export function storageArgIssues(cfg: { storage?: StorageConfig | undefined }): ConfigIssue[] {
  const aws = cfg.storage?.aws;
  if (!aws) return [];
  const issues = [
    ...validateS3StorageArgs(aws),
    // The region's own check (not the target's region) is the component's: the target is resolved elsewhere.
    ...validateS3Replication(aws.replication, {
      buckets: normalizeBuckets(cfg.storage?.buckets),
      kmsKeyArn: aws.kmsKeyArn,
    }),
  ];
  return configIssues(issues, (path) => storageKey(path, "aws"));
}
