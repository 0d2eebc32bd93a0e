/**
 * No password in any process's arguments: each database job's real script runs against a real PostgreSQL 15 +
 * PostGIS 3 (and the bucket sync against the fake mc) while every process's `/proc/<pid>/cmdline` is sampled — what
 * `ps` shows any local user, `nobody` included. Each job must be seen running its client tool (so the check is not
 * vacuous) and no sampled command line may contain any of the passwords the jobs hold.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { renderDrillScript } from "../../components/backups/drill";
import {
  renderBackupScript,
  renderBucketSyncScript,
  renderRestoreScript,
} from "../../components/backups/scripts";
import { renderBootstrapScript } from "../../components/database/bootstrapSql";
import { renderAdminJobScript } from "../../components/shared/adminJob";
import { mcHostUrl } from "../../components/storage/contract";
import { watchCmdlines } from "../support/cmdline";
import { fakeMc } from "../support/fakeMc";
import { type Cluster, PG_BIN, startCluster } from "../support/postgres";
import { tempFile } from "../support/tools";

const DB = "platform";
const PASSWORDS = {
  POSTGRES: "Superuser0Secret0qx7",
  DB_ADMIN_PASSWORD: "Admin1Secret1zk3",
  APP_WRITER_PASSWORD: "Writer2Secret2mv8",
  APP_READER_PASSWORD: "Reader3Secret3pl1",
  MONITORING_PASSWORD: "Monitor4Secret4wd5",
  DB_BACKUP_PASSWORD: "Backup5Secret5hj2",
  MINIO: "Minio6Secret6tb9",
};

let pg: Cluster;
let backupDir: string;

/** The libpq environment of a container that logs in as `user`, over TCP like the containers. */
const libpq = (user: string, password: string): NodeJS.ProcessEnv => ({
  PATH: `${PG_BIN}:${process.env["PATH"]}`,
  PGHOST: "127.0.0.1",
  PGPORT: String(pg.port),
  PGUSER: user,
  PGPASSWORD: password,
  PGDATABASE: DB,
  PGCONNECT_TIMEOUT: "10",
});
const superuser = () => libpq("postgres", PASSWORDS.POSTGRES);

/** Runs a script with sh while sampling every command line; resolves with its result and what was seen. */
async function runWatched(script: string, args: string[], env: NodeJS.ProcessEnv) {
  const watch = watchCmdlines();
  // Sampling stops whatever happens, so a failed spawn leaves no loop running.
  const result = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn("sh", [tempFile("job.sh", script), ...args], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  }).catch(async (e: unknown) => {
    await watch.stop();
    throw e;
  });
  return { ...result, cmdlines: await watch.stop() };
}

/** The job ran its tool (seen in the samples) and no command line carried a password. */
function expectNoPasswordInArguments(seen: { cmdlines: string[] }, tool: RegExp) {
  expect(seen.cmdlines.filter((c) => tool.test(c))).not.toEqual([]);
  const leaks = seen.cmdlines.filter((c) => Object.values(PASSWORDS).some((p) => c.includes(p)));
  expect(leaks).toEqual([]);
}

beforeAll(async () => {
  pg = await startCluster();
  await pg.psql(`ALTER ROLE postgres PASSWORD '${PASSWORDS.POSTGRES}'`);
  await pg.createDatabase(DB);
  backupDir = mkdtempSync(join(pg.dir, "backups-"));
}, 120_000);
afterAll(() => pg?.stop());

describe("no password in any process's arguments while a job runs (/proc/*/cmdline)", () => {
  it("the database bootstrap (every role's password; the same script the RDS bootstrap task runs)", async () => {
    const seen = await runWatched(
      renderBootstrapScript({ database: DB, monitoringUser: true, backupUser: true }),
      [],
      {
        ...superuser(),
        DB_ADMIN_PASSWORD: PASSWORDS.DB_ADMIN_PASSWORD,
        APP_WRITER_PASSWORD: PASSWORDS.APP_WRITER_PASSWORD,
        APP_READER_PASSWORD: PASSWORDS.APP_READER_PASSWORD,
        MONITORING_PASSWORD: PASSWORDS.MONITORING_PASSWORD,
        DB_BACKUP_PASSWORD: PASSWORDS.DB_BACKUP_PASSWORD,
      },
    );
    expect(seen.output).toContain("stackport: database bootstrap complete");
    expect(seen.code).toBe(0);
    expectNoPasswordInArguments(seen, /(^|\/)psql /);
    // The roles really got those passwords.
    const r = await pg.psql("SELECT current_user", {
      user: "db_backup",
      password: PASSWORDS.DB_BACKUP_PASSWORD,
      db: DB,
    });
    expect(r.stdout.trim()).toBe("db_backup");
  });

  it("the schema migrations job (as db_admin, from the libpq environment)", async () => {
    const seen = await runWatched(
      renderAdminJobScript({ command: ["psql", "-X", "-c", "SELECT pg_sleep(0.3)"] }, "schema migrations"),
      [],
      libpq("db_admin", PASSWORDS.DB_ADMIN_PASSWORD),
    );
    expect(seen.code).toBe(0);
    expectNoPasswordInArguments(seen, /(^|\/)psql /);
  });

  it("the backup runner (pg_dump as db_backup)", async () => {
    const script = renderBackupScript({ database: DB, retention: { days: 14 }, intervalSeconds: 3600 });
    const seen = await runWatched(script, ["--once"], {
      ...libpq("db_backup", PASSWORDS.DB_BACKUP_PASSWORD),
      BACKUP_DIR: backupDir,
    });
    expect(seen.output).toMatch(/stackport-backup: ok /);
    expect(seen.code).toBe(0);
    expectNoPasswordInArguments(seen, /(^|\/)pg_dump /);
  });

  it("the restore tool and the restore drill (as the superuser)", async () => {
    const restore = renderRestoreScript({ database: DB });
    const dump = readdirSync(backupDir).find((f) => f.endsWith(".dump"))!;
    const restored = await runWatched(restore, [join(backupDir, dump), "platform_copy"], superuser());
    expect(restored.code).toBe(0);
    expectNoPasswordInArguments(restored, /(^|\/)pg_restore /);

    const drill = await runWatched(renderDrillScript({ database: DB, intervalSeconds: 3600 }), ["--once"], {
      ...superuser(),
      BACKUP_DIR: backupDir,
      RESTORE_SCRIPT: tempFile("restore.sh", restore),
    });
    expect(drill.output).toMatch(/stackport-drill: ok: /);
    expect(drill.code).toBe(0);
    expectNoPasswordInArguments(drill, /(^|\/)pg_restore /);
  });

  it("the bucket sync (the storage credential stays in MC_HOST_storage)", async () => {
    const mc = fakeMc();
    mc.server("storage", { accessKeyId: "backups-sync", secretAccessKey: PASSWORDS.MINIO });
    mc.bucket("storage", "backups");
    writeFileSync(join(backupDir, "extra.dump"), "x");
    const seen = await runWatched(renderBucketSyncScript(), ["--once"], {
      ...mc.env(),
      BACKUP_DIR: backupDir,
      BACKUP_BUCKET: "backups",
      MC_HOST_storage: mcHostUrl("http://storage:9000", "backups-sync", PASSWORDS.MINIO, "test"),
    });
    expect(seen.code).toBe(0);
    expectNoPasswordInArguments(seen, /\bmc mirror\b/);
  });
});
