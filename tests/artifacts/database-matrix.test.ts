/**
 * The configurable bootstrap (extra databases, schemas with their grants, extensions, the monitoring role) against a
 * real PostgreSQL 15 + PostGIS 3 cluster: the rendered job script run by `sh` three times — twice at once on a fresh
 * cluster, once more after the migrations made tables — then a privilege matrix per database × role, every cell
 * found by logging in as that role with its password. The expected matrix is written out here, not derived from the
 * renderer, so a wrong grant shows as a changed cell.
 */
import { spawn } from "node:child_process";
import { renderBootstrapScript, type BootstrapSqlOptions } from "../../components/database/bootstrapSql";
import { type Cluster, PG_BIN, type RunResult, startCluster } from "../support/postgres";
import { shellcheck } from "../support/tools";

jest.setTimeout(180_000);

const OPTIONS: BootstrapSqlOptions = {
  database: "platform",
  monitoringUser: true,
  extensions: ["pg_trgm"],
  schemas: { tenancy: {}, audit_log: { writer: "read", reader: "none" } },
  databases: {
    telemetry: { extensions: ["citext"], schemas: { app: {}, ingest: { reader: "none" } } },
    billing: {},
  },
};

/** Every login role the options create, with its password (what the job gets from Pulumi). */
const ROLES = [
  "db_admin",
  "app_writer",
  "app_reader",
  "monitoring",
  "telemetry_owner",
  "telemetry_writer",
  "telemetry_reader",
  "billing_owner",
  "billing_writer",
  "billing_reader",
] as const;
type Role = (typeof ROLES)[number];
const password = (role: string) => `pw-${role}-Secret`;
const passwordEnv = Object.fromEntries(ROLES.map((r) => [`${r.toUpperCase()}_PASSWORD`, password(r)]));

/** The schemas each database has, and which role owns (migrates) it. */
const DATABASES: Record<string, { owner: Role; schemas: string[] }> = {
  platform: { owner: "db_admin", schemas: ["app", "tenancy", "audit_log"] },
  telemetry: { owner: "telemetry_owner", schemas: ["app", "ingest"] },
  billing: { owner: "billing_owner", schemas: ["app"] },
};

let pg: Cluster;
const procs = new Set<ReturnType<typeof spawn>>();

/** Runs the job script with sh as the job does (libpq environment, passwords from the environment). */
function runScript(script: string, extraEnv: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-s"], {
      env: {
        PATH: `${PG_BIN}:${process.env["PATH"]}`,
        PGHOST: pg.socketDir,
        PGPORT: String(pg.port),
        PGUSER: "postgres",
        PGPASSWORD: "unused-with-trust",
        PGDATABASE: "platform",
        ...passwordEnv,
        ...extraEnv,
      },
    });
    procs.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      procs.delete(child);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(script);
  });
}

const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
};
const as = (role: string, db: string) => ({ user: role, password: password(role), db });

beforeAll(async () => {
  pg = await startCluster();
  // The image's entrypoint creates POSTGRES_DB; the bootstrap creates everything else.
  await pg.createDatabase("platform");
}, 120_000);

afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await pg?.stop();
});

/** Tries `sql` as the session's role and rolls it back: yes (allowed), no (insufficient privilege) or the error. */
const probe = (label: string, sql: string) => `
DO $probe$
BEGIN
  BEGIN
    EXECUTE ${`$q$${sql}$q$`};
    RAISE EXCEPTION 'stackport-probe-ok';
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'cell %|%', ${`'${label}'`},
      CASE WHEN SQLERRM = 'stackport-probe-ok' THEN 'yes' WHEN SQLSTATE = '42501' THEN 'no' ELSE 'error: ' || SQLERRM END;
  END;
END
$probe$;`;

/** One database × role row of the matrix: connect, and per schema select/insert/create, then create schema, temp. */
async function matrixRow(db: string, role: Role): Promise<Record<string, string>> {
  const connect = await pg.psql("SELECT 1", as(role, db));
  if (connect.code !== 0) {
    // Refused at the door: the only acceptable reason is the CONNECT privilege.
    return {
      connect: /permission denied for database/.test(connect.stderr) ? "no" : `error: ${connect.stderr}`,
    };
  }
  const sql = [
    ...DATABASES[db]!.schemas.flatMap((s) => [
      probe(`select ${s}`, `SELECT count(*) FROM ${s}.t`),
      // Explicit ids: an INSERT must not depend on the sequence privilege, which is probed on its own.
      probe(`insert ${s}`, `INSERT INTO ${s}.t (id, v) VALUES (100, 'probe')`),
      probe(`update ${s}`, `UPDATE ${s}.t SET v = v`),
      probe(`delete ${s}`, `DELETE FROM ${s}.t WHERE id = 1`),
      probe(`nextval ${s}`, `SELECT nextval('${s}.seq')`),
      probe(`execute ${s}`, `SELECT ${s}.f()`),
      probe(`create ${s}`, `CREATE TABLE ${s}.probe_table (x int)`),
    ]),
    probe("create schema", "CREATE SCHEMA probe_schema"),
    probe("temp", "CREATE TEMP TABLE probe_temp (x int)"),
  ].join("\n");
  const r = await pg.psql(sql, as(role, db));
  const cells: Record<string, string> = { connect: "yes" };
  for (const m of r.stderr.matchAll(/NOTICE: {2}cell ([^|]+)\|(.*)/g)) cells[m[1]!] = m[2]!;
  return cells;
}

