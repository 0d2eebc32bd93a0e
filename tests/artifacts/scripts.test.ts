import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { renderCutoverCopyCommand } from "../../src/platform/cutover/copyCommand";
import { renderBucketScript } from "../../components/storage/bucketScript";
import { mcHostUrl } from "../../components/storage/contract";
import { resolveConfig } from "../../src/config";
import { renderHostPrepScript } from "../../components/targets/hostPrep";
import { type Credentials, type FakeMc, fakeMc } from "../support/fakeMc";
import { run, shellcheck, tempFile } from "../support/tools";

const staging = resolveConfig({
  environment: "staging",
  targets: { h: { kind: "docker", host: "ssh://deploy@h" } },
  storage: {
    on: "h",
    buckets: {
      raw: { versioning: true, noncurrentExpireAfterDays: 90 },
      logs: { versioning: false, expireAfterDays: 7 },
      "it-s": { versioning: false },
    },
  },
});

const scripts: Record<string, string> = {
  "host preparation": renderHostPrepScript({ dataRoot: "/srv/stackport", owner: "deploy" }),
  "host preparation (odd path)": renderHostPrepScript({ dataRoot: "/srv/it's here", owner: "deploy:docker" }),
  "bucket bootstrap (defaults)": renderBucketScript(
    resolveConfig({ environment: "local", targets: { t: { kind: "docker" } }, storage: { on: "t" } }).storage!
      .buckets,
  ),
  "bucket bootstrap (staging)": renderBucketScript(staging.storage!.buckets),
};

describe.each(Object.entries(scripts))("%s script", (_name, script) => {
  it("passes shellcheck with no findings", () => {
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("is valid sh syntax (sh -n)", () => {
    expect(run("sh", ["-n", tempFile("s.sh", script)]).code).toBe(0);
  });
});

describe("bucket bootstrap against the fake mc (tests/support/fakeMc.ts)", () => {
  const ROOT: Credentials = { accessKeyId: "stackport-root", secretAccessKey: "r00tPassw0rdFromRandom" };
  const bootstrap = (mc: FakeMc, opts: { readyTimeoutSeconds?: number } = {}) => {
    const r = spawnSync(
      "sh",
      [tempFile("bootstrap.sh", renderBucketScript(staging.storage!.buckets, opts))],
      {
        encoding: "utf8",
        timeout: 60_000,
        env: {
          ...mc.env(),
          MC_HOST_storage: mcHostUrl("http://storage:9000", ROOT.accessKeyId, ROOT.secretAccessKey, "test"),
          FAKE_MC_READY_INTERVAL: "1",
        },
      },
    );
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };

  it("creates and configures every bucket, and a second run changes nothing", () => {
    const mc = fakeMc();
    mc.server("storage", ROOT);
    const first = bootstrap(mc);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("stackport: 3 bucket(s) ready");
    expect(mc.settings("storage", "raw")).toEqual({
      versioning: "enabled",
      lifecycle: expect.stringContaining('"NoncurrentDays":90'),
      anonymous: "none",
    });
    // Never versioned: left un-versioned rather than marked suspended.
    expect(mc.settings("storage", "it-s")).toEqual({ anonymous: "none" });
    expect(mc.settings("storage", "logs").lifecycle).toContain('"Days":7');
    const settings = () => ["raw", "logs", "it-s"].map((b) => mc.settings("storage", b));
    const before = settings();
    expect(bootstrap(mc).code).toBe(0);
    expect(settings()).toEqual(before);
  });

  it("stops at the first failing step with mc's error", () => {
    const mc = fakeMc();
    mc.server("storage", { ...ROOT, secretAccessKey: "another-password" });
    const r = bootstrap(mc);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("The request signature we calculated does not match");
    expect(mc.calls().filter((c) => c.startsWith("mb"))).toHaveLength(1);
  });

  it("fails within its bound, with mc ready's last word, when the server never becomes ready", () => {
    const mc = fakeMc(); // no server behind the alias: mc ready polls forever, as the real one does
    const started = Date.now();
    const r = bootstrap(mc, { readyTimeoutSeconds: 3 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "stackport: object storage not ready after 3s; mc ready said: The cluster 'storage' is unreachable",
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(mc.calls()).toEqual(["ready storage"]);
  });

  it("fails at once when mc cannot build the alias", () => {
    const mc = fakeMc();
    const r = spawnSync("sh", [tempFile("bootstrap.sh", renderBucketScript(staging.storage!.buckets))], {
      encoding: "utf8",
      timeout: 60_000,
      env: { ...mc.env(), MC_HOST_storage: "storage:9000" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("stackport: mc ready failed (check MC_HOST_storage):");
  });

  it("refuses a wait that is not a whole number of seconds", () => {
    expect(() => renderBucketScript({}, { readyTimeoutSeconds: 0 })).toThrow("≥ 1");
  });
});

describe("cutover copy command", () => {
  it.each(["initial", "final"] as const)("%s: passes shellcheck and carries the scripts intact", (kind) => {
    const script = renderCutoverCopyCommand(kind);
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(run("sh", ["-n", tempFile("copy.sh", script)]).code).toBe(0);
    expect(script.includes("backfill-verify")).toBe(kind === "final");
  });

  it("fails the update when the final verification finds a difference", () => {
    // pg_dump/pg_restore/psql stand-ins: the copy succeeds, verification sees different row counts on each side.
    const dir = tempFile("x", "").replace(/\/x$/, "");
    for (const tool of ["pg_dump", "pg_restore"]) {
      writeFileSync(`${dir}/${tool}`, "#!/bin/sh\nexit 0\n");
    }
    writeFileSync(
      `${dir}/psql`,
      '#!/bin/sh\nif [ "$PGHOST" = source ]; then printf "app.stations\\t3\\tabc\\n"; else printf "app.stations\\t2\\tabc\\n"; fi\n',
    );
    run("chmod", ["+x", `${dir}/pg_dump`, `${dir}/pg_restore`, `${dir}/psql`]);
    const env =
      "SOURCE_HOST=source SOURCE_USER=db_admin SOURCE_DB=platform TARGET_HOST=target TARGET_USER=db_admin TARGET_DB=platform";
    const script = tempFile("copy.sh", renderCutoverCopyCommand("final"));
    const r = run("sh", ["-c", `PATH="${dir}:$PATH" ${env} sh "${script}"`]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/DIFFERS app\.stations: 3 rows on the source, 2 on the target/);
    expect(r.stderr).toContain("the target does not match the source");
  });
});
