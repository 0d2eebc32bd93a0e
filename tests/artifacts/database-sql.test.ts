/**
 * The database bootstrap against the real tools: the SQL on a throwaway PostgreSQL 15 + PostGIS 3 cluster, the job
 * script through `shellcheck -s sh`. Privileges are checked by logging in as each role with its password.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BACKUP_ROLE,
  BOOTSTRAP_LOCK_KEY,
  BOOTSTRAP_SEED_VERSION,
  renderBootstrapScript,
  renderBootstrapSql,
} from "../../components/database/bootstrapSql";
import { type Cluster, type RunResult, startCluster } from "../support/postgres";
import { shellcheck } from "../support/tools";

const DB = "platform";
const PASSWORDS = {
  db_admin_password: "admin-Secret-1",
  app_writer_password: "writer-Secret-2",
  app_reader_password: "reader-Secret-3",
  monitoring_password: "monitor-Secret-4",
  db_backup_password: "backup-Secret-5",
};
const BASE_VARS = {
  db_admin_password: PASSWORDS.db_admin_password,
  app_writer_password: PASSWORDS.app_writer_password,
  app_reader_password: PASSWORDS.app_reader_password,
};

const as = (role: "db_admin" | "app_writer" | "app_reader" | "monitoring" | "db_backup") => ({
  user: role,
  password: PASSWORDS[`${role}_password`],
  db: DB,
});

let pg: Cluster;
let sqlFile: string;
let monitoringSqlFile: string;

const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`psql failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
};
const bootstrap = (file = sqlFile, vars: Record<string, string> = BASE_VARS) =>
  pg.runFile(file, vars, { db: DB });
const superuser = (sql: string) => pg.psql(sql, { db: DB }).then(ok);

beforeAll(async () => {
  pg = await startCluster();
  await pg.createDatabase(DB);
  sqlFile = join(pg.dir, "bootstrap.sql");
  monitoringSqlFile = join(pg.dir, "bootstrap-monitoring.sql");
  writeFileSync(sqlFile, renderBootstrapSql({ database: DB, monitoringUser: false }));
  writeFileSync(monitoringSqlFile, renderBootstrapSql({ database: DB, monitoringUser: true }));
}, 120_000);

afterAll(async () => {
  await pg?.stop();
});

describe("bootstrap SQL on PostgreSQL 15 + PostGIS 3", () => {
  it("runs twice (idempotent) and its readiness check passes", async () => {
    ok(await bootstrap());
    ok(await bootstrap());
    expect(
      await superuser(`SELECT count(*) FROM audit.seed_history WHERE version = '${BOOTSTRAP_SEED_VERSION}'`),
    ).toBe("1");
  });

  it("fails with a readable message when a password variable is missing", async () => {
    const vars: Record<string, string> = { ...BASE_VARS };
    delete vars["app_reader_password"];
    const r = await bootstrap(sqlFile, vars);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("environment variable APP_READER_PASSWORD is not set");
  });

  it("creates the required extensions and schemas", async () => {
    expect((await superuser("SELECT extname FROM pg_extension ORDER BY extname")).split("\n")).toEqual(
      expect.arrayContaining(["pgcrypto", "postgis", "uuid-ossp"]),
    );
    expect(
      await superuser(
        "SELECT string_agg(nspname || ':' || pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace WHERE nspname IN ('app','audit')",
      ),
    ).toBe("app:db_admin,audit:db_admin");
    // Runtime roles can use PostGIS and the UUID functions.
    expect(
      ok(
        await pg.psql(
          "SELECT ST_AsText(ST_MakePoint(1, 2)), length(uuid_generate_v4()::text)",
          as("app_reader"),
        ),
      ),
    ).toBe("POINT(1 2)|36");
  });

  it("each role logs in with its password only", async () => {
    expect(ok(await pg.psql("SELECT current_user", as("app_writer")))).toBe("app_writer");
    const wrong = await pg.psql("SELECT 1", { user: "app_writer", password: "wrong", db: DB });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/password authentication failed/);
  });

  describe("privileges on tables db_admin creates after the bootstrap", () => {
    beforeAll(async () => {
      ok(
        await pg.psql(
          `CREATE TABLE app.stations (id bigserial PRIMARY KEY, name text NOT NULL, geom geometry(Point, 4326));
           CREATE FUNCTION app.station_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM app.stations';
           INSERT INTO app.stations (name) VALUES ('seeded');`,
          as("db_admin"),
        ),
      );
    });

    it("app_reader can SELECT but not write", async () => {
      expect(ok(await pg.psql("SELECT name FROM app.stations ORDER BY id LIMIT 1", as("app_reader")))).toBe(
        "seeded",
      );
      const insert = await pg.psql("INSERT INTO app.stations (name) VALUES ('nope')", as("app_reader"));
      expect(insert.code).not.toBe(0);
      expect(insert.stderr).toMatch(/permission denied for table stations/);
      const fn = await pg.psql("SELECT app.station_count()", as("app_reader"));
      expect(fn.stderr).toMatch(/permission denied for function station_count/);
      const create = await pg.psql("CREATE TABLE app.mine (x int)", as("app_reader"));
      expect(create.stderr).toMatch(/permission denied for schema app/);
    });

    it("app_reader may read audit.seed_history", async () => {
      expect(ok(await pg.psql("SELECT version FROM audit.seed_history", as("app_reader")))).toContain(
        BOOTSTRAP_SEED_VERSION,
      );
    });

    it("app_writer can INSERT/UPDATE/DELETE and run functions in app", async () => {
      expect(
        ok(
          await pg.psql(
            `INSERT INTO app.stations (name, geom) VALUES ('w', ST_SetSRID(ST_MakePoint(8.5, 47.4), 4326));
             UPDATE app.stations SET name = 'w2' WHERE name = 'w';
             DELETE FROM app.stations WHERE name = 'w2';
             SELECT app.station_count();`,
            as("app_writer"),
          ),
        ),
      ).toBe("1");
    });

    it("app_writer cannot CREATE in app or public", async () => {
      const inApp = await pg.psql("CREATE TABLE app.sneaky (x int)", as("app_writer"));
      expect(inApp.code).not.toBe(0);
      expect(inApp.stderr).toMatch(/permission denied for schema app/);
      const inPublic = await pg.psql("CREATE TABLE public.sneaky (x int)", as("app_writer"));
      expect(inPublic.code).not.toBe(0);
      expect(inPublic.stderr).toMatch(/permission denied for schema public/);
      const temp = await pg.psql("CREATE TEMP TABLE t (x int)", as("app_writer"));
      expect(temp.stderr).toMatch(/permission denied to create temporary tables/);
    });

    it("app_writer has no access to audit", async () => {
      const select = await pg.psql("SELECT * FROM audit.seed_history", as("app_writer"));
      expect(select.code).not.toBe(0);
      expect(select.stderr).toMatch(/permission denied for schema audit/);
      const insert = await pg.psql(
        "INSERT INTO audit.seed_history (version, description) VALUES ('x', 'y')",
        as("app_writer"),
      );
      expect(insert.stderr).toMatch(/permission denied for schema audit/);
    });

    it("db_admin can migrate (create tables in app) but is not a superuser", async () => {
      ok(await pg.psql("CREATE TABLE IF NOT EXISTS app.migrated (id int)", as("db_admin")));
      expect(
        ok(await pg.psql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user", as("db_admin"))),
      ).toBe("f");
    });

    it("a re-run keeps data and the new grants", async () => {
      ok(await bootstrap());
      expect(ok(await pg.psql("SELECT count(*) FROM app.stations", as("app_reader")))).toBe("1");
    });

    it("after a re-run (the tables now exist when it grants), app_reader still may only read", async () => {
      ok(await bootstrap());
      expect(
        await superuser(
          `SELECT string_agg(DISTINCT privilege_type, ',' ORDER BY privilege_type)
           FROM information_schema.role_table_grants WHERE grantee = 'app_reader' AND table_schema IN ('app', 'audit')`,
        ),
      ).toBe("SELECT");
      for (const write of [
        "INSERT INTO app.stations (name) VALUES ('nope')",
        "UPDATE app.stations SET name = 'nope'",
        "DELETE FROM app.stations",
      ]) {
        const r = await pg.psql(write, as("app_reader"));
        expect({ write, code: r.code, stderr: r.stderr }).toEqual({
          write,
          code: 3,
          stderr: expect.stringMatching(/permission denied for table stations/),
        });
      }
    });
  });

  it("keeps the passwords out of the server log even when it logs every statement", async () => {
    const log = join(pg.dir, "server.log");
    const before = readFileSync(log, "utf8").length;
    // log_statement = all for this session (the superuser may set it), as an operator debugging might configure.
    const file = join(pg.dir, "bootstrap-logged.sql");
    writeFileSync(file, renderBootstrapSql({ database: DB, monitoringUser: false }));
    const r = await pg.run(
      ["-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", file],
      { db: DB },
      undefined,
      {
        PGOPTIONS: "-c log_statement=all",
        DB_ADMIN_PASSWORD: PASSWORDS.db_admin_password,
        APP_WRITER_PASSWORD: PASSWORDS.app_writer_password,
        APP_READER_PASSWORD: PASSWORDS.app_reader_password,
      },
    );
    ok(r);
    const logged = readFileSync(log, "utf8").slice(before);
    // The run was logged (so the check below is not vacuous)…
    expect(logged).toMatch(/statement: .*pg_advisory_xact_lock/);
    // …but none of the statements carrying a password.
    for (const password of Object.values(BASE_VARS)) expect(logged).not.toContain(password);
    expect(logged).not.toMatch(/ALTER ROLE \w+ WITH .*PASSWORD/);
  });

  it("other roles cannot even connect to the database", async () => {
    await superuser(
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stranger') THEN CREATE ROLE stranger LOGIN PASSWORD 'stranger'; END IF; END $$;",
    );
    const r = await pg.psql("SELECT 1", { user: "stranger", password: "stranger", db: DB });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/permission denied for database/);
  });

  it("serializes on the advisory lock: a run waits while another holds it", async () => {
    const holder = pg.psql(
      `BEGIN; SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY}); SELECT pg_sleep(4); COMMIT;`,
      { db: DB },
    );
    const waitFor = async (sql: string, expected: string) => {
      for (let i = 0; i < 100; i++) {
        if ((await superuser(sql)) === expected) return true;
        await new Promise((r) => setTimeout(r, 50));
      }
      return false;
    };
    const lockRow = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted";
    expect(await waitFor(lockRow, "1")).toBe(true);
    let bootstrapDone = false;
    const run = bootstrap().then((r) => {
      bootstrapDone = true;
      return r;
    });
    // The bootstrap's very first statement is stuck on the lock the holder has.
    const waiting = `SELECT count(*) FROM pg_stat_activity
      WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE '%pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})%'`;
    expect(await waitFor(waiting, "1")).toBe(true);
    expect(bootstrapDone).toBe(false);
    ok(await holder);
    ok(await run);
  });

  it("two concurrent runs on a fresh database both succeed and leave one consistent state", async () => {
    // A database never bootstrapped: without the lock, both would race on CREATE EXTENSION / CREATE SCHEMA.
    await pg.createDatabase("race");
    const file = join(pg.dir, "race.sql");
    writeFileSync(file, renderBootstrapSql({ database: "race", monitoringUser: false }));
    const [a, b] = await Promise.all([
      pg.runFile(file, BASE_VARS, { db: "race" }),
      pg.runFile(file, BASE_VARS, { db: "race" }),
    ]);
    ok(a);
    ok(b);
    const check = (sql: string) => pg.psql(sql, { db: "race" }).then(ok);
    expect(await check("SELECT count(*) FROM audit.seed_history")).toBe("1");
    expect(
      await check(
        "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'",
      ),
    ).toBe("pgcrypto,postgis,uuid-ossp");
    expect(ok(await pg.psql("SELECT current_user", { ...as("app_writer"), db: "race" }))).toBe("app_writer");
  });

  it("creates no monitoring role unless enabled; with it enabled the role has pg_monitor", async () => {
    expect(await superuser("SELECT count(*) FROM pg_roles WHERE rolname = 'monitoring'")).toBe("0");
    const withoutPassword = await bootstrap(monitoringSqlFile, BASE_VARS);
    expect(withoutPassword.stderr).toContain("MONITORING_PASSWORD is not set");
    ok(await bootstrap(monitoringSqlFile, PASSWORDS));
    ok(await bootstrap(monitoringSqlFile, PASSWORDS));
    expect(
      ok(await pg.psql("SELECT pg_has_role(current_user, 'pg_monitor', 'MEMBER')", as("monitoring"))),
    ).toBe("t");
    // pg_monitor, not data access.
    const r = await pg.psql("SELECT * FROM app.stations", as("monitoring"));
    expect(r.stderr).toMatch(/permission denied for schema app/);
  });

  describe("the backup role (backupUser)", () => {
    const backupVars = { ...BASE_VARS, db_backup_password: PASSWORDS.db_backup_password };
    beforeAll(async () => {
      const file = join(pg.dir, "bootstrap-backup.sql");
      writeFileSync(file, renderBootstrapSql({ database: DB, monitoringUser: false, backupUser: true }));
      ok(await bootstrap(file, backupVars));
      ok(await bootstrap(file, backupVars));
      ok(
        await pg.psql(
          `CREATE TABLE IF NOT EXISTS app.secrets (id int PRIMARY KEY, owner text NOT NULL);
           INSERT INTO app.secrets VALUES (1, 'someone else') ON CONFLICT DO NOTHING;
           ALTER TABLE app.secrets ENABLE ROW LEVEL SECURITY;`,
          as("db_admin"),
        ),
      );
    });

    it("is a locked login role with pg_read_all_data, and nothing else", async () => {
      expect(
        await superuser(
          `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin,
                  pg_has_role('${BACKUP_ROLE}', 'pg_read_all_data', 'MEMBER'),
                  pg_has_role('${BACKUP_ROLE}', 'pg_write_all_data', 'MEMBER'),
                  pg_has_role('${BACKUP_ROLE}', 'db_admin', 'MEMBER')
           FROM pg_roles WHERE rolname = '${BACKUP_ROLE}'`,
        ),
      ).toBe("f|f|f|f|t|t|t|f|f");
    });

    it("reads every row of every table, row security included (what pg_dump needs)", async () => {
      expect(
        ok(
          await pg.psql(
            "SELECT (SELECT count(*) FROM app.stations) || ',' || (SELECT owner FROM app.secrets) || ',' || (SELECT count(*) FROM audit.seed_history)",
            as("db_backup"),
          ),
        ),
      ).toBe("1,someone else,1");
    });

    it.each([
      ["INSERT", "INSERT INTO app.stations (name) VALUES ('nope')", /permission denied for table stations/],
      ["UPDATE", "UPDATE app.stations SET name = 'nope'", /permission denied for table stations/],
      ["DELETE", "DELETE FROM app.stations", /permission denied for table stations/],
      ["TRUNCATE", "TRUNCATE audit.seed_history", /permission denied for table seed_history/],
      ["CREATE in app", "CREATE TABLE app.mine (x int)", /permission denied for schema app/],
      ["CREATE in public", "CREATE TABLE public.mine (x int)", /permission denied for schema public/],
      ["CREATE TEMP", "CREATE TEMP TABLE mine (x int)", /permission denied to create temporary tables/],
    ])(
      "cannot write: %s is refused by privileges, even with read-only sessions switched off",
      async (_what, sql, error) => {
        // Sessions start read-only; the role's privileges must refuse the write on their own too.
        const readOnly = await pg.psql(sql, as("db_backup"));
        expect(readOnly.code).not.toBe(0);
        const r = await pg.psql(`SET default_transaction_read_only = off; ${sql}`, as("db_backup"));
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(error);
      },
    );
  });

  it("the readiness check fails the run when something is missing", async () => {
    // The readiness block alone, against a database that was never bootstrapped.
    await pg.createDatabase("empty");
    const sql = renderBootstrapSql({ database: "empty", monitoringUser: false });
    const readiness = sql.slice(sql.lastIndexOf("-- Readiness"));
    const file = join(pg.dir, "readiness.sql");
    writeFileSync(file, readiness);
    const r = await pg.runFile(file, {}, { db: "empty" });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /database not ready, missing: extension postgis, extension uuid-ossp, extension pgcrypto, schema app, schema audit/,
    );
  });
});

describe("bootstrap job script", () => {
  it.each([false, true])("passes shellcheck -s sh (monitoringUser=%s)", (monitoringUser) => {
    const result = shellcheck(renderBootstrapScript({ database: DB, monitoringUser }));
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("runs end to end with sh against the real server (pg_isready + psql from PATH)", () => {
    const env = {
      PATH: `/usr/lib/postgresql/15/bin:${process.env["PATH"]}`,
      // The superuser uses the cluster's socket (trust); in the container it is TCP with the generated password.
      PGHOST: pg.socketDir,
      PGPORT: String(pg.port),
      PGUSER: "postgres",
      PGPASSWORD: "unused-with-trust",
      PGDATABASE: DB,
      DB_ADMIN_PASSWORD: PASSWORDS.db_admin_password,
      APP_WRITER_PASSWORD: PASSWORDS.app_writer_password,
      APP_READER_PASSWORD: PASSWORDS.app_reader_password,
    };
    const script = renderBootstrapScript({ database: DB, monitoringUser: false });
    const r = spawnSync("sh", ["-s"], { input: script, env, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("stackport: database bootstrap complete");

    const missing = spawnSync("sh", ["-s"], {
      input: script,
      env: { ...env, APP_READER_PASSWORD: "" },
      encoding: "utf8",
    });
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/APP_READER_PASSWORD: must be set/);
  });
});
