/**
 * Data tiers stackport did not create: an external source (seed 004: Supabase's PostgreSQL and an S3-compatible
 * store) as the `from` side of a cutover to a homelab, phase by phase, with a parallel run on the new side; and
 * adoption (seed 000: existing S3 buckets and an RDS instance imported, not created). Each rule the config can check
 * is refused with its key before anything is registered.
 */
import { ConfigError, resolveConfig } from "../../src/config";
import { cutoverSummaries } from "../../src/config/cutover";
import { OFFLINE_SECRET_PLACEHOLDER } from "../../src/config/keys";
import type { RecordedResource } from "../../src/synth/recorder";
import { planDocument } from "../../src/synth/render";
import { synthesize } from "../../src/synth/run";
import { readStackFile } from "../../src/synth/stackFile";
import { join } from "node:path";

const ROOT = join(__dirname, "..", "..");
const SECRETS = {
  "supabase-db-url": OFFLINE_SECRET_PLACEHOLDER,
  "legacy-key-id": OFFLINE_SECRET_PLACEHOLDER,
  "legacy-secret": OFFLINE_SECRET_PLACEHOLDER,
};

function supabase(phase: string, over: { parallelRun?: boolean; api?: Record<string, unknown> } = {}) {
  const parallelRun = over.parallelRun ?? true;
  return {
    environment: "staging",
    targets: {
      supabase: { kind: "external", description: "Supabase project" },
      homelab: { kind: "docker", host: "ssh://deploy@homelab.lan" },
    },
    secrets: SECRETS,
    database: { on: "supabase", external: { urlSecret: "supabase-db-url" } },
    storage: {
      on: "supabase",
      buckets: { reports: { versioning: true } },
      external: {
        endpoint: "https://s3.eu-central-1.amazonaws.com",
        accessKeyIdSecret: "legacy-key-id",
        secretAccessKeySecret: "legacy-secret",
        bucketNames: { reports: "frostguard-reports-prod" },
      },
    },
    cutover: {
      database: {
        from: "supabase",
        to: "homelab",
        phase,
        parallelRun,
        schemas: ["auth", "storage", "public"],
        access: { target: { host: "127.0.0.1", port: 15432 } },
      },
      storage: { from: "supabase", to: "homelab", phase, parallelRun },
    },
    ingestion: {
      on: "homelab",
      broker: false,
      services: {
        api: {
          image: "ghcr.io/example/api:1.0.0",
          port: 3000,
          connections: { database: "app_reader", storage: ["reports"] },
          ...over.api,
        },
      },
    },
  };
}

