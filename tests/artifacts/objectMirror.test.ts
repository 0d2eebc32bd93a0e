/**
 * The storage cutover's object scripts, run for real by `sh` against a directory-backed stand-in for `mc`
 * (tests/support/fakeMc.ts — the MinIO client is not packaged for Debian): the continuous mirror copies without
 * deleting and stops cleanly on `docker stop`'s TERM; the backfill job mirrors deletions, verifies, and fails
 * naming the bucket and key when the copy differs. Both scripts pass shellcheck.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  renderObjectBackfillScript,
  renderObjectMirrorScript,
} from "../../components/storage/objectMirrorScripts";
import { mcHostUrl } from "../../components/storage/contract";
import { type Credentials, type FakeMc, fakeMc } from "../support/fakeMc";
import { type RunningLoop, runLoop } from "../support/loop";
import { requireTool, shellcheck, tempFile } from "../support/tools";

const PAIRS = "raw=raw=stackport-production-raw-1a2b tiles=tiles=stackport-production-tiles-1a2b";
const SRC = { raw: "raw", tiles: "tiles" };
const DST = { raw: "stackport-production-raw-1a2b", tiles: "stackport-production-tiles-1a2b" };
/** The MinIO side's root user, and an AWS key pair whose secret has '/' and '+', as most do. */
const MINIO: Credentials = { accessKeyId: "stackport-root", secretAccessKey: "Xk29fLq81MzPv0aTnR5s" };
const AWS: Credentials = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCY+EXAMPLEKEY",
};

/** The environment the ObjectMirror component gives the container: MC_HOST_* from mcHostUrl, as deployed. */
function env(mc: FakeMc, extra: Record<string, string> = {}) {
  return {
    ...mc.env(),
    MC_HOST_source: mcHostUrl("http://storage:9000", MINIO.accessKeyId, MINIO.secretAccessKey, "source"),
    MC_HOST_target: mcHostUrl(
      "https://s3.eu-west-1.amazonaws.com",
      AWS.accessKeyId,
      AWS.secretAccessKey,
      "target",
    ),
    BUCKET_PAIRS: PAIRS,
    ...extra,
  };
}

