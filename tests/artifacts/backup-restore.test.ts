/**
 * The backup and restore scripts, run for real: a bootstrapped PostgreSQL 15 + PostGIS 3 database with data is
 * dumped by the rendered backup loop (`--once`) as the read-only backup role `db_backup`, restored by the rendered
 * restore tool (as the superuser) into a fresh database, and compared table by table (row counts and content
 * checksums) — so the backup role's dump holds everything a restore needs. Retention, failure handling, the health
 * check, the refusals and the restore drill are exercised on the same throwaway cluster; every script passes
 * `shellcheck -s sh`.
 */
import { spawnSync } from "node:child_process";
import { get } from "node:http";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  DRILL_DATABASE,
  DRILL_METRICS_FILE,
  renderDrillScript,
  metricsProbe,
  renderMetricsServer,
} from "../../components/backups/drill";
import { BACKUP_METRICS } from "../../components/backups/settings";
import {
  LAST_SUCCESS_METRIC,
  METRICS_FILE,
  type Retention,
  renderBackupScript,
  renderBucketSyncScript,
  renderRestoreScript,
} from "../../components/backups/scripts";
import { renderBootstrapSql } from "../../components/database/bootstrapSql";
import { type Cluster, PG_BIN, type RunResult, startCluster } from "../support/postgres";
import { mcHostUrl } from "../../components/storage/contract";
import { type Credentials, type FakeMc, fakeMc } from "../support/fakeMc";
import { type RunningLoop, runLoop } from "../support/loop";
import { freePort, requireTool, run, shellcheck, tempFile } from "../support/tools";

const DB = "platform";
const SUPERUSER_PASSWORD = "super-Secret-0";
const ROLE_PASSWORDS = {
  db_admin_password: "admin-Secret-1",
  app_writer_password: "writer-Secret-2",
  app_reader_password: "reader-Secret-3",
  db_backup_password: "backup-Secret-4",
};
/** The application's tables, each with an `id` to order its rows by; `app.private` has row security on. */
const TABLES = ["app.places", "app.tracks", "app.readings", "app.private", "audit.seed_history"];

let pg: Cluster;
let backupDir: string;
let firstRun: RunResult;

const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
};
const sql = (query: string, db = DB) => pg.psql(query, { db }).then(ok);

/**
 * The test cluster's connection as the scripts read it, over TCP like the containers, with its own major version's
 * client tools first: as the superuser (the restore tool, the drill) or as the backup role (the backup runner).
 */
function clusterEnv(role: "superuser" | "backup" = "superuser"): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The cluster's own major version, not whatever /usr/bin/pg_dump would pick.
    PATH: `${PG_BIN}:${process.env["PATH"]}`,
    PGHOST: "127.0.0.1",
    PGPORT: String(pg.port),
    ...(role === "superuser"
      ? { PGUSER: "postgres", PGPASSWORD: SUPERUSER_PASSWORD }
      : { PGUSER: "db_backup", PGPASSWORD: ROLE_PASSWORDS.db_backup_password }),
  };
}

/** Runs a rendered script with `sh` as the superuser; the backup script runs as `db_backup` (see `backup`). */
function sh(script: string, args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync("sh", [tempFile("script.sh", script), ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...clusterEnv(),
      PGDATABASE: DB,
      PGCONNECT_TIMEOUT: "10",
      ...env,
    },
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
  };
}

const backupScript = (retention: Retention = { days: 14 }) =>
  renderBackupScript({ database: DB, retention, intervalSeconds: 3600 });
/** Runs the backup script as the container does: as the read-only backup role. */
const backup = (script: string, args: string[], env: Record<string, string> = {}) =>
  sh(script, args, { PGUSER: "db_backup", PGPASSWORD: ROLE_PASSWORDS.db_backup_password, ...env });
const restoreScript = renderRestoreScript({ database: DB });

const dumpsIn = (dir: string) => readdirSync(dir).filter((f) => /^platform-\d{8}T\d{6}Z\.dump$/.test(f));
const freshDir = () => mkdtempSync(join(pg.dir, "backups-"));
/** Creates a file and sets its modification time (`touch -d`), as an older run would have left it. */
function oldFile(dir: string, name: string, age: string, content = "x") {
  writeFileSync(join(dir, name), content);
  ok(run("touch", ["-d", age, join(dir, name)]));
}

