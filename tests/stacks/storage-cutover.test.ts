/**
 * Object storage moving homelab → AWS (seed 003's direction) and between two Docker hosts, phase by phase: the
 * mirror container runs on the Docker side while the phase mirrors, the final verified copy replaces it in
 * backfill, the S3 side gets a bucket-scoped IAM key only while objects are copied, and bad mirror settings are
 * refused with their config key before anything is registered.
 */
import { ConfigError, resolveConfig } from "../../src/config";
import type { RecordedResource } from "../../src/synth/recorder";
import { synthesizeConfig } from "../harness";

const BUCKETS = { raw: { versioning: true }, tiles: { versioning: false } };

function toAws(phase: string, mirror?: Record<string, unknown>) {
  return {
    environment: "staging",
    targets: {
      homelab: { kind: "docker", host: "ssh://deploy@homelab.lan" },
      cloud: { kind: "aws", region: "eu-central-1", vpc: { cidr: "10.50.0.0/16" } },
    },
    storage: { on: "homelab", buckets: BUCKETS },
    cutover: { storage: { from: "homelab", to: "cloud", phase, ...(mirror && { mirror }) } },
  };
}

function betweenHosts(phase: string, mirror?: Record<string, unknown>) {
  return {
    environment: "staging",
    targets: {
      laptop: { kind: "docker" },
      homelab: { kind: "docker", host: "ssh://deploy@homelab.lan" },
    },
    storage: { on: "laptop", buckets: BUCKETS },
    cutover: { storage: { from: "laptop", to: "homelab", phase, ...(mirror && { mirror }) } },
  };
}

const byName = (rs: RecordedResource[], name: string) => {
  const found = rs.find((r) => r.name === name);
  if (!found) throw new Error(`no resource '${name}' in the plan: ${rs.map((r) => r.name).join(", ")}`);
  return found;
};
const names = (rs: RecordedResource[]) => rs.map((r) => r.name);

function issueKeys(cfg: Record<string, unknown>): string[] {
  try {
    resolveConfig(cfg);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.key}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}

