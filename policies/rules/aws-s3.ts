/**
 * S3 (AWS provider v7): settings live in side resources (`BucketPublicAccessBlock`,
 * `BucketServerSideEncryptionConfiguration`, `BucketVersioning`, `BucketPolicy`), whose `bucket` input is usually
 * unknown at preview — so each resource rule reads only the side resource's own settings, and one stack rule joins
 * side resources to buckets through their dependencies to find a bucket that has none.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import type { PolicyResource } from "@pulumi/policy";
import { asArray, parseJsonDocument, resourceRule, stackRule } from "./common";

export const BUCKET = "aws:s3/bucket:Bucket";
export const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
export const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
export const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";

const FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

export const s3PublicAccessBlock = resourceRule(
  {
    name: "aws-s3-public-access-block",
    description: "S3 public access blocks must turn on all four blocking flags.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: `Set ${FLAGS.join(", ")} to true on the bucket's BucketPublicAccessBlock.`,
    area: "aws-s3",
    appliesTo: [PUBLIC_ACCESS_BLOCK],
  },
  (props, _args, report) => {
    const off = FLAGS.filter((f) => props[f] !== true);
    if (off.length) report(`not blocking: ${off.join(", ")} (CKV_AWS_53-56)`);
  },
);

export const s3Encryption = resourceRule(
  {
    name: "aws-s3-encryption",
    description: "S3 buckets must encrypt objects at rest with AES256 or KMS by default.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Give the bucket a BucketServerSideEncryptionConfiguration rule with `applyServerSideEncryptionByDefault.sseAlgorithm` `aws:kms` (or `AES256`).",
    area: "aws-s3",
    appliesTo: [SSE],
  },
  (props, _args, report) => {
    const algorithms = asArray(props.rules).map((r) => r?.applyServerSideEncryptionByDefault?.sseAlgorithm);
    if (!algorithms.some((a) => a === "AES256" || a === "aws:kms" || a === "aws:kms:dsse")) {
      report("no rule sets a default server-side encryption algorithm (AES256 or aws:kms)");
    }
  },
);

export const s3Versioning = resourceRule(
  {
    name: "aws-s3-versioning",
    description: "S3 bucket versioning must be enabled.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps:
      "Set `versioningConfiguration.status: Enabled` (bucket config `versioning: true`) and expire old versions with a lifecycle rule.",
    area: "aws-s3",
    appliesTo: [VERSIONING],
  },
  (props, _args, report) => {
    const status = props.versioningConfiguration?.status;
    if (status !== "Enabled") report(`versioning status is ${status ?? "unset"}, not Enabled (CKV_AWS_21)`);
  },
);

/** True when a bucket policy document denies every request made without TLS. */
export function deniesInsecureTransport(doc: any): boolean {
  return asArray(doc?.Statement).some((s) => {
    if (s?.Effect !== "Deny") return false;
    const actions = asArray(s.Action).map(String);
    if (!actions.some((a) => a === "*" || a === "s3:*")) return false;
    const bool = s.Condition?.Bool ?? {};
    return String(bool["aws:SecureTransport"]) === "false";
  });
}

export const s3TlsOnly = resourceRule(
  {
    name: "aws-s3-tls-only",
    description: "S3 bucket policies must deny requests that do not use TLS.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      'Add a statement `{Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucket ARN, bucket ARN/*], Condition: {Bool: {"aws:SecureTransport": "false"}}}`.',
    area: "aws-s3",
    appliesTo: [BUCKET_POLICY],
  },
  (props, _args, report) => {
    const doc = parseJsonDocument(props.policy, "the bucket policy");
    if (!deniesInsecureTransport(doc)) report("the policy has no Deny on aws:SecureTransport=false");
  },
);

const REQUIRED_SIDES: [string, string][] = [
  [PUBLIC_ACCESS_BLOCK, "BucketPublicAccessBlock"],
  [SSE, "BucketServerSideEncryptionConfiguration"],
  [VERSIONING, "BucketVersioning"],
  [BUCKET_POLICY, "BucketPolicy (TLS-only)"],
];

export const s3BucketControls = stackRule(
  {
    name: "aws-s3-bucket-controls",
    description:
      "Every S3 bucket must have a public access block, an encryption configuration, a versioning configuration and a bucket policy.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Create the bucket through the storage tier's S3 component, which adds the four side resources; a hand-made bucket needs them too.",
    area: "aws-s3",
    appliesTo: [BUCKET, ...REQUIRED_SIDES.map(([t]) => t)],
  },
  (args, report) => {
    const buckets = args.resources.filter((r) => r.type === BUCKET || r.type === "aws:s3/bucketV2:BucketV2");
    for (const bucket of buckets) {
      const sides = args.resources.filter((r) => dependsOn(r, bucket));
      const missing = REQUIRED_SIDES.filter(([type]) => !sides.some((r) => r.type === type)).map(
        ([, n]) => n,
      );
      if (missing.length) report(`bucket ${bucket.name} has no ${missing.join(", ")}`, bucket.urn);
    }
  },
);

function dependsOn(r: PolicyResource, target: PolicyResource): boolean {
  if (asArray(r.propertyDependencies?.bucket).some((d: PolicyResource) => d?.urn === target.urn)) return true;
  return asArray(r.dependencies).some((d: PolicyResource) => d?.urn === target.urn);
}

export const s3Rules = [s3PublicAccessBlock, s3Encryption, s3Versioning, s3TlsOnly, s3BucketControls];
