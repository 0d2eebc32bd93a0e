import * as pulumi from "@pulumi/pulumi";
import { dockerStorageArgs, resolveConfig } from "../../src/config";
import { DockerObjectStorage } from "../../components/storage/dockerObjectStorage";
import { lifecycleDocument, renderBucketScript } from "../../components/storage/bucketScript";
import { minioMetricsToken, normalizeBuckets } from "../../components/storage/settings";
import { isSecret, one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const storageConfig = (environment = "local") =>
  resolveConfig({ environment, targets: { t: { kind: "docker" } }, storage: { on: "t" } }).storage!;

describe("bucket bootstrap script", () => {
  const script = renderBucketScript(normalizeBuckets());

  it("creates every default bucket idempotently and blocks anonymous access", () => {
    for (const b of ["raw", "derived", "tiles", "logs"]) {
      expect(script).toContain(`mc mb --ignore-existing "$ALIAS"/'${b}'`);
      expect(script).toContain(`mc anonymous set none "$ALIAS"/'${b}'`);
    }
  });

  it("replaces lifecycle rules (import) instead of appending them (add)", () => {
    expect(script).toContain(`mc ilm rule import "$ALIAS"/'logs'`);
    expect(script).not.toContain("ilm rule add");
    expect(JSON.parse(lifecycleDocument({ versioning: false, expireAfterDays: 30 })!)).toEqual({
      Rules: [
        { ID: "stackport-expire", Status: "Enabled", Filter: { Prefix: "" }, Expiration: { Days: 30 } },
      ],
    });
    expect(lifecycleDocument({ versioning: true })).toBeUndefined();
  });

  it("enables versioning where configured and only suspends buckets that had it", () => {
    expect(script).toContain(`mc version enable "$ALIAS"/'raw'`);
    expect(script).not.toContain(`mc version enable "$ALIAS"/'logs'`);
    expect(script).toMatch(/\*enabled\*\) mc version suspend "\$ALIAS"\/'logs'/);
  });

  it("never contains credentials (they come from MC_HOST_storage at run time)", () => {
    expect(script).not.toMatch(/password|secret/i);
  });
});

describe("DockerObjectStorage", () => {
  it.each([false, true])(
    "registers server, volume, bootstrap and credentials (preview=%s)",
    async (preview) => {
      const { recorder, result } = await record(
        () =>
          new DockerObjectStorage("storage", {
            placement: testPlacement(),
            publishApi: { port: 9000, address: "127.0.0.1" },
            publishConsole: { port: 9001, address: "127.0.0.1" },
          }),
        { preview },
      );
      const children = recorder.resources
        .filter((r) => r.parent === "storage")
        .map((r) => `${r.type} ${r.name}`);
      expect(children.sort()).toEqual(
        [
          "docker:index/container:Container storage-bootstrap",
          "docker:index/container:Container storage-server",
          "docker:index/remoteImage:RemoteImage storage-client-image",
          "docker:index/remoteImage:RemoteImage storage-image",
          "docker:index/volume:Volume storage-data",
          "random:index/randomPassword:RandomPassword storage-metrics-secret",
          "random:index/randomPassword:RandomPassword storage-root-password",
        ].sort(),
      );

      const volume = one(recorder, "storage-data");
      expect([volume.protect, volume.retainOnDelete]).toEqual([true, true]);

      const server = one(recorder, "storage-server");
      expect(server.provider).toBe("test-target-docker");
      expect(server.inputs["ports"]).toEqual([
        { internal: 9000, external: 9000, ip: "127.0.0.1", protocol: "tcp" },
        { internal: 9001, external: 9001, ip: "127.0.0.1", protocol: "tcp" },
      ]);
      // The password env entry is a secret, so the whole envs list is masked.
      expect(server.inputs["envs"]).toBe("[secret]");
      expect(server.inputs["labels"]).toEqual(
        expect.arrayContaining([
          { label: "stackport.tier", value: "storage" },
          { label: "stackport.managed-by", value: "stackport" },
        ]),
      );

      const bootstrap = one(recorder, "storage-bootstrap");
      expect(bootstrap.inputs["mustRun"]).toBe(false);
      expect(bootstrap.dependsOn).toContain("storage-server");

      expect(await isSecret(result.connection.secretAccessKey)).toBe(true);
      expect(await valueOf(result.connection.endpoint)).toBe("http://storage:9000");
    },
  );

  it("publishes nothing unless asked; the stack publishes on loopback in local only", async () => {
    const { recorder } = await record(
      () => new DockerObjectStorage("storage", { placement: testPlacement() }),
    );
    expect(one(recorder, "storage-server").inputs["ports"] ?? []).toEqual([]);
    const safety = { protect: false, retainOnDelete: false };
    expect(dockerStorageArgs(storageConfig("local"), safety)).toMatchObject({
      publishApi: { port: 9000, address: "127.0.0.1" },
      publishConsole: { port: 9001, address: "127.0.0.1" },
    });
    expect(dockerStorageArgs(storageConfig("staging"), safety)).not.toHaveProperty("publishApi");
  });

  it("refuses a bucket S3 would refuse, naming the arg path, before registering anything", () => {
    expect(
      () => new DockerObjectStorage("storage", { placement: {} as never, buckets: { My_Bucket: {} } }),
    ).toThrow("buckets.My_Bucket: must be 3-63 lower-case letters, digits or '-' (S3 bucket rules)");
  });
});

