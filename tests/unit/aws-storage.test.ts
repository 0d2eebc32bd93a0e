import { isConfigError, resolveConfig } from "../../src/config";
import { bucketAccessPolicy } from "../../components/storage/contract";
import {
  S3Storage,
  type S3StorageArgs,
  bucketPhysicalName,
  bucketPolicyDocument,
} from "../../components/storage/s3Storage";
import { AwsTarget } from "../../components/targets/aws";
import * as aws from "../../components/shared/aws";
import type { Recorder } from "../../src/synth/recorder";
import { isSecret, one, record, valueOf } from "../harness";

const placement = () => new AwsTarget("cloud", { region: "eu-west-1" }).placement;

const storage = (args: Omit<S3StorageArgs, "placement"> = {}) =>
  record(() => new S3Storage("storage", { ...args, placement: placement() }));

const sideOf = (recorder: Recorder, type: string, bucket: string) =>
  one(recorder, `storage-${bucket}-${type}`).inputs;

describe("S3Storage", () => {
  const DEFAULT_BUCKETS = ["derived", "logs", "raw", "tiles"];

  it("creates every configured bucket, protected and retained, with a unique predictable name", async () => {
    const { recorder, result } = await storage();
    const buckets = recorder.byType("aws:s3/bucket:Bucket");
    expect(buckets.map((b) => b.name).sort()).toEqual(DEFAULT_BUCKETS.map((b) => `storage-${b}`));
    for (const b of buckets) {
      expect([b.protect, b.retainOnDelete]).toEqual([true, true]);
      expect(b.provider).toBe("cloud-aws");
      expect(b.inputs["forceDestroy"]).toBe(false);
      expect(b.inputs["bucket"]).toMatch(/^stackport-test-[a-z]+-[0-9a-f]{8}$/);
    }
    const raw = one(recorder, "storage-raw").inputs["bucket"];
    expect(await valueOf(result.connection.buckets["raw"]!)).toBe(raw);
    expect(result.bucketArns["raw"]).toBe(`arn:aws:s3:::${raw}`);
  });

  it("bucket names are stable for a stack and differ by seed and region", async () => {
    await record(() => {
      const a = bucketPhysicalName("eu-west-1", "raw");
      expect(bucketPhysicalName("eu-west-1", "raw")).toBe(a);
      expect(bucketPhysicalName("eu-west-1", "raw", "example.org")).not.toBe(a);
      expect(bucketPhysicalName("eu-central-1", "raw")).not.toBe(a);
      expect(bucketPhysicalName("eu-west-1", "x".repeat(63)).length).toBeLessThanOrEqual(63);
      return placement();
    });
  });

  it("blocks public access, encrypts, versions per config and enforces TLS on every bucket", async () => {
    const { recorder } = await storage();
    for (const b of DEFAULT_BUCKETS) {
      expect(sideOf(recorder, "public-access-block", b)).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(sideOf(recorder, "ownership", b)["rule"]).toEqual({ objectOwnership: "BucketOwnerEnforced" });
      expect(sideOf(recorder, "encryption", b)["rules"]).toEqual([
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ]);
      const policy = JSON.parse(String(sideOf(recorder, "policy", b)["policy"]));
      const name = one(recorder, `storage-${b}`).inputs["bucket"];
      expect(policy.Statement).toContainEqual({
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`arn:aws:s3:::${name}`, `arn:aws:s3:::${name}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      });
      // Side resources depend on their bucket (policies join them through this).
      expect(one(recorder, `storage-${b}-policy`).dependsOn).toContain(`storage-${b}`);
    }
    const status = (b: string) =>
      (sideOf(recorder, "versioning", b)["versioningConfiguration"] as { status: string }).status;
    expect(DEFAULT_BUCKETS.map(status)).toEqual(["Enabled", "Suspended", "Enabled", "Suspended"]);
  });

  it("uses the customer KMS key with a bucket key, except on the logs bucket (ALB logs need SSE-S3)", async () => {
    const kmsKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/0000-1111";
    const { recorder } = await storage({ kmsKeyArn });
    expect(sideOf(recorder, "encryption", "raw")["rules"]).toEqual([
      {
        applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKeyArn },
        bucketKeyEnabled: true,
      },
    ]);
    expect(sideOf(recorder, "encryption", "logs")["rules"]).toEqual([
      { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
    ]);
  });

  it("lets only the logs bucket receive ALB access logs, and exports its name", async () => {
    const { recorder, result } = await storage();
    const statements = (b: string) => JSON.parse(String(sideOf(recorder, "policy", b)["policy"])).Statement;
    const logsName = one(recorder, "storage-logs").inputs["bucket"];
    expect(statements("logs")).toContainEqual({
      Sid: "AllowAlbAccessLogDelivery",
      Effect: "Allow",
      Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `arn:aws:s3:::${logsName}/AWSLogs/*`,
    });
    expect(statements("raw").some((s: { Effect: string }) => s.Effect === "Allow")).toBe(false);
    expect(await valueOf(result.accessLogsBucket!)).toBe(logsName);
  });

  it("creates lifecycle rules only where expiry is configured", async () => {
    const { recorder } = await storage({
      buckets: {
        raw: { versioning: true, noncurrentExpireAfterDays: 90 },
        logs: { versioning: false, expireAfterDays: 7 },
        tiles: { versioning: false },
      },
    });
    expect(
      recorder
        .byType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["storage-logs-lifecycle", "storage-raw-lifecycle"]);
    expect(sideOf(recorder, "lifecycle", "logs")["rules"]).toEqual([
      expect.objectContaining({ id: "stackport-expire", status: "Enabled", expiration: { days: 7 } }),
    ]);
    expect(sideOf(recorder, "lifecycle", "raw")["rules"]).toEqual([
      expect.objectContaining({ noncurrentVersionExpiration: { noncurrentDays: 90 } }),
    ]);
  });

  it("exposes the same StorageConnection contract as MinIO, with task-role (empty, secret) keys", async () => {
    const { result } = await storage();
    expect(await valueOf(result.connection.endpoint)).toBe("https://s3.eu-west-1.amazonaws.com");
    expect(await valueOf(result.connection.region)).toBe("eu-west-1");
    expect(result.connection.forcePathStyle).toBe(false);
    expect(await isSecret(result.connection.secretAccessKey)).toBe(true);
    expect(await valueOf(result.connection.accessKeyId)).toBe("");
  });
});

describe("bucket policies (pure)", () => {
  it("gives a service only its declared buckets, and writes only where it declared readwrite", () => {
    const doc = bucketAccessPolicy([
      { arn: "arn:aws:s3:::b", access: "readwrite" },
      { arn: "arn:aws:s3:::a", access: "read" },
    ]);
    const bySid = Object.fromEntries(doc.Statement.map((s) => [s.Sid, s]));
    expect(bySid["ListDeclaredBuckets"]!.Resource).toEqual(["arn:aws:s3:::a", "arn:aws:s3:::b"]);
    expect(bySid["ReadObjects"]!.Resource).toEqual(["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]);
    expect(bySid["WriteObjects"]).toMatchObject({ Resource: ["arn:aws:s3:::b/*"] });
    expect(JSON.stringify(doc)).not.toMatch(/s3:\*|"\*"/);
    const readOnly = bucketAccessPolicy([{ arn: "arn:aws:s3:::a", access: "read" }]);
    expect(JSON.stringify(readOnly)).not.toMatch(/PutObject|DeleteObject/);
    expect(() => bucketAccessPolicy([])).toThrow(/at least one/);
  });

  it("lets an append-only consumer put but never delete", () => {
    const doc = bucketAccessPolicy([{ arn: "arn:aws:s3:::backups", access: "append" }]);
    const bySid = Object.fromEntries(doc.Statement.map((s) => [s.Sid, s]));
    expect(bySid["AppendObjects"]).toMatchObject({
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: ["arn:aws:s3:::backups/*"],
    });
    expect(bySid["WriteObjects"]).toBeUndefined();
    expect(JSON.stringify(doc)).not.toMatch(/Delete/);
  });

  it("the TLS statement is a Deny on aws:SecureTransport=false for bucket and objects", () => {
    const doc = bucketPolicyDocument("arn:aws:s3:::x", { acceptsAlbLogs: false });
    expect(doc.Statement).toHaveLength(1);
    expect(doc.Statement[0]).toMatchObject({
      Effect: "Deny",
      Resource: ["arn:aws:s3:::x", "arn:aws:s3:::x/*"],
    });
  });
});

describe("S3Storage args", () => {
  it("refuses bad args naming each arg path, before registering anything", () => {
    expect(
      () =>
        new S3Storage("storage", {
          placement: {} as never,
          buckets: { Raw: {}, logs: { expireAfterDays: 0 } },
          kmsKeyArn: "my-key",
        }),
    ).toThrow(
      [
        "Invalid args for stackport:aws:ObjectStorage 'storage' (3 problems):",
        "  - buckets.Raw: must be 3-63 lower-case letters, digits or '-' (S3 bucket rules)",
        "  - buckets.logs.expireAfterDays: must be a whole number of days from 1 to 3650",
        "  - kmsKeyArn: must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)",
      ].join("\n"),
    );
  });
});

describe("stackport:storage.aws settings", () => {
  const resolve = (environment: string, aws: Record<string, unknown>) => {
    try {
      resolveConfig({
        environment,
        targets: { c: { kind: "aws", region: "eu-west-1" } },
        storage: { on: "c", aws },
      });
      return [];
    } catch (e) {
      if (!isConfigError(e)) throw e;
      return e.issues;
    }
  };

  it("refuses forceDestroy in production, naming the key", () => {
    expect(resolve("production", { forceDestroy: true })).toEqual([
      {
        key: "stackport:storage.aws.forceDestroy",
        message: expect.stringContaining("refused in production"),
      },
    ]);
    expect(resolve("staging", { forceDestroy: true })).toEqual([]);
  });

  it("refuses a KMS value that is not a key ARN, naming the key", () => {
    expect(resolve("staging", { kmsKeyArn: "my-key" })).toEqual([
      { key: "stackport:storage.aws.kmsKeyArn", message: expect.stringMatching(/KMS key or alias ARN/) },
    ]);
  });
});

describe("S3Storage replication (backups that survive a region)", () => {
  const replicated = () =>
    record(() => {
      const provider = new aws.Provider("replica-aws", { region: "eu-central-1" });
      return new S3Storage("storage", {
        placement: placement(),
        buckets: {
          raw: { versioning: true, noncurrentExpireAfterDays: 90 },
          derived: { versioning: true },
          tiles: { versioning: false },
        },
        replication: { region: "eu-central-1", provider },
      });
    });

  it("replicates every versioned bucket into a protected, private, versioned replica in the other region", async () => {
    const { recorder } = await replicated();
    const replicas = recorder.byType("aws:s3/bucket:Bucket").filter((b) => b.name.endsWith("-replica"));
    expect(replicas.map((b) => b.name).sort()).toEqual(["storage-derived-replica", "storage-raw-replica"]);
    for (const r of replicas) {
      expect([r.protect, r.retainOnDelete]).toEqual([true, true]);
      expect(r.provider).toBe("replica-aws");
      expect(r.inputs["bucket"]).toMatch(/^stackport-test-[a-z]+-replica-[0-9a-f]{8}$/);
    }
    const raw = one(recorder, "storage-raw").inputs["bucket"] as string;
    const rawReplica = one(recorder, "storage-raw-replica").inputs["bucket"] as string;
    expect(one(recorder, "storage-raw-replica-versioning").inputs["versioningConfiguration"]).toEqual({
      status: "Enabled",
    });
    expect(one(recorder, "storage-raw-replica-public-access-block").inputs).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    // The source's lifecycle applies to the replica too: noncurrent versions do not pile up there.
    expect(JSON.stringify(one(recorder, "storage-raw-replica-lifecycle").inputs["rules"])).toContain(
      '"noncurrentDays":90',
    );
    const config = one(recorder, "storage-raw-replication");
    expect(config.provider).toBe("cloud-aws");
    const rules = config.inputs["rules"] as {
      destination: { storageClass: string };
      deleteMarkerReplication: object;
    }[];
    expect(rules).toHaveLength(1);
    expect(rules[0]!.deleteMarkerReplication).toEqual({ status: "Enabled" });
    expect(rules[0]!.destination.storageClass).toBe("STANDARD_IA");
    // Least privilege: read the sources' versions, replicate into the replicas; no s3:* and no other bucket.
    const policy = JSON.parse(one(recorder, "storage-replication-policy").inputs["policy"] as string);
    const text = JSON.stringify(policy);
    expect(text).not.toContain('"s3:*"');
    expect(text).toContain(`arn:aws:s3:::${raw}/*`);
    expect(text).toContain(`arn:aws:s3:::${rawReplica}/*`);
    expect(text).not.toContain(one(recorder, "storage-tiles").inputs["bucket"] as string);
    const trust = JSON.parse(one(recorder, "storage-replication-role").inputs["assumeRolePolicy"] as string);
    expect(trust.Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "s3.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
  });

  it("refuses the same region, an unversioned or unknown bucket and SSE-KMS, before registering anything", async () => {
    await record(() => {
      const provider = new aws.Provider("replica-aws", { region: "eu-west-1" });
      const make =
        (replication: object, extra: object = {}) =>
        () =>
          new S3Storage("bad", {
            placement: placement(),
            buckets: { raw: { versioning: true }, tiles: { versioning: false } },
            replication: { provider, ...replication } as S3StorageArgs["replication"],
            ...extra,
          });
      expect(make({ region: "eu-west-1" })).toThrow(/replication.region: must differ/);
      expect(make({ region: "eu-central-1", buckets: ["tiles", "nope"] })).toThrow(
        /bucket 'tiles' is not versioned[\s\S]*unknown bucket 'nope'/,
      );
      expect(
        make({ region: "eu-central-1" }, { kmsKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/x" }),
      ).toThrow(/SSE-KMS/);
      return provider;
    });
  });
});