/** The expected row: what each role may do in each database, written out from the access model. */
function expectedRow(db: string, role: Role): Record<string, string> {
  const yes = (b: boolean) => (b ? "yes" : "no");
  const own: Record<string, Role[]> = {
    platform: ["db_admin", "app_writer", "app_reader", "monitoring"],
    telemetry: ["telemetry_owner", "telemetry_writer", "telemetry_reader"],
    billing: ["billing_owner", "billing_writer", "billing_reader"],
  };
  if (!own[db]!.includes(role)) return { connect: "no" };
  const kind = role === DATABASES[db]!.owner ? "owner" : role.replace(/^.*_/, "");
  // writer/reader access per schema (`none` hides the schema; `read` is SELECT only).
  const access: Record<string, Record<string, { writer: string; reader: string }>> = {
    platform: {
      app: { writer: "write", reader: "read" },
      tenancy: { writer: "write", reader: "read" },
      audit_log: { writer: "read", reader: "none" },
    },
    telemetry: { app: { writer: "write", reader: "read" }, ingest: { writer: "write", reader: "none" } },
    billing: { app: { writer: "write", reader: "read" } },
  };
  const row: Record<string, string> = { connect: "yes" };
  for (const s of DATABASES[db]!.schemas) {
    const level =
      kind === "owner" ? "owner" : kind === "writer" || kind === "reader" ? access[db]![s]![kind] : "none";
    const writes = level === "write" || level === "owner";
    row[`select ${s}`] = yes(level !== "none");
    row[`insert ${s}`] = yes(writes);
    row[`update ${s}`] = yes(writes);
    row[`delete ${s}`] = yes(writes);
    row[`nextval ${s}`] = yes(writes);
    // Functions are the writer's (and owner's) only: PUBLIC's default EXECUTE is revoked.
    row[`execute ${s}`] = yes(writes);
    row[`create ${s}`] = yes(level === "owner");
  }
  row["create schema"] = yes(kind === "owner");
  // Temporary tables: only the owner of an extra database (owners have every database privilege); db_admin has
  // CONNECT and CREATE only.
  row["temp"] = yes(kind === "owner" && db !== "platform");
  return row;
}

