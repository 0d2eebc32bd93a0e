/**
 * The sign-off's change model: old → new values (never a secret, never a wall of JSON), what the provider will do
 * with each change (the provider table), and what a removal does to the data (deleted, left behind, blocked).
 */
import { describeValue, losesData, offlineChanges, onlineChanges, redact } from "../../src/ops/changeSet";
import { changeEffect, dataOf, fieldEffect, PROVIDER_FACTS } from "../../src/ops/providerEffects";
import type { EngineEvent } from "../../src/ops/review";
import type { PlanDocument } from "../../src/synth/render";
import { planOf } from "./plans";

type R = PlanDocument["resources"][number];
const res = (type: string, name: string, inputs: Record<string, unknown> = {}, more: Partial<R> = {}): R => ({
  type,
  name,
  parent: null,
  provider: null,
  inputs,
  protect: false,
  retainOnDelete: false,
  dependsOn: [],
  ...more,
});
const RDS = "aws:rds/instance:Instance";
const BUCKET = "aws:s3/bucket:Bucket";

describe("provider table", () => {
  it("RDS: the instance class applies in place with a reboot; engine, identifier, encryption, db name, KMS key replace", () => {
    expect(fieldEffect(RDS, "instanceClass")).toMatchObject({ kind: "restart" });
    // Multi-AZ turns the reboot into a failover; without applyImmediately it waits for the maintenance window.
    expect(fieldEffect(RDS, "instanceClass", { multiAz: true }).downtime).toMatch(
      /fails over to its standby/,
    );
    expect(fieldEffect(RDS, "instanceClass", { multiAz: false }).downtime).toMatch(/reboots/);
    expect(fieldEffect(RDS, "instanceClass", {}).detail).toContain("in the next maintenance window");
    expect(fieldEffect(RDS, "instanceClass", { applyImmediately: true }).detail).toContain("at once");
    for (const f of ["engine", "identifier", "storageEncrypted", "dbName", "kmsKeyId"])
      expect(fieldEffect(RDS, f).kind).toBe("replace");
    expect(fieldEffect(RDS, "backupRetentionPeriod").kind).toBe("in-place");
    // The strongest effect wins and names its cause.
    expect(changeEffect(RDS, ["instanceClass", "storageEncrypted"])).toMatchObject({
      kind: "replace",
      because: ["storageEncrypted"],
    });
  });

  it("Docker: a container change replaces it (a restart) except the documented in-place fields; a volume always replaces", () => {
    const C = "docker:index/container:Container";
    expect(fieldEffect(C, "image").kind).toBe("replace");
    expect(fieldEffect(C, "memory").kind).toBe("in-place");
    for (const f of ["name", "driver"])
      expect(fieldEffect("docker:index/volume:Volume", f).kind).toBe("replace");
    expect(fieldEffect(BUCKET, "bucket").kind).toBe("replace");
    expect(fieldEffect(BUCKET, "forceDestroy").kind).toBe("in-place");
    expect(fieldEffect("aws:some/unknown:Thing", "x").kind).toBe("unknown");
  });

  it("names what goes with every data-bearing type, and a source for every entry", () => {
    for (const t of [
      BUCKET,
      "docker:index/volume:Volume",
      RDS,
      "aws:cloudwatch/logGroup:LogGroup",
      "aws:secretsmanager/secret:Secret",
      "aws:rds/snapshot:Snapshot",
    ])
      expect(dataOf(t)).toBeTruthy();
    expect(dataOf("aws:iam/role:Role")).toBeUndefined();
    for (const [type, facts] of Object.entries(PROVIDER_FACTS))
      expect([type, facts.source]).toEqual([type, expect.any(String)]);
  });
});

describe("values", () => {
  it("shows scalars old → new, objects and lists as what was added, removed and changed in them, long strings by length", () => {
    expect(describeValue("instanceClass", "db.t4g.medium", "db.r6g.large")).toEqual({
      field: "instanceClass",
      before: '"db.t4g.medium"',
      after: '"db.r6g.large"',
    });
    expect(describeValue("services", { api: 1, nightly: 2 }, { api: 3, export: 4 }).after).toBe(
      "~api, +export, −nightly",
    );
    expect(describeValue("sans", ["a.example.org"], ["a.example.org", "b.example.org"]).after).toBe(
      '+"b.example.org"',
    );
    expect(describeValue("body", "x".repeat(500), "y".repeat(700))).toMatchObject({
      before: "500 chars",
      after: "700 chars",
    });
    expect(describeValue("tags", undefined, "v").before).toBe("unset");
  });

  it("never shows a secret: masked values, credential-looking keys and KEY=value entries", () => {
    expect(describeValue("password", "hunter2", "hunter3")).toMatchObject({
      before: "[secret]",
      after: "[secret]",
    });
    expect(describeValue("connection", "[secret]", "[secret]").after).toBe("[secret]");
    const envs = describeValue("envs", ["A=1", "DB_PASSWORD=hunter2"], ["A=1", "DB_PASSWORD=hunter3"]);
    expect(JSON.stringify(envs)).not.toMatch(/hunter/);
    expect(JSON.stringify(redact({ auth: { apiKey: "k-123", user: "me" } }))).toBe(
      '{"auth":{"apiKey":"[secret]","user":"me"}}',
    );
  });
});

