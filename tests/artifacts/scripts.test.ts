import { readFileSync } from "node:fs";
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