/** Synthesizes a config whose `secrets` are secure values, as a stack file's `secure:` keys reach the program. */
async function synth(config: Record<string, unknown>) {
  const values = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [`stackport:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  return synthesize({
    project: "stackport",
    stack: "staging",
    config: values,
    secretKeys: ["stackport:secrets"],
  });
}

function issues(cfg: Record<string, unknown>): string[] {
  try {
    resolveConfig(cfg, ["secrets"]);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => `${i.key}: ${i.message}`);
  }
  throw new Error("expected a ConfigError");
}

const byName = (rs: RecordedResource[], name: string) => {
  const found = rs.find((r) => r.name === name);
  if (!found) throw new Error(`no resource '${name}' in the plan: ${rs.map((r) => r.name).join(", ")}`);
  return found;
};

describe("cutover from an external source (seed 004)", () => {
  it("replicate: nothing is created for the external side; the homelab copy, the initial copy without the source's grants", async () => {
    const { resources } = await synth(supabase("replicate"));
    expect(resources.filter((r) => r.provider !== null && !/^homelab-/.test(r.provider))).toEqual([]);
    expect(resources.some((r) => r.name.startsWith("supabase"))).toBe(false);
    byName(resources, "database-homelab-server");
    const copy = byName(resources, "database-cutover-initial-copy");
    expect(copy.inputs["environment"]).toBe("[secret]");
    expect(String(copy.inputs["create"])).toContain("pg_dump --format=custom --no-owner --no-acl");
    expect(String(copy.inputs["create"])).not.toContain("backfill-verify");
    const mirror = byName(resources, "storage-cutover-mirror-container");
    expect(mirror.inputs["envs"]).toBe("[secret]");
  });

  it("backfill: the final copy is verified; the parallel-run service reads the homelab copy and is not frozen", async () => {
    const { resources } = await synth(supabase("backfill"));
    expect(String(byName(resources, "database-cutover-final-copy").inputs["create"])).toContain(
      "backfill-verify",
    );
    byName(resources, "storage-cutover-final-copy-job");
    const api = byName(resources, "ingestion-api-1");
    expect(api.provider).toBe("homelab-docker");
    expect(api.dependsOn).toContain("database-homelab-app-reader-password");
    expect(api.dependsOn).not.toContain("database-homelab-app-writer-password");
    // Its MinIO user on the copy may only read.
    const bootstrap = String(
      (byName(resources, "storage-homelab-bootstrap").inputs["uploads"] as { content: string }[])[0]!.content,
    );
    const lines = bootstrap.split("\n");
    const create = lines.findIndex((l) =>
      l.includes("mc admin policy create \"$ALIAS\" 'stackport-ingestion-api'"),
    );
    expect(create).toBeGreaterThan(0);
    expect(lines[create - 1]).toContain('"Sid":"ReadObjects"');
    expect(lines[create - 1]).not.toContain("s3:PutObject");
  });

  it("switch: the service writes, the copy jobs are gone", async () => {
    const { resources } = await synth(
      supabase("switch", { api: { connections: { database: "app_writer", storage: ["reports"] } } }),
    );
    expect(byName(resources, "ingestion-api-1").dependsOn).toContain("database-homelab-app-writer-password");
    expect(resources.some((r) => r.name.startsWith("database-cutover-"))).toBe(false);
    expect(resources.some((r) => r.name.startsWith("storage-cutover-"))).toBe(false);
  });

  it("the plan's summary names the seed 004 runbook, and says the external writers are stopped by hand", () => {
    const [storage, database] = cutoverSummaries(resolveConfig(supabase("freeze"), ["secrets"]));
    expect(database).toMatchObject({
      tier: "database",
      runbook: "docs/runbooks/cutover-supabase-to-homelab.md",
    });
    expect(storage).toMatchObject({ tier: "storage", runbook: "docs/runbooks/cutover-s3-to-minio.md" });
    expect(database!.actions).toEqual(
      expect.arrayContaining([
        "stop the writers of supabase yourself: stackport does not run them",
        "parallel run: consumers on homelab read its copy (read-only until switch)",
      ]),
    );
  });
});

describe("parallel run rules, refused by the config", () => {
  it("a writer on the copy before switch names the service's database key", () => {
    expect(
      issues(supabase("replicate", { api: { connections: { database: "app_writer" } } })),
    ).toContainEqual(
      expect.stringMatching(
        /^stackport:ingestion\.services\.api\.connections\.database: writes to the database .* only read there \(app_reader, no import\) until switch$/,
      ),
    );
  });

  it("a storage consumer on an AWS copy is refused: a task role has no read-only bucket grant", () => {
    const cfg = supabase("replicate");
    Object.assign(cfg.targets, { cloud: { kind: "aws", region: "eu-central-1" } });
    Object.assign(cfg.cutover.storage, { to: "cloud" });
    Object.assign(cfg.cutover.database, { to: "cloud" });
    Object.assign(cfg.ingestion, { on: "cloud" });
    expect(issues(cfg)).toContainEqual(
      expect.stringMatching(
        /^stackport:ingestion\.services\.api\.connections\.storage: runs on 'cloud' \(AWS\) against the copy in phase replicate, where its task role could write/,
      ),
    );
  });

  it("without parallelRun, a consumer on the new side before switch is refused as before", () => {
    expect(issues(supabase("backfill", { parallelRun: false }))).toContainEqual(
      expect.stringMatching(
        /^stackport:ingestion\.services\.api\.connections\.database: uses the database, but stackport:database is on 'supabase' and stackport:ingestion on 'homelab'/,
      ),
    );
  });
});

describe("external targets and sources, refused by the config", () => {
  const base = () => supabase("replicate");
  it.each<[string, (c: ReturnType<typeof base>) => void, RegExp]>([
    [
      "another tier on an external target",
      (c) => Object.assign(c, { proxy: { on: "supabase", domain: "x.lan", tls: { mode: "http" } } }),
      /^stackport:proxy\.on: 'supabase' is an external target: stackport runs nothing there/,
    ],
    [
      "an external tier without its connection",
      (c) => delete (c.database as { external?: unknown }).external,
      /^stackport:database\.external: is required: stackport:database\.on 'supabase' is an external target/,
    ],
    [
      "an unknown secret",
      (c) => (c.database.external.urlSecret = "nope"),
      /^stackport:database\.external\.urlSecret: unknown secret 'nope'; set it with pulumi config set --secret --path 'stackport:secrets\.nope'/,
    ],
    [
      "an endpoint with a path (Supabase Storage's), which mc cannot address",
      (c) => (c.storage.external.endpoint = "https://abcd.supabase.co/storage/v1/s3"),
      /^stackport:storage\.external\.endpoint: has a path: the object mirror's mc \(minio-go, isValidEndpointURL\)/,
    ],
    [
      "no schemas to copy from an external database",
      (c) => delete (c.cutover.database as { schemas?: unknown }).schemas,
      /^stackport:cutover\.database\.schemas: is required when copying from an external source/,
    ],
    [
      "a bucket name for a bucket the tier does not have",
      (c) => Object.assign(c.storage.external.bucketNames, { tiles: "old-tiles" }),
      /^stackport:storage\.external\.bucketNames\.tiles: 'tiles' \(old-tiles\) is not a key of stackport:storage\.buckets/,
    ],
    [
      "an external tier with no cutover from it",
      (c) => delete (c.cutover as { database?: unknown }).database,
      /^stackport:database\.on: 'supabase' is an external target: it is only the from side of a cutover/,
    ],
  ])("%s", (_what, mutate, expected) => {
    const cfg = base();
    mutate(cfg);
    expect(issues(cfg)).toContainEqual(expect.stringMatching(expected));
  });

  it("a cutover onto an external target", () => {
    expect(
      issues({
        environment: "staging",
        targets: { homelab: { kind: "docker" }, old: { kind: "external" } },
        database: { on: "homelab" },
        cutover: {
          database: {
            from: "homelab",
            to: "old",
            phase: "freeze",
          },
        },
      }),
    ).toContainEqual(
      expect.stringMatching(
        /^stackport:cutover\.database\.to: 'old' is an external target: a cutover moves a tier onto a target stackport runs/,
      ),
    );
  });
});

describe("adoption (seed 000): existing AWS resources imported, not created", () => {
  it("the s3-adoption example's plan imports every bucket by its name and creates none", async () => {
    const plan = await synthesize(readStackFile(ROOT, "examples/s3-adoption/Pulumi.s3-adoption.yaml"));
    const buckets = plan.resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
    expect(buckets.map((b) => [b.name, b.inputs["bucket"], b.import, b.protect]).sort()).toEqual([
      ["storage-derived", "goes-pipeline-derived", "goes-pipeline-derived", true],
      ["storage-raw", "goes-pipeline-raw", "goes-pipeline-raw", true],
      ["storage-tiles", "goes-pipeline-tiles", "goes-pipeline-tiles", true],
    ]);
    // The plan document carries the import; resources not adopted carry no key at all.
    const doc = planDocument(plan);
    expect(doc.resources.find((r) => r.name === "storage-raw")).toMatchObject({
      import: "goes-pipeline-raw",
    });
    expect(doc.resources.filter((r) => "import" in r)).toHaveLength(3);
  });

  it("an adopted RDS instance keeps its identifier and is imported", async () => {
    const { resources } = await synth({
      environment: "staging",
      targets: { cloud: { kind: "aws", region: "eu-central-1" } },
      database: { on: "cloud", adopt: { dbInstanceIdentifier: "frostguard-prod" } },
    });
    const instance = resources.find((r) => r.type === "aws:rds/instance:Instance")!;
    expect(instance.import).toBe("frostguard-prod");
    expect(instance.inputs["identifier"]).toBe("frostguard-prod");
    expect(instance.protect).toBe(true);
  });

  it("adopt on a tier with no AWS side is refused naming the key", () => {
    expect(
      issues({
        environment: "staging",
        targets: { homelab: { kind: "docker" } },
        storage: { on: "homelab", adopt: { buckets: { raw: "old-raw" } } },
      }),
    ).toContainEqual(
      expect.stringMatching(
        /^stackport:storage\.adopt: adopts existing AWS resources with Pulumi import, but stackport:storage has no AWS side/,
      ),
    );
  });
});