/** Row count and an md5 over every row's text form, in id order, per table. */
async function fingerprint(db: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const table of TABLES) {
    const order = table === "audit.seed_history" ? "version" : "id";
    result[table] = await sql(
      `SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY t.${order}), '')) FROM ${table} t`,
      db,
    );
  }
  return result;
}

beforeAll(async () => {
  requireTool("shellcheck", "shellcheck");
  pg = await startCluster();
  await pg.psql(`ALTER ROLE postgres PASSWORD '${SUPERUSER_PASSWORD}'`).then(ok);
  await pg.createDatabase(DB);
  // The database as the database tier leaves it: roles, schemas, extensions, privileges.
  const bootstrap = join(pg.dir, "bootstrap.sql");
  writeFileSync(bootstrap, renderBootstrapSql({ database: DB, monitoringUser: false, backupUser: true }));
  ok(await pg.runFile(bootstrap, ROLE_PASSWORDS, { db: DB }));
  // Application data, created by the migration role as migrations would: geometry, jsonb, arrays, odd text.
  ok(
    await pg.psql(
      `SET ROLE db_admin;
       CREATE TABLE app.places (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         name text NOT NULL,
         tags text[] NOT NULL,
         geom geometry(Point, 4326) NOT NULL
       );
       CREATE INDEX places_geom ON app.places USING gist (geom);
       INSERT INTO app.places (name, tags, geom)
         SELECT 'place ' || g || E' \\'quoted\\' ✓\\n', ARRAY['t' || g % 7, 'all'],
                ST_SetSRID(ST_MakePoint(-180 + (g * 0.113) % 360, -85 + (g * 0.071) % 170), 4326)
         FROM generate_series(1, 3000) g;
       CREATE TABLE app.tracks (
         id bigserial PRIMARY KEY,
         place_id bigint NOT NULL REFERENCES app.places (id),
         path geometry(LineString, 4326) NOT NULL,
         payload jsonb NOT NULL
       );
       INSERT INTO app.tracks (place_id, path, payload)
         SELECT 1 + g % 3000, ST_MakeLine(ST_SetSRID(ST_MakePoint(g % 90, g % 45), 4326), ST_SetSRID(ST_MakePoint(g % 90 + 1, g % 45 + 1), 4326)),
                jsonb_build_object('n', g, 'ok', g % 2 = 0)
         FROM generate_series(1, 2000) g;
       CREATE TABLE app.readings (id bigserial PRIMARY KEY, at timestamptz NOT NULL, value numeric(10, 3));
       INSERT INTO app.readings (at, value)
         SELECT timestamptz '2026-01-01 00:00Z' + g * interval '1 minute', CASE WHEN g % 10 = 0 THEN NULL ELSE g / 7.0 END
         FROM generate_series(1, 5000) g;
       CREATE VIEW app.place_names AS SELECT id, name FROM app.places;
       -- Row security on, no policy: nobody but the owner (and a role that bypasses it) sees a row.
       CREATE TABLE app.private (id int PRIMARY KEY, note text NOT NULL);
       INSERT INTO app.private SELECT g, 'note ' || g FROM generate_series(1, 50) g;
       ALTER TABLE app.private ENABLE ROW LEVEL SECURITY;
       RESET ROLE;
       -- A user-added SRID: data of an extension table, which pg_dump keeps and the restore must carry over.
       INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, proj4text, srtext)
         VALUES (990001, 'stackport', 990001, '+proj=longlat +datum=WGS84 +no_defs', 'GEOGCS["test"]');`,
      { db: DB },
    ),
  );
  backupDir = freshDir();
  firstRun = backup(backupScript(), ["--once"], { BACKUP_DIR: backupDir });
}, 180_000);

afterAll(async () => {
  await pg?.stop();
});

