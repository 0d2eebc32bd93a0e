/**
 * The pure half of the storage tier: defaults, the bucket rules both backends apply, and what the Docker object
 * store exposes on its target's backend network (an upstream for the proxy, scrape targets for Prometheus). No
 * provider import, so a program can read it without loading a provider SDK.
 */
import { createHmac } from "node:crypto";
import { type ArgsIssue, argPath } from "../shared/errors";
import { BUCKET_ACCESS, type BucketAccess } from "./contract";
import type { ScrapeTarget } from "../observability/contract";
import type { Upstream } from "../proxy/contract";

/** One bucket: versioning and expiry. The same settings give the same behaviour on MinIO and S3. */
export interface BucketArgs {
  /** Keep every version of every object (`false`: suspended). @default true */
  versioning?: boolean;
  /** Delete objects this many days after creation (1–3650). @default never */
  expireAfterDays?: number;
  /** Delete non-current versions this many days after they were replaced (1–3650). @default never */
  noncurrentExpireAfterDays?: number;
}

/** The buckets a storage component creates when given none: raw and derived data, tiles, logs for 30 days. */
export const DEFAULT_BUCKETS: Record<string, BucketArgs> = {
  raw: { versioning: true },
  derived: { versioning: true },
  tiles: { versioning: false },
  logs: { versioning: false, expireAfterDays: 30 },
};

/** Defaults of the Docker object store (MinIO: the last build published on quay.io, with `mc` inside). */
export const DOCKER_STORAGE_DEFAULTS = {
  image: "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
  clientImage: "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z",
  memoryMb: 1024,
} as const;

/** The object store's DNS name and ports on the backend network. */
export const STORAGE_HOST = "storage";
export const STORAGE_API_PORT = 9000;
export const STORAGE_CONSOLE_PORT = 9001;

/** S3 bucket naming (3–63 lower-case letters, digits, '-'); the key is also the bucket's stable name. */
export const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** Longest lifecycle expiry S3 and MinIO accept here: ten years. */
export const MAX_EXPIRY_DAYS = 3650;

/** What is wrong with a bucket set (empty when valid), each at `buckets.<name>[.<field>]`. */
export function validateBuckets(buckets: Record<string, BucketArgs>): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  for (const [name, bucket] of Object.entries(buckets)) {
    if (!BUCKET_NAME.test(name)) {
      issues.push({
        path: argPath("buckets", name),
        message: "must be 3-63 lower-case letters, digits or '-' (S3 bucket rules)",
      });
    }
    for (const field of ["expireAfterDays", "noncurrentExpireAfterDays"] as const) {
      const days = bucket[field];
      if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= MAX_EXPIRY_DAYS)) {
        issues.push({
          path: argPath("buckets", name, field),
          message: `must be a whole number of days from 1 to ${MAX_EXPIRY_DAYS}`,
        });
      }
    }
  }
  return issues;
}

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/;