describe("configurable bootstrap on PostgreSQL 15 + PostGIS 3", () => {
  const script = renderBootstrapScript(OPTIONS);

  it("passes shellcheck -s sh", () => {
    const r = shellcheck(script);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  it("runs twice at once on a fresh cluster: both succeed (the advisory lock serializes them)", async () => {
    const [a, b] = await Promise.all([runScript(script), runScript(script)]);
    ok(a);
    ok(b);
    expect(a.stdout).toContain("stackport: database bootstrap complete");
    expect(b.stdout).toContain("stackport: database bootstrap complete");
    expect(
      ok(
        await pg.psql(
          "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE NOT datistemplate",
        ),
      ),
    ).toBe("billing,platform,postgres,telemetry");
  });

  it("creates each database's extensions, and only its own", async () => {
    const extensions = async (db: string) =>
      ok(
        await pg.psql(
          "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'",
          { db },
        ),
      );
    expect(await extensions("platform")).toBe("pg_trgm,pgcrypto,postgis,uuid-ossp");
    expect(await extensions("telemetry")).toBe("citext");
    expect(await extensions("billing")).toBe("");
  });

  it("runs a third time after the migrations made tables: data kept, grants cover the tables", async () => {
    for (const [db, { owner, schemas }] of Object.entries(DATABASES)) {
      ok(
        await pg.psql(
          schemas
            .map(
              (s) => `CREATE TABLE ${s}.t (id int PRIMARY KEY, v text); INSERT INTO ${s}.t VALUES (1, 'seed');
                CREATE SEQUENCE ${s}.seq;
                CREATE FUNCTION ${s}.f() RETURNS int LANGUAGE sql AS 'SELECT 1';`,
            )
            .join("\n"),
          as(owner, db),
        ),
      );
    }
    ok(await runScript(script));
    expect(ok(await pg.psql("SELECT v FROM app.t", as("telemetry_reader", "telemetry")))).toBe("seed");
  });

  it("privilege matrix: every database × role cell is what the access model says", async () => {
    const actual: Record<string, Record<string, string>> = {};
    const expected: Record<string, Record<string, string>> = {};
    for (const db of Object.keys(DATABASES)) {
      for (const role of ROLES) {
        actual[`${db} as ${role}`] = await matrixRow(db, role);
        expected[`${db} as ${role}`] = expectedRow(db, role);
      }
    }
    expect(actual).toEqual(expected);
  });

  it("no managed role has a server-wide privilege (superuser, createdb, createrole, replication)", async () => {
    expect(
      ok(
        await pg.psql(
          `SELECT count(*) FROM pg_roles WHERE rolname IN (${ROLES.map((r) => `'${r}'`).join(", ")})
             AND (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls OR NOT rolcanlogin)`,
        ),
      ),
    ).toBe("0");
  });

  it("the monitoring role sees other databases' sessions (pg_monitor) but no data", async () => {
    const busy = pg.psql("SELECT pg_sleep(3)", as("telemetry_writer", "telemetry"));
    let seen = "";
    for (let i = 0; i < 40 && !seen.includes("pg_sleep"); i++) {
      seen = ok(
        await pg.psql(
          "SELECT coalesce(string_agg(query, ';'), '') FROM pg_stat_activity WHERE datname = 'telemetry' AND usename = 'telemetry_writer'",
          as("monitoring", "platform"),
        ),
      );
      await new Promise((r) => setTimeout(r, 50));
    }
    ok(await busy);
    // A role without pg_monitor would see "<insufficient privilege>" instead of another role's query.
    expect(seen).toContain("SELECT pg_sleep(3)");
    const data = await pg.psql("SELECT * FROM app.t", as("monitoring", "platform"));
    expect(data.stderr).toMatch(/permission denied for schema app/);
  });

  it("narrowing a schema's access in config revokes it on the next run", async () => {
    const narrowed = renderBootstrapScript({
      ...OPTIONS,
      schemas: { ...OPTIONS.schemas, tenancy: { writer: "read", reader: "none" } },
    });
    ok(await runScript(narrowed));
    const insert = await pg.psql(
      "INSERT INTO tenancy.t (id, v) VALUES (2, 'x')",
      as("app_writer", "platform"),
    );
    expect(insert.stderr).toMatch(/permission denied for table t/);
    const select = await pg.psql("SELECT * FROM tenancy.t", as("app_reader", "platform"));
    expect(select.stderr).toMatch(/permission denied for schema tenancy/);
    ok(await runScript(script));
    ok(await pg.psql("INSERT INTO tenancy.t (id, v) VALUES (2, 'x')", as("app_writer", "platform")));
  });

  it("an extension the server cannot provide fails the job, naming it and the database", async () => {
    const r = await runScript(
      renderBootstrapScript({
        ...OPTIONS,
        databases: { ...OPTIONS.databases, telemetry: { extensions: ["timescaledb"] } },
      }),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /stackport: extension\(s\) timescaledb asked for in the database telemetry not available on this server/,
    );
  });
});

describe("the managed-server variant (RDS: the master is no superuser) with an extra database", () => {
  let rds: Cluster;
  beforeAll(async () => {
    rds = await startCluster();
    // An RDS-like master: CREATEDB + CREATEROLE, owner of the application database; PostGIS (untrusted in vanilla
    // PostgreSQL, allowed to rds_superuser on RDS) created beforehand by the real superuser.
    ok(await rds.psql("CREATE ROLE rds_master LOGIN PASSWORD 'master' CREATEDB CREATEROLE"));
    ok(await rds.psql("CREATE DATABASE platform OWNER rds_master"));
    ok(
      await rds.psql('CREATE EXTENSION postgis; CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pgcrypto;', {
        db: "platform",
      }),
    );
  }, 120_000);
  afterAll(() => rds?.stop());

  it("runs twice as the master, creating the database, its roles and a trusted extension", async () => {
    const managed = renderBootstrapScript({
      database: "platform",
      monitoringUser: false,
      managedServer: true,
      databases: { events: { extensions: ["citext"] } },
    });
    const env = {
      PGHOST: "127.0.0.1",
      PGPORT: String(rds.port),
      PGUSER: "rds_master",
      PGPASSWORD: "master",
      ...Object.fromEntries(
        ["events_owner", "events_writer", "events_reader"].map((r) => [
          `${r.toUpperCase()}_PASSWORD`,
          password(r),
        ]),
      ),
    };
    for (const attempt of [1, 2]) {
      const r = await runScript(managed, env);
      expect({ attempt, code: r.code, stderr: r.stderr }).toEqual({ attempt, code: 0, stderr: "" });
    }
    expect(
      ok(await rds.psql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'events'")),
    ).toBe("events_owner");
    expect(ok(await rds.psql("SELECT current_user", { ...as("events_writer", "events") }))).toBe(
      "events_writer",
    );
    const cross = await rds.psql("SELECT 1", as("events_writer", "platform"));
    expect(cross.stderr).toMatch(/permission denied for database "platform"/);
  });
});