function backfill(mc: FakeMc, args: string[] = [], extra: Record<string, string> = {}) {
  const r = spawnSync("sh", [tempFile("backfill.sh", renderObjectBackfillScript()), ...args], {
    encoding: "utf8",
    timeout: 60_000,
    env: env(mc, extra),
  });
  return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

/** Both servers up, accepting their own credentials. */
function servers(): FakeMc {
  const mc = fakeMc();
  mc.server("source", MINIO);
  mc.server("target", AWS);
  return mc;
}

/** A source with objects in both buckets and a target that is behind: one missing, one stale, one extra. */
function platformBuckets(): FakeMc {
  const mc = servers();
  mc.put("source", SRC.raw, "2026/03/01/readings.csv", "id,value\n1,0.5\n");
  mc.put("source", SRC.raw, "2026/03/02/readings.csv", "id,value\n2,0.7\n3,0.9\n");
  mc.put("source", SRC.tiles, "basemap.pmtiles", "PMTiles v3 …");
  mc.put("target", DST.raw, "2026/03/01/readings.csv", "id,value\n1,0.5\n");
  mc.put("target", DST.raw, "2026/02/28/deleted-at-source.csv", "old");
  mc.put("target", DST.tiles, "basemap.pmtiles", "PMTiles v2");
  return mc;
}

// Every script runs with a timeout and the loop is disposed after each test: the suite cannot hang.
jest.setTimeout(90_000);

beforeAll(() => {
  requireTool("sh", "dash");
  for (const tool of ["find", "sort", "comm", "cmp", "wc"])
    requireTool(tool, "coreutils/findutils/diffutils");
});

describe("rendered object scripts", () => {
  it.each([
    ["continuous mirror", renderObjectMirrorScript()],
    ["backfill", renderObjectBackfillScript()],
  ])("the %s script passes shellcheck with no findings", (_name, script) => {
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});

describe("object backfill job", () => {
  it("mirrors the last changes with deletions, then verifies every bucket", () => {
    const mc = platformBuckets();
    const r = backfill(mc);
    expect(r.out).toContain("matches raw: 2 objects, 36 bytes");
    expect(r.out).toContain("matches tiles: 1 objects, 14 bytes");
    expect(r.out).toContain("every bucket matches");
    expect(r.code).toBe(0);
    expect(mc.objects("target", DST.raw)).toEqual(mc.objects("source", SRC.raw));
    expect(mc.objects("target", DST.tiles)).toEqual({ "basemap.pmtiles": "PMTiles v3 …" });
    expect(mc.calls()).toContain(
      `--no-color mirror --overwrite --remove source/${SRC.raw} target/${DST.raw}`,
    );
  });

  it("reaches S3 with an AWS secret holding '/' and '+' as it is; a percent-encoded one is refused", () => {
    const mc = platformBuckets();
    expect(backfill(mc).code).toBe(0);
    // What mcHostUrl used to produce: mc takes '%2F' and '%2B' literally, so S3 rejects the signature.
    const encoded = `https://${AWS.accessKeyId}:${encodeURIComponent(AWS.secretAccessKey)}@s3.eu-west-1.amazonaws.com`;
    const r = backfill(mc, [], { MC_HOST_target: encoded });
    expect(r.code).toBe(3);
    expect(r.out).toContain("FAILED to mirror raw");
    expect(r.out).toContain("The request signature we calculated does not match");
  });

  it("reports a side it cannot list with mc's error document (indented JSON), and exits 2", () => {
    const mc = platformBuckets();
    const r = backfill(mc, ["--verify-only"], { BUCKET_PAIRS: "raw=raw=no-such-bucket" });
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/cannot list target\/no-such-bucket: \{\n "status": "error"/);
    expect(r.out).toContain('"message": "Bucket does not exist."');
  });

  it("fails naming the bucket and key when a copied object differs, and when one is missing or extra", () => {
    const mc = platformBuckets();
    expect(backfill(mc).code).toBe(0);
    mc.put("target", DST.raw, "2026/03/02/readings.csv", "id,value\n2,0.7\n"); // truncated
    mc.put("target", DST.tiles, "extra.pmtiles", "x");
    const r = backfill(mc, ["--verify-only"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      "DIFFERS raw (raw -> stackport-production-raw-1a2b): source 2 objects, 36 bytes; target 2 objects, 30 bytes",
    );
    expect(r.out).toMatch(/DIFFERS raw: .*2026\/03\/02\/readings\.csv.* - differ in size/);
    expect(r.out).toMatch(/DIFFERS tiles: .*extra\.pmtiles.* - only in second/);
    expect(r.out).toContain("the target does not match the source");
    // --verify-only never copies.
    expect(mc.calls().filter((c) => c.includes("mirror"))).toHaveLength(2);
  });

  it("an object written at the source after the final mirror is reported as missing on the target", () => {
    const mc = platformBuckets();
    expect(backfill(mc).code).toBe(0);
    mc.put("source", SRC.tiles, "late.pmtiles", "written after the final mirror");
    const r = backfill(mc, ["--verify-only"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("source 2 objects");
    expect(r.out).toMatch(/DIFFERS tiles: .*late\.pmtiles.* - only in first/);
  });

  it("refuses to mirror deletions from an empty source bucket onto a target that holds objects", () => {
    const mc = servers();
    mc.bucket("source", SRC.raw);
    mc.put("source", SRC.tiles, "basemap.pmtiles", "v3");
    mc.put("target", DST.raw, "keep.csv", "data");
    mc.bucket("target", DST.tiles);
    const r = backfill(mc);
    expect(r.code).toBe(3);
    expect(r.out).toContain(
      "source bucket raw (raw) is empty but target stackport-production-raw-1a2b holds 1 objects: refusing to delete them",
    );
    expect(mc.objects("target", DST.raw)).toEqual({ "keep.csv": "data" });
    expect(mc.calls().some((c) => c.includes("mirror"))).toBe(false);
  });

  it("exits 2 when a side cannot be listed, 3 when the mirror fails, 64 on malformed BUCKET_PAIRS", () => {
    const missingTarget = servers();
    missingTarget.put("source", SRC.raw, "a.csv", "a");
    missingTarget.put("source", SRC.tiles, "t", "t");
    missingTarget.bucket("target", DST.tiles);
    const unreadable = backfill(missingTarget, ["--verify-only"]);
    expect(unreadable.code).toBe(2);
    expect(unreadable.out).toContain(`cannot list target/${DST.raw}`);
    expect(unreadable.out).toContain("a side could not be read");

    const mirrorFails = backfill(missingTarget);
    expect(mirrorFails.code).toBe(3);
    expect(mirrorFails.out).toContain("FAILED to mirror raw");
    expect(mirrorFails.out).toContain("the final mirror failed");

    for (const pairs of ["raw", "raw=a", "raw=a=b=c", "raw=a/b=c", "raw==c", "=a=b"]) {
      const bad = backfill(platformBuckets(), [], { BUCKET_PAIRS: pairs });
      expect(bad.out).toContain(`BUCKET_PAIRS: '${pairs}' is not key=source-bucket=target-bucket`);
      expect(bad.code).toBe(64);
    }
  });

  it("names the missing variable when the environment is incomplete", () => {
    const mc = platformBuckets();
    const r = backfill(mc, [], { MC_HOST_target: "" });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("set MC_HOST_target");
    expect(mc.calls()).toEqual([]);
  });
});

describe("continuous object mirror", () => {
  let loop: RunningLoop | undefined;
  afterEach(() => loop?.dispose());

  it("copies new and changed objects every pass without deleting, and stops on TERM", async () => {
    const mc = platformBuckets();
    const script = tempFile("mirror.sh", renderObjectMirrorScript({ intervalSeconds: 1 }));
    const state = tempFile("last-pass", "");
    loop = runLoop(script, [], env(mc, { LAST_PASS_FILE: state }));
    const check = () =>
      spawnSync("sh", [script, "--check"], {
        encoding: "utf8",
        timeout: 30_000,
        env: { ...env(mc), LAST_PASS_FILE: state },
      });

    await loop.waitFor("pass complete");
    expect(mc.objects("target", DST.tiles)).toEqual({ "basemap.pmtiles": "PMTiles v3 …" });
    expect(mc.objects("target", DST.raw)).toMatchObject({
      "2026/03/02/readings.csv": "id,value\n2,0.7\n3,0.9\n",
    });
    // No deletions while writers may still run: the target's extra object stays until the backfill.
    expect(mc.objects("target", DST.raw)).toHaveProperty(["2026/02/28/deleted-at-source.csv"], "old");

    const mark = loop.output().length;
    mc.put("source", SRC.raw, "2026/03/03/readings.csv", "id,value\n4,1.1\n");
    await loop.waitFor("pass complete", mark);
    expect(mc.objects("target", DST.raw)).toHaveProperty(["2026/03/03/readings.csv"], "id,value\n4,1.1\n");
    expect(mc.calls().every((c) => !c.includes("--remove"))).toBe(true);
    expect(check().status).toBe(0);

    // A side becomes unreadable: the pass fails, the health check says so, the loop keeps trying.
    const failing = loop.output().length;
    rmSync(join(mc.root, "source", SRC.tiles), { recursive: true });
    await loop.waitFor("pass incomplete", failing);
    const unhealthy = check();
    expect(unhealthy.status).toBe(1);
    expect(unhealthy.stdout).toContain("unhealthy: the last pass failed");

    expect(await loop.stop()).toEqual({ code: 0, leftBehind: false });
    expect(loop.output()).toContain("stopping");
  });
});