/** What is wrong with `S3StorageArgs` (empty when valid). */
export function validateS3StorageArgs(args: {
  buckets?: Record<string, BucketArgs> | undefined;
  kmsKeyArn?: string | undefined;
  nameSeed?: string | undefined;
}): ArgsIssue[] {
  const issues = validateBuckets(args.buckets ?? {});
  if (args.kmsKeyArn !== undefined && !KMS_KEY_ARN.test(args.kmsKeyArn)) {
    issues.push({
      path: "kmsKeyArn",
      message: "must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    });
  }
  if (args.nameSeed !== undefined && !(args.nameSeed.length >= 1 && args.nameSeed.length <= 100))
    issues.push({ path: "nameSeed", message: "must be 1 to 100 characters" });
  return issues;
}

/** What the Docker object store offers the proxy: its S3 API and its console. */
export function dockerStorageUpstreams(): Record<string, Upstream> {
  return {
    storage: {
      tier: "storage",
      host: STORAGE_HOST,
      port: STORAGE_API_PORT,
      healthPath: "/minio/health/live",
    },
    "storage-console": { tier: "storage", host: STORAGE_HOST, port: STORAGE_CONSOLE_PORT },
  };
}

/** 2100-01-01T00:00:00Z: the token's expiry, fixed so that the same secret always gives the same token. */
const METRICS_TOKEN_EXPIRY = 4102444800;

/**
 * The bearer token MinIO's metrics endpoints accept for `accessKey`, built as `mc admin prometheus generate` builds
 * it (minio/mc RELEASE.2025-08-13T08-35-41Z `cmd/utils.go` `getPrometheusToken`): a JWT signed HS512 with the user's
 * secret key, claims `iss: prometheus`, `sub: <access key>`, `exp`. The server checks the signature with that user's
 * secret, the issuer, and that the user's policy allows `admin:Prometheus` (minio/minio `cmd/metrics.go`
 * `AuthMiddleware`, `cmd/jwt.go` `metricsRequestAuthenticate`). It grants nothing but the metrics.
 */
export function minioMetricsToken(accessKey: string, secretKey: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${part({ alg: "HS512", typ: "JWT" })}.${part({ iss: "prometheus", sub: accessKey, exp: METRICS_TOKEN_EXPIRY })}`;
  return `${unsigned}.${createHmac("sha512", secretKey).update(unsigned).digest("base64url")}`;
}

/** The secret file (see `ScrapeTarget.bearerToken`) holding Prometheus' token for MinIO's metrics. */
export const STORAGE_METRICS_TOKEN = "storage-metrics.token";

/**
 * MinIO's cluster and per-bucket metrics. They need a bearer token (`DockerObjectStorage.metricsToken`, MinIO's
 * default `jwt` auth): public metrics would show bucket names and sizes to anyone reaching the S3 API, a published
 * API port included.
 */
export function dockerStorageScrapeTargets(): ScrapeTarget[] {
  const address = `${STORAGE_HOST}:${STORAGE_API_PORT}`;
  const target = (job: string, metricsPath: string): ScrapeTarget => ({
    job,
    tier: "storage",
    addresses: [address],
    metricsPath,
    bearerToken: STORAGE_METRICS_TOKEN,
  });
  return [
    target("storage", "/minio/v2/metrics/cluster"),
    target("storage-buckets", "/minio/v2/metrics/bucket"),
  ];
}

/** One consumer of the Docker object store: the buckets it may use, and how. */
export interface StorageConsumerArgs {
  /**
   * Bucket keys → access: `read` (list, get), `append` (also put, never delete), `readwrite` (also delete).
   * @example { raw: "read", derived: "readwrite" }
   */
  buckets: Record<string, BucketAccess>;
}

/** A consumer's name: it becomes the MinIO user `stackport-<name>` and its policy's name. */
export const CONSUMER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** The root user's access key; no consumer may take it. */
export const STORAGE_ROOT_USER = "stackport-root";
/** The user whose bearer token Prometheus scrapes MinIO's metrics with; no consumer may take it. */
export const STORAGE_METRICS_USER = "stackport-metrics";
/** The MinIO user (access key) and policy name of a consumer. */
export const consumerUser = (consumer: string) => `stackport-${consumer}`;

/** What is wrong with `consumers` (empty when valid), each at `consumers.<name>[.buckets.<bucket>]`. */
export function validateConsumers(
  consumers: Record<string, StorageConsumerArgs>,
  buckets: string[],
): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  for (const [name, consumer] of Object.entries(consumers)) {
    const user = consumerUser(name);
    if (!CONSUMER_NAME.test(name) || user === STORAGE_ROOT_USER || user === STORAGE_METRICS_USER) {
      issues.push({
        path: argPath("consumers", name),
        message: `must be 1-63 lower-case letters, digits or '-', starting with a letter or digit, and not 'root' or 'metrics'; got ${JSON.stringify(name)}`,
      });
    }
    const granted = Object.entries(consumer?.buckets ?? {});
    if (granted.length === 0)
      issues.push({ path: argPath("consumers", name, "buckets"), message: "must name at least one bucket" });
    for (const [bucket, access] of granted) {
      if (!buckets.includes(bucket)) {
        issues.push({
          path: argPath("consumers", name, "buckets", bucket),
          message: `unknown bucket '${bucket}'; buckets: ${buckets.join(", ") || "(none)"}`,
        });
      }
      if (!BUCKET_ACCESS.includes(access)) {
        issues.push({
          path: argPath("consumers", name, "buckets", bucket),
          message: `must be one of ${BUCKET_ACCESS.join(", ")}; got ${JSON.stringify(access)}`,
        });
      }
    }
  }
  return issues;
}

/** A bucket with its defaults applied. */
export type Bucket = Required<Pick<BucketArgs, "versioning">> & Omit<BucketArgs, "versioning">;

/** The bucket set with defaults applied: the default buckets when none is given, versioning on unless set. */
export function normalizeBuckets(
  buckets: Record<string, BucketArgs> = DEFAULT_BUCKETS,
): Record<string, Bucket> {
  return Object.fromEntries(
    Object.entries(buckets).map(([name, b]) => [name, { ...b, versioning: b.versioning ?? true }]),
  );
}
