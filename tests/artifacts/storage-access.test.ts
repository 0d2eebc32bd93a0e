/**
 * Least privilege on the Docker object store, proven on the shipped stacks: the real program's bucket bootstrap runs
 * against the fake `mc`, which keeps each user's policy document exactly as `mc admin policy create` uploads it;
 * every consumer × bucket × action is then decided by an independent AWS IAM policy evaluator
 * (`@cloud-copilot/iam-simulate`), not by our own reading of the documents. MinIO evaluates the same AWS IAM
 * syntax; the actions used here are among those it implements (minio/pkg `policy/action.go`).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { consumerSecretEnv, renderBucketScript } from "../../components/storage/bucketScript";
import { mcHostUrl } from "../../components/storage/contract";
import { normalizeBuckets } from "../../components/storage/settings";
import type { RecordedResource } from "../../src/synth/recorder";
import { synthesizeStack } from "../harness";
import { type Credentials, type FakeMc, fakeMc } from "../support/fakeMc";
import { shellcheck, tempFile } from "../support/tools";

jest.setTimeout(60_000);

const ROOT: Credentials = { accessKeyId: "stackport-root", secretAccessKey: "r00tPassw0rdFromRandom" };
const secretOf = (consumer: string) => `S3cret-${consumer}-0123456789`;

type Access = "read" | "append" | "readwrite";
/** What each access level must allow, and everything else that must be refused to every consumer. */
const OBJECT_ACTIONS: Record<string, Access[]> = {
  "s3:GetObject": ["read", "append", "readwrite"],
  "s3:PutObject": ["append", "readwrite"],
  "s3:DeleteObject": ["readwrite"],
  "s3:DeleteObjectVersion": [],
  "s3:PutObjectAcl": [],
};
const BUCKET_ACTIONS: Record<string, Access[]> = {
  "s3:ListBucket": ["read", "append", "readwrite"],
  "s3:DeleteBucket": [],
  "s3:PutBucketPolicy": [],
  "s3:PutBucketVersioning": [],
  "s3:PutLifecycleConfiguration": [],
};

