/** Enforcement-level resolution (@pulumi/policy server.ts; pulumi/pulumi pkg/resource/analyzer/config.go), config values, stack rules and plan-level evaluation. */
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { allRules } from "../../policies/rules";
import { dockerMemoryLimit, dockerNoPrivileged } from "../../policies/rules/docker";
import { rdsBackupRetention } from "../../policies/rules/aws-rds";
import { s3BucketControls } from "../../policies/rules/aws-s3";
import {
  evaluatePolicies,
  hasMandatory,
  loadPolicyConfig,
  stackPolicyConfig,
  resolveEnforcementLevel,
  ruleConfig,
} from "../../src/synth/policy";
import { recorded, runPlan } from "./harness";

describe("resolveEnforcementLevel", () => {
  it("uses the rule's default without config", () => {
    expect(resolveEnforcementLevel(dockerNoPrivileged, {})).toBe("mandatory");
    expect(resolveEnforcementLevel(dockerMemoryLimit, {})).toBe("advisory");
  });
  it("lets `all` override defaults and a policy's own entry override `all`", () => {
    expect(resolveEnforcementLevel(dockerNoPrivileged, { all: "advisory" })).toBe("advisory");
    expect(
      resolveEnforcementLevel(dockerNoPrivileged, { all: "advisory", "docker-no-privileged": "mandatory" }),
    ).toBe("mandatory");
    expect(
      resolveEnforcementLevel(dockerMemoryLimit, { "docker-memory-limit": { enforcementLevel: "disabled" } }),
    ).toBe("disabled");
  });
  it("falls back to the pack default when the rule has none", () => {
    expect(resolveEnforcementLevel({ name: "x", enforcementLevel: undefined as never }, {})).toBe("advisory");
  });
  it("an object entry without a level keeps the inherited level", () => {
    expect(
      resolveEnforcementLevel(rdsBackupRetention, {
        all: "advisory",
        "aws-rds-backup-retention": { minDays: 3 },
      }),
    ).toBe("advisory");
  });
});

describe("ruleConfig", () => {
  it("fills schema defaults, then the file's values, without enforcementLevel", () => {
    expect(ruleConfig(rdsBackupRetention, {})).toEqual({ minDays: 7 });
    expect(
      ruleConfig(rdsBackupRetention, {
        "aws-rds-backup-retention": { enforcementLevel: "mandatory", minDays: 14 },
      }),
    ).toEqual({
      minDays: 14,
    });
  });
});

const privileged = recorded("docker:index/container:Container", "bad", {
  privileged: true,
  memory: 1,
  healthcheck: { tests: ["CMD", "true"] },
});

describe("evaluation levels", () => {
  it("skips disabled rules and reports remediate as mandatory", async () => {
    expect(
      await runPlan([privileged], {
        config: { "docker-no-privileged": "disabled" },
        rules: [dockerNoPrivileged],
      }),
    ).toEqual([]);
    const [v] = await runPlan([privileged], {
      config: { "docker-no-privileged": "remediate" },
      rules: [dockerNoPrivileged],
    });
    expect(v).toMatchObject({
      policy: "docker-no-privileged",
      enforcementLevel: "mandatory",
      severity: "critical",
      name: "bad",
    });
  });
  it("reads policies/config/<stack>.json only; none means rule defaults, never the environment's file", async () => {
    const root = mkdtempSync(join(tmpdir(), "stackport-policy-"));
    expect(stackPolicyConfig(root, "nope")).toBeUndefined();
    expect(loadPolicyConfig(undefined)).toEqual({});
    mkdirSync(join(root, "policies", "config"), { recursive: true });
    writeFileSync(join(root, "policies", "config", "dev.json"), JSON.stringify({ all: "advisory" }));
    const v = await evaluatePolicies([privileged], "dev", "local", root);
    expect(v.find((x) => x.policy === "docker-no-privileged")?.enforcementLevel).toBe("advisory");
    expect(hasMandatory(v)).toBe(false);
    const d = await evaluatePolicies([privileged], "nope", "local", root);
    expect(d.find((x) => x.policy === "docker-no-privileged")?.enforcementLevel).toBe("mandatory");
    expect(hasMandatory(d)).toBe(true);
    writeFileSync(
      join(root, "policies", "config", "bad.json"),
      JSON.stringify({ "no-such-rule": "advisory" }),
    );
    expect(() => loadPolicyConfig(stackPolicyConfig(root, "bad"))).toThrow(/unknown policy 'no-such-rule'/);
    // A stack labelled `local` is not checked with local.json: one line of its stack file must not relax its policy.
    writeFileSync(join(root, "policies", "config", "local.json"), JSON.stringify({ all: "advisory" }));
    const relabelled = await evaluatePolicies([privileged], "production-copy", "local", root);
    expect(relabelled.find((x) => x.policy === "docker-no-privileged")?.enforcementLevel).toBe("mandatory");
    expect(stackPolicyConfig(root, "dev")).toBe(join(root, "policies", "config", "dev.json"));
  });
  it("runs every rule fast on a plan (no engine)", async () => {
    const many = Array.from({ length: 200 }, (_, i) => ({
      ...privileged,
      name: `c${i}`,
      urn: `urn:x::c${i}`,
    }));
    const t = Date.now();
    await runPlan(many, { rules: allRules });
    expect(Date.now() - t).toBeLessThan(2000);
  });
});

describe("aws-s3-bucket-controls (stack rule)", () => {
  const bucket = recorded("aws:s3/bucket:Bucket", "raw", { tags: {} });
  const side = (type: string, name: string) =>
    recorded(type, name, { bucket: "[unknown]" }, { dependsOn: ["raw"] });
  const sides = [
    side("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "raw-pab"),
    side("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "raw-sse"),
    side("aws:s3/bucketVersioning:BucketVersioning", "raw-versioning"),
    side("aws:s3/bucketPolicy:BucketPolicy", "raw-policy"),
  ];
  it("passes a bucket with its four side resources", async () => {
    expect(await runPlan([bucket, ...sides], { rules: [s3BucketControls] })).toEqual([]);
  });
  it("reports a bucket missing one, on the bucket", async () => {
    const v = await runPlan([bucket, ...sides.slice(1)], { rules: [s3BucketControls] });
    expect(v).toEqual([
      expect.objectContaining({
        policy: "aws-s3-bucket-controls",
        type: "aws:s3/bucket:Bucket",
        name: "raw",
        message: expect.stringMatching(/BucketPublicAccessBlock/),
      }),
    ]);
  });
});
