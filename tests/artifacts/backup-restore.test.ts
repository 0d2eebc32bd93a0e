/**
 * The backup and restore scripts, run for real: a bootstrapped PostgreSQL 15 + PostGIS 3 database with data is
 * dumped by the rendered backup loop (`--once`), restored by the rendered restore tool into a fresh database, and
 * compared table by table (row counts and content checksums). Retention, failure handling, the health check and
 * the refusals are exercised on the same throwaway cluster; every script passes `shellcheck -s sh`.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
import { requireTool, run, shellcheck, tempFile } from "../support/tools";

const DB = "platform";
const SUPERUSER_PASSWORD = "super-Secret-0";
const ROLE_PASSWORDS = {
  db_admin_password: "admin-Secret-1",
  app_writer_password: "writer-Secret-2",
  app_reader_password: "reader-Secret-3",
};
/** The application's tables, each with an `id` to order its rows by. */
const TABLES = ["app.places", "app.tracks", "app.readings", "audit.seed_history"];

let pg: Cluster;
let backupDir: string;
let firstRun: RunResult;

const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
};
const sql = (query: string, db = DB) => pg.psql(query, { db }).then(ok);

/** Runs a rendered script with `sh`, connected to the test cluster as the superuser over TCP (like the container). */
/** The test cluster's connection as the scripts read it, with its own major version's client tools first. */
function clusterEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The cluster's own major version, not whatever /usr/bin/pg_dump would pick.
    PATH: `${PG_BIN}:${process.env["PATH"]}`,
    PGHOST: "127.0.0.1",
    PGPORT: String(pg.port),
    PGUSER: "postgres",
    PGPASSWORD: SUPERUSER_PASSWORD,
  };
}

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
  writeFileSync(bootstrap, renderBootstrapSql({ database: DB, monitoringUser: false }));
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
       RESET ROLE;
       -- A user-added SRID: data of an extension table, which pg_dump keeps and the restore must carry over.
       INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, proj4text, srtext)
         VALUES (990001, 'stackport', 990001, '+proj=longlat +datum=WGS84 +no_defs', 'GEOGCS["test"]');`,
      { db: DB },
    ),
  );
  backupDir = freshDir();
  firstRun = sh(backupScript(), ["--once"], { BACKUP_DIR: backupDir });
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
    const r = sh(backupScript({ days: 14 }), ["--once"], { BACKUP_DIR: dir });
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

  it("keeps the newest N dumps with a count retention", () => {
    const dir = freshDir();
    for (const day of ["01", "02", "03"]) {
      oldFile(dir, `platform-202501${day}T000000Z.dump`, "1 hour ago");
      oldFile(dir, `platform-202501${day}T000000Z.dump.sha256`, "1 hour ago");
    }
    const r = sh(backupScript({ count: 2 }), ["--once"], { BACKUP_DIR: dir });
    expect(r.code).toBe(0);
    const dumps = dumpsIn(dir).sort();
    expect(dumps).toHaveLength(2);
    expect(dumps[0]).toBe("platform-20250103T000000Z.dump");
    expect(existsSync(join(dir, "platform-20250102T000000Z.dump.sha256"))).toBe(false);
  });

  it("a failing pg_dump (wrong password) keeps older dumps, leaves no partial and does not record success", () => {
    const dir = freshDir();
    oldFile(dir, "platform-20250101T000000Z.dump", "30 days ago");
    writeFileSync(join(dir, "last-success"), "1700000000\n");
    const r = sh(backupScript({ days: 1 }), ["--once"], { BACKUP_DIR: dir, PGPASSWORD: "wrong" });
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
    loop = runLoop(tempFile("backup.sh", backupScript()), [], { ...clusterEnv(), BACKUP_DIR: dir });
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

  it("refuses to mirror an empty backup directory (--remove would empty the bucket)", () => {
    const mc = storage();
    mc.put("storage", "backups", "platform-20260101T000000Z.dump", "an older dump");
    const r = sync(freshDir(), mc);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/refusing to mirror/);
    expect(mc.calls()).toEqual([]);
    expect(Object.keys(mc.objects("storage", "backups"))).toEqual(["platform-20260101T000000Z.dump"]);
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

  it("mirrors the dumps with --remove, skipping partial and hidden files", () => {
    const mc = storage();
    const dir = freshDir();
    for (const f of ["platform-20260301T000000Z.dump", "platform-20260301T000000Z.dump.sha256"])
      copyFileSync(join(backupDir, dumpsIn(backupDir)[0]!), join(dir, f));
    writeFileSync(join(dir, "platform-20260302T000000Z.dump.partial"), "half a dump");
    writeFileSync(join(dir, ".last-pass"), "ok");
    writeFileSync(join(dir, "upload.tmp"), "tmp");
    mc.put("storage", "backups", "platform-20250101T000000Z.dump", "pruned locally");
    const r = sync(dir, mc);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(Object.keys(mc.objects("storage", "backups")).sort()).toEqual([
      "platform-20260301T000000Z.dump",
      "platform-20260301T000000Z.dump.sha256",
    ]);
    expect(mc.calls()).toEqual([
      `mirror --overwrite --remove --exclude *.partial --exclude .* --exclude *.tmp ${dir} storage/backups`,
    ]);
  });
});

describe.each([
  ["backup (days)", () => backupScript({ days: 14 })],
  ["backup (count)", () => backupScript({ count: 5 })],
  ["restore", () => restoreScript],
  ["bucket sync", () => renderBucketSyncScript()],
])("shellcheck: %s script", (_name, script) => {
  it("passes shellcheck -s sh with no findings", () => {
    const result = shellcheck(script());
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});