describe("offline outcomes", () => {
  const base = planOf([
    res(BUCKET, "storage-logs", { bucket: "logs" }, { protect: false, retainOnDelete: true }),
    res(BUCKET, "storage-raw", { bucket: "raw" }, { protect: true, retainOnDelete: true }),
    res("aws:cloudwatch/logGroup:LogGroup", "job-logs", { retentionInDays: 30 }),
    res(RDS, "database-instance", { instanceClass: "db.t4g.medium", storageEncrypted: true }),
    res("aws:iam/role:Role", "job-role"),
  ]);
  const head = planOf([
    res(RDS, "database-instance", { instanceClass: "db.r6g.large", storageEncrypted: true }),
  ]);
  const byName = () => new Map(offlineChanges(base, head).changes.map((c) => [c.name, c]));

  it("a retained bucket removed from the program is left behind, unmanaged, with its objects", () => {
    const logs = byName().get("storage-logs")!;
    expect(logs.outcome).toMatchObject({ kind: "left-behind" });
    expect(logs.outcome.kind === "left-behind" && logs.outcome.detail).toMatch(
      /^left behind, unmanaged, with its objects/,
    );
    expect(losesData(logs)).toBe(false);
  });

  it("a protected one cannot be deleted; an unretained log group is deleted with its events", () => {
    expect(byName().get("storage-raw")!.outcome.kind).toBe("blocked");
    const logs = byName().get("job-logs")!;
    expect(logs.outcome).toMatchObject({ kind: "delete", data: expect.stringMatching(/log events/) });
    expect(losesData(logs)).toBe(true);
    expect(losesData(byName().get("job-role")!)).toBe(false);
  });

  it("an RDS instance class change is in place with a reboot: changed, not replaced, no data at risk", () => {
    const db = byName().get("database-instance")!;
    expect(db.op).toBe("changed");
    expect(db.outcome).toMatchObject({ kind: "restart", because: ["instanceClass"], predicted: true });
    expect(db.values).toEqual([
      { field: "instanceClass", before: '"db.t4g.medium"', after: '"db.r6g.large"' },
    ]);
    expect(losesData(db)).toBe(false);
    const encrypted = offlineChanges(
      head,
      planOf([res(RDS, "database-instance", { instanceClass: "db.r6g.large", storageEncrypted: false })]),
    ).changes[0]!;
    expect(encrypted.op).toBe("replaced");
    expect(losesData(encrypted)).toBe(true);
  });
});

describe("online outcomes (the engine's steps)", () => {
  const urn = (type: string, name: string) => `urn:pulumi:s::stackport::${type}::${name}`;
  const step = (
    op: string,
    type: string,
    name: string,
    old: object | null,
    next: object | null,
    extra = {},
  ) =>
    ({
      resourcePreEvent: {
        metadata: { op, urn: urn(type, name), type, old, new: next, ...extra },
      },
    }) as EngineEvent;

  it("uses the engine's replace and delete; an update of the instance class restarts, with both values", () => {
    const events = [
      step(
        "update",
        RDS,
        "db",
        { inputs: { instanceClass: "a" } },
        { inputs: { instanceClass: "b" } },
        {
          diffs: ["instanceClass"],
        },
      ),
      step("delete", BUCKET, "old", { inputs: {}, retainOnDelete: true }, null),
      step(
        "replace",
        "docker:index/volume:Volume",
        "data",
        { inputs: { name: "x" } },
        { inputs: { name: "y" } },
        {
          diffs: ["name"],
          keys: ["name"],
        },
      ),
    ];
    const byName = new Map(onlineChanges(events, planOf([])).changes.map((c) => [c.name, c]));
    expect(byName.get("db")).toMatchObject({ op: "changed", outcome: { kind: "restart", predicted: false } });
    expect(byName.get("db")!.values[0]).toMatchObject({ before: '"a"', after: '"b"' });
    expect(byName.get("old")!.outcome.kind).toBe("left-behind");
    expect(byName.get("data")).toMatchObject({
      op: "replaced",
      outcome: { kind: "replace", because: ["name"] },
    });
    expect(losesData(byName.get("data")!)).toBe(true);
  });
});