describe("backup script, one run against PostgreSQL 15 + PostGIS", () => {
  it("writes one verified custom-format dump with its checksum and logs one line", () => {
    expect(firstRun.stderr).toBe("");
    expect(firstRun.code).toBe(0);
    const dumps = dumpsIn(backupDir);
    expect(dumps).toHaveLength(1);
    expect(firstRun.stdout.trim().split("\n")).toEqual([
      expect.stringMatching(new RegExp(`^stackport-backup: ok ${dumps[0]} \\(\\d+ bytes, \\d+s, verified`)),
    ]);
    expect(readdirSync(backupDir).filter((f) => f.endsWith(".partial"))).toEqual([]);
    // The checksum file is in sha256sum's format, so `sha256sum -c` verifies it in place.
    ok(run("sha256sum", ["-c", `${dumps[0]}.sha256`], { cwd: backupDir }));
    const toc = ok(run(join(PG_BIN, "pg_restore"), ["--list", join(backupDir, dumps[0]!)]));
    expect(toc).toContain("Format: CUSTOM");
    expect(toc).toMatch(/EXTENSION - postgis/);
    expect(toc).toMatch(/TABLE DATA app places db_admin/);
  });

  it("records the success as a timestamp and as a metric promtool accepts", () => {
    const last = Number(readFileSync(join(backupDir, "last-success"), "utf8"));
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(120);
    const metrics = readFileSync(join(backupDir, METRICS_FILE), "utf8");
    expect(metrics).toContain(`${LAST_SUCCESS_METRIC}{database="platform"} ${last}\n`);
    const promtool = requireTool("promtool", "prometheus");
    const check = run(promtool, ["check", "metrics"], { input: metrics });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.code).toBe(0);
  });

  it("reports healthy after a success, stale when the last success is older than twice the interval", () => {
    expect(sh(backupScript(), ["--check"], { BACKUP_DIR: backupDir }).code).toBe(0);
    const stale = freshDir();
    writeFileSync(join(stale, "last-success"), String(Math.floor(Date.now() / 1000) - 2 * 3600 - 5));
    const r = sh(backupScript(), ["--check"], { BACKUP_DIR: stale });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^stale: no successful backup for \d+s \(limit 7200s\)/);
  });
});