describe("DockerObjectStorage consumers", () => {
  const consumers = {
    api: { buckets: { raw: "readwrite" as const } },
    basemap: { buckets: { tiles: "read" as const } },
  };

  it("gives each consumer its own user and secret, and only the buckets it was granted", async () => {
    const { recorder, result } = await record(
      () => new DockerObjectStorage("storage", { placement: testPlacement(), consumers }),
    );
    const api = result.connectionFor("api");
    expect(await valueOf(api.accessKeyId)).toBe("stackport-api");
    expect(await isSecret(api.accessKeyId)).toBe(true);
    expect(await isSecret(api.secretAccessKey)).toBe(true);
    expect(await valueOf(api.secretAccessKey)).not.toBe(await valueOf(result.connection.secretAccessKey));
    expect(Object.keys(api.buckets)).toEqual(["raw"]);
    expect(Object.keys(result.connectionFor("basemap").buckets)).toEqual(["tiles"]);
    // The bootstrap gets each consumer's secret from its environment: a new secret re-runs it.
    expect(one(recorder, "storage-bootstrap").dependsOn).toEqual(
      expect.arrayContaining(["storage-api-secret", "storage-basemap-secret"]),
    );
    expect(() => result.connectionFor("worker")).toThrow(
      "no consumer 'worker' (declared: api, basemap); add it to args.consumers",
    );
  });

  it("renders a grant into the bootstrap script, so a changed grant re-runs it", () => {
    const read = renderBucketScript(normalizeBuckets(), { consumers: { api: { raw: "read" } } });
    const write = renderBucketScript(normalizeBuckets(), { consumers: { api: { raw: "readwrite" } } });
    expect(read).not.toBe(write);
    expect(read).toContain(
      `printf '%s\\n' "$STACKPORT_SECRET_API" | mc admin user add "$ALIAS" 'stackport-api'`,
    );
    expect(read).not.toMatch(/password/i);
  });

  it("refuses unknown buckets, bad access, bad or reserved names, naming the arg path, before registering anything", () => {
    const bad = () =>
      new DockerObjectStorage("storage", {
        placement: {} as never,
        consumers: {
          api: { buckets: { nope: "read", raw: "write" as never } },
          root: { buckets: { raw: "read" } },
          Bad_Name: { buckets: { raw: "read" } },
          empty: { buckets: {} },
        },
      });
    expect(bad).toThrow(
      "consumers.api.buckets.nope: unknown bucket 'nope'; buckets: raw, derived, tiles, logs",
    );
    expect(bad).toThrow('consumers.api.buckets.raw: must be one of read, append, readwrite; got "write"');
    expect(bad).toThrow("consumers.root: must be 1-63 lower-case letters");
    expect(bad).toThrow("consumers.Bad_Name: must be 1-63");
    expect(bad).toThrow("consumers.empty.buckets: must name at least one bucket");
  });
});

describe("MinIO metrics", () => {
  it("are not public: the server keeps MinIO's jwt auth, and Prometheus gets a token of the metrics user", async () => {
    const { result } = await record(() => new DockerObjectStorage("storage", { placement: testPlacement() }));
    const envs = (await valueOf(pulumi.output(result.nodes.server.envs))) as string[];
    expect(envs.join("\n")).not.toContain("MINIO_PROMETHEUS_AUTH_TYPE");
    expect(await isSecret(result.metricsToken)).toBe(true);
    const token = (await valueOf(result.metricsToken))!;
    const secret = (await valueOf(result.nodes.metricsSecret.result))!;
    expect(token).toBe(minioMetricsToken("stackport-metrics", secret));
  });
});