async function allowed(policy: unknown, action: string, resource: string): Promise<boolean> {
  const result = await runSimulation(
    {
      request: {
        principal: "arn:aws:iam::123456789012:user/consumer",
        action,
        resource: { resource, accountId: "123456789012" },
        contextVariables: {},
      },
      identityPolicies: [{ name: "consumer", policy: policy as Record<string, unknown> }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  // An error result means the evaluator refused the document or the request: never read as "denied".
  if (result.resultType !== "single")
    throw new Error(`the evaluator could not run: ${JSON.stringify(result)}`);
  return result.overallResult === "Allowed";
}

interface StackStorage {
  buckets: string[];
  /** As the component records them: consumer → bucket → access. */
  consumers: Record<string, Record<string, Access>>;
  script: string;
  resources: RecordedResource[];
}

async function stackStorage(stack: string): Promise<StackStorage> {
  const plan = await synthesizeStack(stack);
  const component = plan.resources.find((r) => r.type === "stackport:docker:ObjectStorage");
  const bootstrap = plan.resources.find((r) => r.name === "storage-bootstrap");
  const inputs = component!.inputs as {
    buckets: Record<string, unknown>;
    consumers: StackStorage["consumers"];
  };
  const uploads = bootstrap!.inputs["uploads"] as { content: string }[];
  return {
    buckets: Object.keys(inputs.buckets),
    consumers: inputs.consumers,
    script: uploads[0]!.content,
    resources: plan.resources,
  };
}

function runBootstrap(mc: FakeMc, script: string, consumers: string[]) {
  const r = spawnSync("sh", [tempFile("bootstrap.sh", script)], {
    encoding: "utf8",
    timeout: 30_000,
    env: {
      ...mc.env(),
      MC_HOST_storage: mcHostUrl("http://storage:9000", ROOT.accessKeyId, ROOT.secretAccessKey, "test"),
      FAKE_MC_READY_INTERVAL: "1",
      ...Object.fromEntries([...consumers, "metrics"].map((c) => [consumerSecretEnv(c), secretOf(c)])),
    },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

describe.each(["local", "staging"])("the %s stack's object store", (stack) => {
  let storage: StackStorage;
  let mc: FakeMc;
  beforeAll(async () => {
    storage = await stackStorage(stack);
    mc = fakeMc();
    mc.server("storage", ROOT);
    const r = runBootstrap(mc, storage.script, Object.keys(storage.consumers));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("declares one consumer per service with buckets, the basemap, the backup sync and the object mirror, each with only its own buckets", () => {
    const expected: Record<string, Record<string, Access>> = {
      "ingestion-api": { raw: "readwrite", derived: "readwrite" },
      "ingestion-worker": { raw: "readwrite", derived: "readwrite" },
      basemap: { tiles: "read" },
      ...(stack === "staging" && {
        backups: { backups: "append" },
        // The nightly cleanup job, and the off-host copy's mirror: every bucket, read only.
        "ingestion-cleanup": { raw: "readwrite" },
        "backups-objects": { raw: "read", derived: "read", tiles: "read", logs: "read", backups: "read" },
      }),
    };
    expect(storage.consumers).toEqual(expected);
  });

  it("gives each consumer its own user, holding the secret its container gets, and no secret in any mc argument", () => {
    const users = mc.users("storage");
    expect(Object.keys(users).sort()).toEqual(
      [...Object.keys(storage.consumers), "metrics"].map((c) => `stackport-${c}`).sort(),
    );
    for (const c of Object.keys(storage.consumers)) expect(users[`stackport-${c}`]!.secret).toBe(secretOf(c));
    const argv = mc.calls().join("\n");
    for (const c of Object.keys(storage.consumers)) expect(argv).not.toContain(secretOf(c));
    expect(argv).not.toContain(ROOT.secretAccessKey);
  });

  it("lets no consumer touch a bucket it did not declare, read-only consumers write nothing, nobody delete without readwrite or reconfigure a bucket", async () => {
    const users = mc.users("storage");
    const denied: string[] = [];
    const missing: string[] = [];
    // The metrics user (Prometheus' token) is a principal too, with no bucket at all.
    for (const [consumer, buckets] of Object.entries({
      ...storage.consumers,
      metrics: {} as Record<string, Access>,
    })) {
      const policy = users[`stackport-${consumer}`]!.policy;
      for (const bucket of storage.buckets) {
        const access = buckets[bucket];
        const checks = [
          ...Object.entries(OBJECT_ACTIONS).map(
            ([a, ok]) => [a, `arn:aws:s3:::${bucket}/some/key`, ok] as const,
          ),
          ...Object.entries(BUCKET_ACTIONS).map(([a, ok]) => [a, `arn:aws:s3:::${bucket}`, ok] as const),
        ];
        for (const [action, resource, grantedTo] of checks) {
          const want = access !== undefined && grantedTo.includes(access);
          const got = await allowed(policy, action, resource);
          if (got && !want) denied.push(`${consumer} may ${action} on ${resource}`);
          if (!got && want) missing.push(`${consumer} may not ${action} on ${resource}`);
        }
      }
    }
    expect(denied).toEqual([]);
    expect(missing).toEqual([]);
  });

  it("hands each consumer container its own credential, never the root user's (only the server and bootstrap have it)", () => {
    // Input dependencies follow the secrets a resource's inputs were built from.
    const holders = storage.resources
      .filter((r) => r.custom && r.dependsOn.includes("storage-root-password"))
      .map((r) => r.name)
      .sort();
    expect(holders).toEqual(["storage-bootstrap", "storage-server"]);
    const secretsOf = (name: string) =>
      storage.resources.find((r) => r.name === name)!.dependsOn.filter((d) => /^storage-.*-secret$/.test(d));
    for (const svc of ["api", "worker"])
      expect(secretsOf(`ingestion-${svc}-1`)).toEqual([`storage-ingestion-${svc}-secret`]);
    expect(secretsOf("basemap-server")).toEqual(["storage-basemap-secret"]);
    if (stack === "staging") expect(secretsOf("backups-sync")).toEqual(["storage-backups-secret"]);
  });
});

describe("the bootstrap's consumer users", () => {
  it("are converged on every run: a removed consumer's user and policy are deleted, the others kept", () => {
    const consumers = { basemap: { tiles: "read" as const }, backups: { backups: "append" as const } };
    const buckets = normalizeBuckets({ tiles: {}, backups: {} });
    const mc = fakeMc();
    mc.server("storage", ROOT);
    const first = runBootstrap(mc, renderBucketScript(buckets, { consumers }), Object.keys(consumers));
    expect(first.code).toBe(0);
    expect(Object.keys(mc.users("storage")).sort()).toEqual(["stackport-backups", "stackport-basemap"]);

    const rest = { backups: consumers.backups };
    const again = runBootstrap(mc, renderBucketScript(buckets, { consumers: rest }), Object.keys(rest));
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("removing user stackport-basemap");
    expect(Object.keys(mc.users("storage"))).toEqual(["stackport-backups"]);
    expect(existsSync(join(mc.root, ".servers/storage/policies/stackport-basemap.json"))).toBe(false);
  });

  it("fails the job when a consumer's secret is missing from its environment (never adds a user without one)", () => {
    const mc = fakeMc();
    mc.server("storage", ROOT);
    const script = renderBucketScript(normalizeBuckets({ tiles: {} }), {
      consumers: { basemap: { tiles: "read" } },
    });
    const r = runBootstrap(mc, script, []);
    expect(r.code).not.toBe(0);
    expect(mc.users("storage")).toEqual({});
  });

  it("passes shellcheck", async () => {
    const { script } = await stackStorage("staging");
    expect(shellcheck(script)).toEqual({ code: 0, output: "" });
  });
});