describe("restore script", () => {
  const dump = () => join(backupDir, dumpsIn(backupDir)[0]!);

  it("restores into a fresh database: same row counts and content checksums for every table", async () => {
    const r = sh(restoreScript, [dump(), "platform_restored"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // It prints the row counts of what it restored.
    expect(r.stdout).toMatch(/^ {2}app\.places 3000$/m);
    expect(r.stdout).toMatch(/^ {2}app\.readings 5000$/m);

    const source = await fingerprint(DB);
    expect(source["app.places"]).toMatch(/^3000 [0-9a-f]{32}$/);
    expect(await fingerprint("platform_restored")).toEqual(source);
  });

  it("carries PostGIS, user-added SRIDs, the view, ownership by db_admin and the app roles' privileges", async () => {
    const restored = "platform_restored";
    expect(await sql("SELECT extname FROM pg_extension ORDER BY 1", restored)).toBe(
      await sql("SELECT extname FROM pg_extension ORDER BY 1"),
    );
    expect(await sql("SELECT srtext FROM spatial_ref_sys WHERE srid = 990001", restored)).toBe(
      'GEOGCS["test"]',
    );
    expect(await sql("SELECT count(*) FROM app.place_names", restored)).toBe("3000");
    expect(await sql("SELECT ST_AsText(geom) FROM app.places WHERE id = 42", restored)).toBe(
      await sql("SELECT ST_AsText(geom) FROM app.places WHERE id = 42"),
    );
    expect(
      await sql(
        "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname IN ('app', 'audit')",
        restored,
      ),
    ).toBe("db_admin");
    expect(
      await sql(
        `SELECT has_table_privilege('app_reader', 'app.readings', 'SELECT'),
                has_table_privilege('app_reader', 'app.readings', 'INSERT'),
                has_table_privilege('app_writer', 'app.readings', 'INSERT')`,
        restored,
      ),
    ).toBe("t|f|t");
    // The identity sequence continues where the source stopped.
    await sql(
      "SET ROLE db_admin; INSERT INTO app.places (name, tags, geom) VALUES ('new', '{}', 'SRID=4326;POINT(0 0)')",
      restored,
    );
    expect(await sql("SELECT max(id) FROM app.places", restored)).toBe("3001");
    await sql("DELETE FROM app.places WHERE id = 3001", restored);
  });

  it("refuses a non-empty target without --force; with --force replaces it and keeps the old one", async () => {
    const refused = sh(restoreScript, [dump(), "platform_restored"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/database platform_restored is not empty .*--force/);

    await sql("DELETE FROM app.tracks WHERE id > 10", "platform_restored");
    const forced = sh(restoreScript, ["--force", dump(), "platform_restored"]);
    expect(forced.stderr).toBe("");
    expect(forced.code).toBe(0);
    expect(await fingerprint("platform_restored")).toEqual(await fingerprint(DB));
    const kept = await sql("SELECT datname FROM pg_database WHERE datname LIKE 'platform_restored_pre_%'");
    expect(kept).toMatch(/^platform_restored_pre_\d{8}T\d{6}Z$/);
    expect(await sql("SELECT count(*) FROM app.tracks", kept)).toBe("10");
  });

  it("refuses a dump whose checksum does not match, or that has none, and creates nothing", async () => {
    const dir = freshDir();
    const damaged = join(dir, "platform-20260101T000000Z.dump");
    copyFileSync(dump(), damaged);
    copyFileSync(`${dump()}.sha256`, `${damaged}.sha256`);
    const bytes = readFileSync(damaged);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(damaged, bytes);
    const r = sh(restoreScript, [damaged, "platform_damaged"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/checksum mismatch for .*platform-20260101T000000Z\.dump/);

    const unchecked = join(dir, "platform-20260102T000000Z.dump");
    copyFileSync(dump(), unchecked);
    const missing = sh(restoreScript, [unchecked, "platform_damaged"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no checksum file/);
    expect(await sql("SELECT count(*) FROM pg_database WHERE datname = 'platform_damaged'", "postgres")).toBe(
      "0",
    );
  });

  it("restores into an existing empty database (e.g. one just created) without --force", async () => {
    await pg.createDatabase("platform_empty");
    const r = sh(restoreScript, [dump(), "platform_empty"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await fingerprint("platform_empty")).toEqual(await fingerprint(DB));
  });

  it("a restore that fails late (after tables and data) leaves an empty target empty: one transaction", async () => {
    // An event trigger that refuses the restore's first CREATE INDEX, which comes after every table and its data.
    await pg.createDatabase("platform_trap");
    await sql(
      `CREATE FUNCTION public.no_index() RETURNS event_trigger LANGUAGE plpgsql AS
         $$ BEGIN IF current_user = 'db_admin' THEN RAISE EXCEPTION 'trap: no index today'; END IF; END $$;
       CREATE EVENT TRIGGER no_index ON ddl_command_start WHEN TAG IN ('CREATE INDEX') EXECUTE FUNCTION public.no_index();`,
      "platform_trap",
    );
    const r = sh(restoreScript, [dump(), "platform_trap"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/trap: no index today/);
    expect(r.stderr).toMatch(/platform_trap holds at most the dump's extensions/);
    expect(
      await sql(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('app', 'audit')",
        "platform_trap",
      ),
    ).toBe("0");
  });

  it("refuses a target name that is not a plain identifier", () => {
    const r = sh(restoreScript, [dump(), 'x"; DROP DATABASE platform; --']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/must be a lower-case SQL identifier/);
  });
});

describe("backup retention and failures", () => {
  it("deletes only this database's dumps (and checksums) older than the retention days", () => {
    const dir = freshDir();
    oldFile(dir, "platform-20250101T000000Z.dump", "20 days ago");
    oldFile(dir, "platform-20250101T000000Z.dump.sha256", "20 days ago");
    oldFile(dir, "platform-20250120T000000Z.dump", "3 days ago");
    oldFile(dir, "notes.txt", "400 days ago");
    oldFile(dir, "otherdb-20250101T000000Z.dump", "400 days ago");
    oldFile(dir, "platform-manual.dump", "400 days ago");
    const r = backup(backupScript({ days: 14 }), ["--once"], { BACKUP_DIR: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/retention 14 day\(s\) removed 2 file\(s\)/);
    const files = readdirSync(dir);
    expect(files).not.toContain("platform-20250101T000000Z.dump");
    expect(files).not.toContain("platform-20250101T000000Z.dump.sha256");
    for (const kept of [
      "platform-20250120T000000Z.dump",
      "notes.txt",
      "otherdb-20250101T000000Z.dump",
      "platform-manual.dump",
    ])
      expect(files).toContain(kept);
    expect(dumpsIn(dir)).toHaveLength(2);
  });

  it("at the boundary: a dump 14 days and an hour old goes, one of 13 days 23 hours stays (retention 14 days)", () => {
    const dir = freshDir();
    oldFile(dir, "platform-20250101T000000Z.dump", "14 days ago 1 hour ago");
    oldFile(dir, "platform-20250102T000000Z.dump", "13 days ago 23 hours ago");
    const r = backup(backupScript({ days: 14 }), ["--once"], { BACKUP_DIR: dir });
    expect(r.code).toBe(0);
    const dumps = dumpsIn(dir);
    expect(dumps).not.toContain("platform-20250101T000000Z.dump");
    expect(dumps).toContain("platform-20250102T000000Z.dump");
  });

  it("keeps the newest N dumps with a count retention", () => {
    const dir = freshDir();
    for (const day of ["01", "02", "03"]) {
      oldFile(dir, `platform-202501${day}T000000Z.dump`, "1 hour ago");
      oldFile(dir, `platform-202501${day}T000000Z.dump.sha256`, "1 hour ago");
    }
    const r = backup(backupScript({ count: 2 }), ["--once"], { BACKUP_DIR: dir });
    expect(r.code).toBe(0);
    const dumps = dumpsIn(dir).sort();
    expect(dumps).toHaveLength(2);
    expect(dumps[0]).toBe("platform-20250103T000000Z.dump");
    expect(existsSync(join(dir, "platform-20250102T000000Z.dump.sha256"))).toBe(false);
  });

  it("a dump pg_restore cannot read is refused although pg_dump exited 0 (the verification is the backup)", () => {
    const dir = freshDir();
    // A pg_dump that "succeeds" but writes garbage, as a full disk or a broken pipe can leave it.
    const bin = mkdtempSync(join(pg.dir, "bin-"));
    writeFileSync(
      join(bin, "pg_dump"),
      '#!/bin/sh\nfor a in "$@"; do case "$a" in --file=*) printf "not a dump" >"${a#--file=}" ;; esac; done\n',
    );
    chmodSync(join(bin, "pg_dump"), 0o755);
    writeFileSync(join(dir, "last-success"), "1700000000\n");
    const r = backup(backupScript(), ["--once"], { BACKUP_DIR: dir, PATH: `${bin}:${clusterEnv().PATH}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /FAILED: the new dump is unreadable \(pg_restore --list\); older backups untouched/,
    );
    expect(dumpsIn(dir)).toEqual([]);
    expect(readFileSync(join(dir, "last-success"), "utf8")).toBe("1700000000\n");
  });

  it("a failing pg_dump (wrong password) keeps older dumps, leaves no partial and does not record success", () => {
    const dir = freshDir();
    oldFile(dir, "platform-20250101T000000Z.dump", "30 days ago");
    writeFileSync(join(dir, "last-success"), "1700000000\n");
    const r = backup(backupScript({ days: 1 }), ["--once"], { BACKUP_DIR: dir, PGPASSWORD: "wrong" });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^stackport-backup: FAILED: pg_dump of platform exited 1; older backups untouched$/m,
    );
    expect(r.stderr).toMatch(/password authentication failed/);
    expect(readdirSync(dir).sort()).toEqual(
      ["last-failure", "last-success", "platform-20250101T000000Z.dump", METRICS_FILE].sort(),
    );
    expect(readFileSync(join(dir, "last-success"), "utf8")).toBe("1700000000\n");
    expect(readFileSync(join(dir, METRICS_FILE), "utf8")).toContain(
      `${LAST_SUCCESS_METRIC}{database="platform"} 1700000000`,
    );
  });
});

describe("backup loop (the container's main process)", () => {
  let loop: RunningLoop | undefined;
  afterEach(() => loop?.dispose());

  it("backs up at start, then sleeps until the next one is due; TERM (docker stop) ends it at once", async () => {
    const dir = freshDir();
    loop = runLoop(tempFile("backup.sh", backupScript()), [], { ...clusterEnv("backup"), BACKUP_DIR: dir });
    await loop.waitFor("next backup in", 0, 20_000);
    expect(loop.output()).toMatch(/stackport-backup: ok platform-\d{8}T\d{6}Z\.dump/);
    expect(loop.output()).toMatch(/next backup in (3599|3600)s/);
    expect(dumpsIn(dir)).toHaveLength(1);
    expect(await loop.stop()).toEqual({ code: 0, leftBehind: false });
    expect(loop.output()).toMatch(/stopping\n$/);
  });

  it("after a restart, waits out the rest of the interval instead of dumping again", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "last-success"), String(Math.floor(Date.now() / 1000) - 600));
    loop = runLoop(tempFile("backup.sh", backupScript()), [], { ...process.env, BACKUP_DIR: dir });
    await loop.waitFor("next backup in");
    expect(await loop.stop()).toEqual({ code: 0, leftBehind: false });
    // 3600 s interval, last success 600 s ago: 3000 s to go, less the seconds the test took to get here.
    expect(loop.output()).toMatch(/next backup in (29[5-9][0-9]|3000)s/);
    expect(dumpsIn(dir)).toEqual([]);
  });

  it("leaves no sleep behind, however soon after a pass TERM arrives", async () => {
    // The races this guards: a TERM between `sleep &` and the shell noting its PID left a stray sleep holding the
    // log pipe (one stop in three); a TERM as dash's `wait` began blocking was missed until the sleep ended.
    const dir = freshDir();
    writeFileSync(join(dir, "last-success"), String(Math.floor(Date.now() / 1000) - 600));
    const script = tempFile("backup.sh", backupScript());
    for (let attempt = 1; attempt <= 15; attempt++) {
      loop = runLoop(script, [], { ...process.env, BACKUP_DIR: dir });
      await loop.waitFor("next backup in");
      const stopped = await loop.stop();
      expect({ attempt, ...stopped }).toEqual({ attempt, code: 0, leftBehind: false });
      loop.dispose();
    }
  });
});

describe("bucket sync against the fake mc (tests/support/fakeMc.ts)", () => {
  const CREDENTIALS: Credentials = { accessKeyId: "stackport-root", secretAccessKey: "Zq8vB1nP4sW7yT0rK3mX" };
  const sync = (dir: string, mc: FakeMc) =>
    spawnSync("sh", [tempFile("sync.sh", renderBucketSyncScript()), "--once"], {
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...mc.env(),
        BACKUP_DIR: dir,
        BACKUP_BUCKET: "backups",
        MC_HOST_storage: mcHostUrl(
          "http://storage:9000",
          CREDENTIALS.accessKeyId,
          CREDENTIALS.secretAccessKey,
          "t",
        ),
      },
    });
  const storage = () => {
    const mc = fakeMc();
    mc.server("storage", CREDENTIALS);
    mc.bucket("storage", "backups");
    return mc;
  };

  it("an empty (lost, re-created) backup directory deletes nothing from the bucket", () => {
    const mc = storage();
    mc.put("storage", "backups", "platform-20260101T000000Z.dump", "an older dump");
    const r = sync(freshDir(), mc);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(mc.calls().every((c) => !/--remove|--overwrite|\brm\b/.test(c))).toBe(true);
    expect(mc.objects("storage", "backups")).toEqual({ "platform-20260101T000000Z.dump": "an older dump" });
  });

  it("its health check fails only when the last pass failed", () => {
    const state = tempFile("last-pass", "");
    const check = () =>
      spawnSync("sh", [tempFile("sync.sh", renderBucketSyncScript()), "--check"], {
        encoding: "utf8",
        // No bucket variables: the probe must not depend on them.
        env: { PATH: process.env["PATH"], LAST_PASS_FILE: state },
      });
    expect(check().status).toBe(0); // no pass yet: a long first sync is not unhealthy
    writeFileSync(state, "ok\n");
    expect(check().status).toBe(0);
    writeFileSync(state, "failed\n");
    const failed = check();
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain("unhealthy: the last pass failed");
  });

  it("copies new dumps and checksums only; never deletes or replaces a remote copy", () => {
    const mc = storage();
    const dir = freshDir();
    for (const f of ["platform-20260301T000000Z.dump", "platform-20260301T000000Z.dump.sha256"])
      copyFileSync(join(backupDir, dumpsIn(backupDir)[0]!), join(dir, f));
    writeFileSync(join(dir, "platform-20260302T000000Z.dump.partial"), "half a dump");
    writeFileSync(join(dir, ".last-pass"), "ok");
    writeFileSync(join(dir, "upload.tmp"), "tmp");
    for (const state of [
      "last-success",
      "last-failure",
      "drill-last-success",
      METRICS_FILE,
      "stackport_backup_drill.prom",
    ])
      writeFileSync(join(dir, state), "1");
    // Pruned locally by retention: stays in the bucket (its lifecycle expires it).
    mc.put("storage", "backups", "platform-20250101T000000Z.dump", "pruned locally");
    // A remote copy that differs from the local file is never replaced.
    mc.put("storage", "backups", "platform-20260301T000000Z.dump.sha256", "the bucket's copy");
    const r = sync(dir, mc);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const objects = mc.objects("storage", "backups");
    expect(Object.keys(objects).sort()).toEqual([
      "platform-20250101T000000Z.dump",
      "platform-20260301T000000Z.dump",
      "platform-20260301T000000Z.dump.sha256",
    ]);
    expect(objects["platform-20260301T000000Z.dump.sha256"]).toBe("the bucket's copy");
    expect(mc.calls()).toEqual([
      `mirror --exclude *.partial --exclude .* --exclude *.tmp --exclude *.prom --exclude last-* --exclude drill-* ${dir} storage/backups`,
    ]);
  });
});

describe("restore drill (the drill container's main process)", () => {
  const drillScript = renderDrillScript({ database: DB, intervalSeconds: 3600 });
  const drill = (dir: string) =>
    sh(drillScript, ["--once"], { BACKUP_DIR: dir, RESTORE_SCRIPT: tempFile("restore.sh", restoreScript) });
  const drillMetrics = (dir: string) => readFileSync(join(dir, DRILL_METRICS_FILE), "utf8");
  const scratchExists = () =>
    sql(`SELECT count(*) FROM pg_database WHERE datname = '${DRILL_DATABASE}'`, "postgres");
  /** A backup directory holding the first run's dump, and an older one that is not drilled. */
  function withDump(): string {
    const dir = freshDir();
    const name = dumpsIn(backupDir)[0]!;
    for (const f of [name, `${name}.sha256`]) copyFileSync(join(backupDir, f), join(dir, f));
    writeFileSync(join(dir, "platform-20200101T000000Z.dump"), "an older, unreadable dump");
    return dir;
  }

  it("restores the newest dump into a scratch database, checks every table's rows against the dump, drops it", async () => {
    const dir = withDump();
    const r = drill(dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // app.places 3000, app.tracks 2000, app.readings 5000, app.private 50, audit.seed_history 1.
    expect(r.stdout).toMatch(
      /stackport-drill: ok: .*platform-\d{8}T\d{6}Z\.dump restored into stackport_restore_drill and checked \(5 tables, 10051 rows, \d+s\)/,
    );
    expect(await scratchExists()).toBe("0");
    const last = Number(readFileSync(join(dir, "drill-last-success"), "utf8"));
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(120);
    const metrics = drillMetrics(dir);
    expect(metrics).toContain(`${BACKUP_METRICS.drillLastSuccess}{database="platform"} ${last}\n`);
    expect(metrics).toContain(`${BACKUP_METRICS.drillLastFailure}{database="platform"} 0\n`);
    expect(metrics).toContain(`${BACKUP_METRICS.drillMaxAge}{database="platform"} 7200\n`);
    const check = run(requireTool("promtool", "prometheus"), ["check", "metrics"], { input: metrics });
    expect(check.stdout + check.stderr).toBe("");
  });

  it("fails on a damaged dump whose checksum matches (a dump that never was whole), records it, leaves no scratch database", async () => {
    const dir = withDump();
    const name = dumpsIn(dir).sort().at(-1)!;
    const bytes = readFileSync(join(dir, name));
    writeFileSync(join(dir, name), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    writeFileSync(
      join(dir, `${name}.sha256`),
      ok(run("sha256sum", [join(dir, name)])).replace(/ .*/, `  ${name}\n`),
    );
    writeFileSync(join(dir, "drill-last-success"), "1700000000\n");
    const r = drill(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/stackport-drill: FAILED: restore of .*platform-\d{8}T\d{6}Z\.dump failed/);
    expect(await scratchExists()).toBe("0");
    const failed = Number(readFileSync(join(dir, "drill-last-failure"), "utf8"));
    expect(failed).toBeGreaterThan(1700000000);
    expect(drillMetrics(dir)).toContain(
      `${BACKUP_METRICS.drillLastSuccess}{database="platform"} 1700000000\n`,
    );
    expect(drillMetrics(dir)).toContain(
      `${BACKUP_METRICS.drillLastFailure}{database="platform"} ${failed}\n`,
    );
  });

  it("fails when the restore loses rows (a restore tool that drops table data)", async () => {
    const dir = withDump();
    // The restore tool with its data phase cut down to the schema: it "succeeds", the count check must not.
    const lossy = restoreScript.replace(
      'pg_restore --no-owner --role="$ROLE"',
      'pg_restore --schema-only --no-owner --role="$ROLE"',
    );
    expect(lossy).not.toBe(restoreScript);
    const r = sh(drillScript, ["--once"], { BACKUP_DIR: dir, RESTORE_SCRIPT: tempFile("restore.sh", lossy) });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/app\.places: the dump holds 3000 row\(s\), the restored database 0/);
    expect(r.stdout).toMatch(
      /FAILED: 5 of 5 table\(s\) of .* restored with other row counts than the dump holds/,
    );
    expect(await scratchExists()).toBe("0");
  });

  it("with no dump yet, fails --once without recording a failure (the loop waits for the first backup)", () => {
    const dir = freshDir();
    const r = drill(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/no dump of platform in .* yet/);
    expect(existsSync(join(dir, "drill-last-failure"))).toBe(false);
  });
});

describe("metrics endpoint (what Prometheus scrapes)", () => {
  let server: RunningLoop | undefined;
  afterEach(() => server?.dispose());

  it("serves the runner's and the drill's metrics at /metrics, in a format promtool accepts; 404 elsewhere", async () => {
    const perl = requireTool("perl", "perl-base");
    const dir = freshDir();
    const name = dumpsIn(backupDir)[0]!;
    for (const f of [name, `${name}.sha256`]) copyFileSync(join(backupDir, f), join(dir, f));
    ok(backup(backupScript(), ["--once"], { BACKUP_DIR: dir }));
    ok(
      sh(renderDrillScript({ database: DB, intervalSeconds: 3600 }), ["--once"], {
        BACKUP_DIR: dir,
        RESTORE_SCRIPT: tempFile("restore.sh", restoreScript),
      }),
    );
    expect(run(perl, ["-c", tempFile("metrics.pl", renderMetricsServer())]).stderr).toMatch(/syntax OK/);
    const port = await freePort();
    server = runPerl(perl, tempFile("metrics.pl", renderMetricsServer()), {
      BACKUP_DIR: dir,
      METRICS_PORT: String(port),
    });
    await server.waitFor("serving", 0, 10_000);
    const metrics = await httpGet(port, "/metrics");
    expect(metrics.status).toBe(200);
    for (const m of [BACKUP_METRICS.lastSuccess, BACKUP_METRICS.maxAge, BACKUP_METRICS.drillLastSuccess])
      expect(metrics.body).toMatch(new RegExp(`^${m}\\{database="platform"\\} [1-9]\\d*$`, "m"));
    const check = run(requireTool("promtool", "prometheus"), ["check", "metrics"], { input: metrics.body });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect((await httpGet(port, "/backups/platform.dump")).status).toBe(404);
    // The container's health probe, as Docker runs it: healthy while serving, unhealthy once stopped.
    const [probe, ...probeArgs] = metricsProbe(port);
    expect(run(requireTool(probe!, "perl-base"), probeArgs).code).toBe(0);
    server.dispose();
    server = undefined;
    let code = 0;
    for (const deadline = Date.now() + 3000; code === 0 && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      code = run(requireTool(probe!, "perl-base"), probeArgs).code;
    }
    expect(code).not.toBe(0);
  });
});

/** The metrics server as the container runs it (perl, PID 1 of its own group so dispose() ends it). */
function runPerl(perl: string, script: string, env: Record<string, string>): RunningLoop {
  const wrapper = tempFile("run.sh", `exec ${perl} ${script}\n`);
  return runLoop(wrapper, [], { ...process.env, ...env });
}

function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
    req.on("error", reject);
  });
}

describe.each([
  ["backup (days)", () => backupScript({ days: 14 })],
  ["backup (count)", () => backupScript({ count: 5 })],
  ["restore", () => restoreScript],
  ["bucket sync", () => renderBucketSyncScript()],
  ["restore drill", () => renderDrillScript({ database: DB, intervalSeconds: 86400 })],
])("shellcheck: %s script", (_name, script) => {
  it("passes shellcheck -s sh with no findings", () => {
    const result = shellcheck(script());
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
