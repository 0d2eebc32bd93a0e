/**
 * The Docker side of a storage cutover's object mirror as a component: what it registers per mode, that every
 * credential reaches the container only as a secret, and that the final copy's failure fails the update.
 */
import * as pulumi from "@pulumi/pulumi";
import { ObjectMirror, type ObjectMirrorArgs } from "../../components/storage/objectMirror";
import { SECRET_MASK } from "../../src/synth/recorder";
import { one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const IMAGE = "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z";

function args(mode: ObjectMirrorArgs["mode"]): ObjectMirrorArgs {
  return {
    placement: testPlacement({ host: "ssh://deploy@homelab.lan" }),
    image: IMAGE,
    mode,
    source: {
      endpoint: "http://storage:9000",
      accessKeyId: "stackport-root",
      secretAccessKey: pulumi.secret("minio-root-password"),
      buckets: { tiles: pulumi.output("tiles"), raw: pulumi.output("raw") },
    },
    target: {
      endpoint: "https://s3.eu-central-1.amazonaws.com",
      accessKeyId: pulumi.secret("AKIAEXAMPLE"),
      secretAccessKey: pulumi.secret("wJalr/XUtnFEMI+K7MDENG"),
      buckets: {
        raw: pulumi.output("stackport-test-raw-1a2b"),
        tiles: pulumi.output("stackport-test-tiles-1a2b"),
      },
    },
    dependsOn: [],
  };
}

describe("ObjectMirror", () => {
  it("continuous: a restarting mc container whose whole environment is one secret", async () => {
    const { recorder, result } = await record(
      () => new ObjectMirror("storage-cutover-mirror", args("continuous")),
    );
    const container = one(recorder, "storage-cutover-mirror-container");
    expect(container.inputs["restart"]).toBe("unless-stopped");
    expect(container.inputs["image"]).toBe(IMAGE);
    expect(container.inputs["envs"]).toBe(SECRET_MASK);
    expect(JSON.stringify(recorder.resources)).not.toMatch(/minio-root-password|wJalr|AKIAEXAMPLE/);
    expect(result.verified).toBeUndefined();
  });

  it("the environment carries both aliases (credentials raw, as mc reads them) and the pairs sorted by key", async () => {
    const { result } = await record(() => new ObjectMirror("storage-cutover-mirror", args("continuous")));
    expect(await pulumi.isSecret(result.container.envs)).toBe(true);
    expect(await valueOf(result.container.envs)).toEqual([
      "MC_HOST_source=http://stackport-root:minio-root-password@storage:9000",
      "MC_HOST_target=https://AKIAEXAMPLE:wJalr/XUtnFEMI+K7MDENG@s3.eu-central-1.amazonaws.com",
      "BUCKET_PAIRS=raw=raw=stackport-test-raw-1a2b tiles=tiles=stackport-test-tiles-1a2b",
    ]);
  });

  it("final: a one-shot job that resolves `verified` when the job exits 0", async () => {
    const { recorder, result } = await record(
      () => new ObjectMirror("storage-cutover-final-copy", args("final")),
    );
    const job = one(recorder, "storage-cutover-final-copy-job");
    expect(job.inputs).toMatchObject({ restart: "no", mustRun: false, attach: true });
    expect(await valueOf(result.verified!)).toBe(true);
  });

  it("final: a verification failure rejects `verified` with the job's log, which fails the update", async () => {
    const log = "stackport-object-backfill: DIFFERS raw: ‘source/raw/a.csv’ - only in first.";
    const { result } = await record(() => new ObjectMirror("storage-cutover-final-copy", args("final")), {
      outputs: (type, name) =>
        type === "docker:index/container:Container" && name === "storage-cutover-final-copy-job"
          ? { exitCode: 1, containerLogs: log }
          : undefined,
    });
    // A real run reports the rejection through the stack output; here the Output's side promises are observed so
    // the rejection does not end the test process.
    const internals = result.verified as unknown as { isKnown: Promise<boolean>; isSecret: Promise<boolean> };
    internals.isKnown.catch(() => undefined);
    internals.isSecret.catch(() => undefined);
    await expect(valueOf(result.verified!)).rejects.toThrow(
      /the final object copy and its verification \(cutover backfill\) failed \(exit code 1\):\n.*DIFFERS raw/,
    );
  });

  it("refuses a target without one of the source's buckets before registering anything", () => {
    const a = args("final");
    delete (a.target.buckets as Record<string, unknown>)["tiles"];
    expect(() => new ObjectMirror("m", a)).toThrow("target.buckets: has no bucket for tiles");
  });
});
