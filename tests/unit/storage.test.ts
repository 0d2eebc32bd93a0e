import { dockerStorageArgs, resolveConfig } from "../../src/config";
import { DockerObjectStorage } from "../../components/storage/dockerObjectStorage";
import { lifecycleDocument, renderBucketScript } from "../../components/storage/bucketScript";
import { normalizeBuckets } from "../../components/storage/settings";
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
