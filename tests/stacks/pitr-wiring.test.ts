/**
 * The shipped staging stack wires point-in-time recovery and the off-host copy end to end: the database archives to
 * its protected archive volume (with the rendered settings), the base-backup runner writes into that same volume and
 * the backup volume, the restic loop reads both (the archive read-only) and the object mirror's volume, the object
 * mirror has its own read-only MinIO user, and no credential is in the plan. The production stack keeps 14 days of
 * RDS backups, the AWS example replicates its versioned buckets to another region.
 */
import type { RecordedResource } from "../../src/synth/recorder";
import { synthesizeStack } from "../harness";
import { walServerArgs } from "../../components/database/walArchive";

const byName = (resources: RecordedResource[], name: string, type?: string) => {
  const r = resources.find((x) => x.name === name && (!type || x.type === type));
  if (!r) throw new Error(`no resource ${name}`);
  return r;
};
const CONTAINER = "docker:index/container:Container";

describe("staging: WAL archiving, base backups and the off-host copy", () => {
  let resources: RecordedResource[];
  beforeAll(async () => {
    resources = (await synthesizeStack("staging")).resources;
  });

  it("archives from the database into a protected volume that the runner and the restic loop mount", () => {
    const archive = byName(resources, "database-wal-archive");
    expect([archive.protect, archive.retainOnDelete]).toEqual([true, true]);
    const volume = archive.inputs["name"];
    const server = byName(resources, "database-server");
    expect(server.inputs["command"]).toEqual([
      "postgres",
      ...walServerArgs({ archiveTimeoutSeconds: 300, replicationRole: "postgres" }),
    ]);
    expect(server.inputs["volumes"]).toContainEqual({ volumeName: volume, containerPath: "/wal-archive" });
    // The data volume is the same one as before: turning archiving on replaces the container, never the data.
    expect(server.inputs["volumes"]).toContainEqual({
      volumeName: "staging-database-data",
      containerPath: "/var/lib/postgresql/data",
    });
    expect(byName(resources, "backups-wal", CONTAINER).inputs["volumes"]).toEqual([
      { volumeName: "staging-backups-data", containerPath: "/backups" },
      { volumeName: volume, containerPath: "/wal-archive" },
    ]);
    const offhost = byName(resources, "backups-offhost", CONTAINER);
    expect(offhost.inputs["volumes"]).toEqual([
      { volumeName: "staging-backups-data", containerPath: "/backups" },
      { volumeName: volume, containerPath: "/wal-archive", readOnly: true },
      { volumeName: "staging-backups-objects", containerPath: "/objects", readOnly: true },
      { hostPath: "/mnt/backup-drive/stackport", containerPath: "/repository" },
    ]);
    // The repository password reaches the container only as a secret environment.
    expect(offhost.inputs["envs"]).toBe("[secret]");
  });

  it("gives the object mirror its own MinIO user with read on every bucket", () => {
    const storage = resources.find((r) => r.type === "stackport:docker:ObjectStorage")!;
    // As the component records it: bucket key → access.
    const consumers = storage.inputs["consumers"] as Record<string, Record<string, string>>;
    expect(consumers["backups-objects"]).toEqual({
      raw: "read",
      derived: "read",
      tiles: "read",
      logs: "read",
      backups: "read",
    });
    expect(byName(resources, "backups-objects", CONTAINER).inputs["envs"]).toBe("[secret]");
  });
});

describe("AWS stacks", () => {
  it("production keeps 14 days of RDS backups (its point-in-time window)", async () => {
    const { resources } = await synthesizeStack("production");
    expect(byName(resources, "database-instance").inputs["backupRetentionPeriod"]).toBe(14);
  });

  it("the AWS staging example replicates raw and derived to another region", async () => {
    const { resources } = await synthesizeStack("examples/aws-staging/Pulumi.aws-staging.yaml");
    const replicas = resources.filter(
      (r) => r.type === "aws:s3/bucket:Bucket" && r.name.endsWith("-replica"),
    );
    expect(replicas.map((r) => r.name).sort()).toEqual(["storage-derived-replica", "storage-raw-replica"]);
    expect(byName(resources, "storage-replica-aws").inputs["region"]).toBe("eu-west-1");
  });
});