describe("storage cutover homelab → aws", () => {
  it("replicate: S3 buckets beside MinIO, a continuous mirror on the homelab, a read-write key for the S3 side only", async () => {
    const { resources } = await synthesizeConfig("staging", toAws("replicate"));
    expect(byName(resources, "storage-server").provider).toBe("homelab-docker");
    expect(byName(resources, "storage-cloud-raw").type).toBe("aws:s3/bucket:Bucket");

    const mirror = byName(resources, "storage-cutover-mirror-container");
    expect(mirror.type).toBe("docker:index/container:Container");
    expect(mirror.provider).toBe("homelab-docker");
    expect(mirror.inputs["restart"]).toBe("unless-stopped");
    expect(mirror.inputs["envs"]).toBe("[secret]");
    expect(String((mirror.inputs["uploads"] as { content: string }[])[0]!.content)).toContain(
      "mc --no-color mirror",
    );
    expect(mirror.dependsOn).toEqual(
      expect.arrayContaining(["storage-bootstrap", "storage-cloud-raw-policy"]),
    );

    const user = byName(resources, "storage-cutover-mirror-user");
    expect(user.provider).toBe("cloud-aws");
    expect(user.parent).toBe("storage-cloud");
    const policy = JSON.parse(String(byName(resources, "storage-cutover-mirror-policy").inputs["policy"]));
    const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(actions).toEqual(
      expect.arrayContaining(["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
    );
    expect(
      policy.Statement.flatMap((s: { Resource: string[] }) => s.Resource).every(
        (r: string) => r.includes("raw") || r.includes("tiles"),
      ),
    ).toBe(true);
    expect(byName(resources, "storage-cutover-mirror-key").type).toBe("aws:iam/accessKey:AccessKey");
    // The key's secret reaches the plan only inside the masked environment.
    expect(JSON.stringify(resources)).not.toContain("mock-secret-storage-cutover-mirror-key");
    expect(names(resources)).not.toContain("storage-cutover-final-copy-job");
  });

  it("freeze: the mirror keeps running (catching up) while writers are frozen", async () => {
    const { resources } = await synthesizeConfig("staging", toAws("freeze"));
    expect(names(resources)).toContain("storage-cutover-mirror-container");
    expect(names(resources)).not.toContain("storage-cutover-final-copy-job");
  });

  it("backfill: the continuous mirror is gone; the final copy is a job whose failure fails the update", async () => {
    const { resources, outputs, cutovers } = await synthesizeConfig("staging", toAws("backfill"));
    // What reviewers read at the top of the synth tree and in the sign-off report.
    expect(cutovers).toEqual([
      {
        tier: "storage",
        from: "homelab",
        to: "cloud",
        phase: "backfill",
        actions: [
          "storage runs on both homelab and cloud (the cloud side as storage-cloud)",
          "traffic is served by homelab",
          "writes frozen (no writer service in this stack)",
          "final object copy homelab → cloud with deletions, then verification per bucket (a mismatch fails the update)",
        ],
        runbook: "docs/runbooks/cutover-homelab-to-aws.md",
      },
    ]);
    expect(names(resources)).not.toContain("storage-cutover-mirror-container");
    // The job's verdict is a stack output: a failed verification fails the update by name.
    expect(outputs).toContain("storageCutoverVerified");
    const job = byName(resources, "storage-cutover-final-copy-job");
    expect(job.provider).toBe("homelab-docker");
    expect(job.inputs["restart"]).toBe("no");
    expect(job.inputs["mustRun"]).toBe(false);
    const script = String((job.inputs["uploads"] as { content: string }[])[0]!.content);
    expect(script).toContain("mirror_all --overwrite --remove");
    expect(script).toContain("verify_pair");
    expect(names(resources)).toContain("storage-cutover-mirror-key");
  });

  it.each(["switch", "decommission"])("%s: no mirror, no job, and the IAM key is deleted", async (phase) => {
    const { resources, cutovers } = await synthesizeConfig("staging", toAws(phase));
    expect(cutovers?.[0]?.actions).toContain("traffic is served by cloud");
    expect(names(resources).filter((n) => n.startsWith("storage-cutover-"))).toEqual([]);
  });

  it("a customer KMS key on the buckets is usable by the mirror's key", async () => {
    const cfg = toAws("replicate");
    const kmsKeyArn = "arn:aws:kms:eu-central-1:123456789012:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    Object.assign(cfg.storage, { aws: { kmsKeyArn } });
    const { resources } = await synthesizeConfig("staging", cfg);
    const policy = JSON.parse(String(byName(resources, "storage-cutover-mirror-policy").inputs["policy"]));
    expect(policy.Statement).toContainEqual({
      Sid: "UseBucketKey",
      Effect: "Allow",
      Action: ["kms:Decrypt", "kms:GenerateDataKey"],
      Resource: [kmsKeyArn],
    });
  });
});

describe("storage cutover aws → homelab", () => {
  it("the mirror runs on the homelab and its S3 key may only read", async () => {
    const cfg = toAws("replicate");
    cfg.storage.on = "cloud";
    Object.assign(cfg.cutover.storage, { from: "cloud", to: "homelab" });
    const { resources, cutovers } = await synthesizeConfig("staging", cfg);
    expect(cutovers?.[0]?.runbook).toBe("docs/runbooks/cutover-aws-to-homelab.md");
    expect(byName(resources, "storage-cutover-mirror-container").provider).toBe("homelab-docker");
    const policy = JSON.parse(String(byName(resources, "storage-cutover-mirror-policy").inputs["policy"]));
    const actions = policy.Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(actions).toContain("s3:GetObject");
    expect(actions).not.toContain("s3:PutObject");
    expect(actions).not.toContain("s3:DeleteObject");
  });
});

describe("storage cutover between two Docker hosts", () => {
  it("runs on the source by default and needs the other side's endpoint", () => {
    expect(issueKeys(betweenHosts("replicate"))).toEqual([
      expect.stringMatching(
        /^stackport:cutover\.storage\.mirror\.remoteEndpoint: both sides are Docker: give the S3 API of 'homelab' as the mirror on 'laptop' reaches it/,
      ),
    ]);
  });

  it("with an endpoint, the mirror runs where `mirror.on` says and no AWS resource exists", async () => {
    const { resources } = await synthesizeConfig(
      "staging",
      betweenHosts("replicate", {
        on: "homelab",
        remoteEndpoint: "http://laptop.lan:9000",
        intervalSeconds: 300,
      }),
    );
    const mirror = byName(resources, "storage-cutover-mirror-container");
    expect(mirror.provider).toBe("homelab-docker");
    expect(String((mirror.inputs["uploads"] as { content: string }[])[0]!.content)).toContain(
      "INTERVAL_SECONDS=300",
    );
    expect(resources.some((r) => r.type.startsWith("aws:"))).toBe(false);
  });

  it("refuses bad mirror settings with the key and what is allowed", () => {
    expect(
      issueKeys(betweenHosts("replicate", { on: "nas", remoteEndpoint: "http://x.lan:9000" })),
    ).toContainEqual(
      "stackport:cutover.storage.mirror.on: is 'nas'; the mirror runs on one side of the cutover: 'laptop' or 'homelab'",
    );
    expect(issueKeys(betweenHosts("replicate", { remoteEndpoint: "ftp://x.lan" })).join("\n")).toMatch(
      /stackport:cutover\.storage\.mirror\.remoteEndpoint: must be an http:\/\/ or https:\/\/ URL/,
    );
    const awsOnly = toAws("replicate");
    awsOnly.targets.homelab = { kind: "aws", region: "eu-west-1", vpc: { cidr: "10.60.0.0/16" } } as never;
    expect(issueKeys(awsOnly)).toContainEqual(
      expect.stringMatching(
        /^stackport:cutover\.storage\.mirror: both 'homelab' and 'cloud' are AWS targets/,
      ),
    );
    expect(issueKeys(toAws("replicate", { on: "cloud" }))).toContainEqual(
      "stackport:cutover.storage.mirror.on: 'cloud' is not a Docker target; the mirror runs in a container on 'homelab'",
    );
  });
});
