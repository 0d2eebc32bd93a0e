import { readFileSync, writeFileSync } from "node:fs";
import { renderCutoverCopyCommand } from "../../src/ops/cutover/copyCommand";
import { renderBucketScript } from "../../components/storage/bucketScript";
import { resolveConfig } from "../../src/config";
import { renderHostPrepScript } from "../../src/targets/hostPrep";
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

describe("bucket bootstrap against a fake mc", () => {
  it("issues the expected mc calls in order and stops on the first failure", () => {
    // A stand-in `mc` on PATH that logs its argv: proves the script's control flow without a MinIO server.
    const bin = tempFile(
      "mc",
      '#!/bin/sh\necho "$*" >> "$MC_LOG"\ncase "$1 $2" in "version info") echo "versioning is enabled";; esac\n[ "$1" != "mb" ] || [ "$FAIL_MB" != 1 ]\n',
    );
    run("chmod", ["+x", bin]);
    const dir = bin.slice(0, bin.lastIndexOf("/"));
    const log = tempFile("mc.log", "");
    const script = tempFile("bootstrap.sh", renderBucketScript(staging.storage!.buckets));
    const ok = run("sh", ["-c", `PATH="${dir}:$PATH" MC_LOG="${log}" sh "${script}"`]);
    expect(ok.code).toBe(0);
    const calls = readFileSync(log, "utf8").trim().split("\n");
    expect(calls[0]).toBe("ready storage");
    expect(calls).toContain("mb --ignore-existing storage/raw");
    expect(calls).toContain("version suspend storage/it-s");
    expect(calls).toContain("ilm rule import storage/logs");
    expect(calls).toContain("anonymous set none storage/raw");

    const failing = run("sh", ["-c", `PATH="${dir}:$PATH" MC_LOG="${log}" FAIL_MB=1 sh "${script}"`]);
    expect(failing.code).not.toBe(0);
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
