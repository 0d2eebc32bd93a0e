/**
 * The cutover backfill for real: two PostgreSQL 15 + PostGIS clusters, both bootstrapped with the platform's own
 * bootstrap SQL (same roles, schemas, extensions — as the source and target tiers would be), PostGIS data in the
 * source, the rendered copy script run as `db_admin` over TCP, then the rendered verification: it passes on a
 * faithful copy and fails naming the table when one row is tampered with. Every script passes shellcheck.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderBootstrapSql } from "../../components/database/bootstrapSql";
import { renderDatabaseCopyScript, renderVerifyScript } from "../../src/platform/cutover/backfill";
import { PG_BIN, startCluster, type Cluster, type RunResult } from "../support/postgres";
import { shellcheck, tempFile } from "../support/tools";

const DB = "platform";
const PASSWORDS = {
  db_admin_password: "admin-Secret-1",
  app_writer_password: "writer-Secret-2",
  app_reader_password: "reader-Secret-3",
};
const admin = { user: "db_admin", password: PASSWORDS.db_admin_password, db: DB };

let source: Cluster;
let target: Cluster;
let copyScript: string;
let verifyScript: string;

const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`psql failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
};

/** Runs a rendered script with the two clusters as SOURCE and TARGET, the PostgreSQL 15 clients first on PATH. */
function runScript(path: string, env: Record<string, string> = {}) {
  const side = (prefix: string, c: Cluster) => ({
    [`${prefix}_HOST`]: "127.0.0.1",
    [`${prefix}_PORT`]: String(c.port),
    [`${prefix}_USER`]: "db_admin",
    [`${prefix}_DB`]: DB,
    [`${prefix}_PASSWORD`]: PASSWORDS.db_admin_password,
  });
  const r = spawnSync("sh", [path], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      PATH: `${PG_BIN}:${process.env["PATH"]}`,
      HOME: process.env["HOME"] ?? "/tmp",
      ...side("SOURCE", source),
      ...side("TARGET", target),
      ...env,
    },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  const bootstrap = join(source.dir, "bootstrap.sql");
  writeFileSync(bootstrap, renderBootstrapSql({ database: DB, monitoringUser: false }));
  for (const c of [source, target]) {
    await c.createDatabase(DB);
    ok(await c.runFile(bootstrap, PASSWORDS, { db: DB }));
  }
  // Application data as the migration role would create it: PostGIS geometries, time stamps, floats, NULLs.
  ok(
    await source.psql(
      `CREATE TABLE app.stations (
         id bigserial PRIMARY KEY, name text NOT NULL, geom geometry(Point, 4326),
         observed timestamptz, reading double precision, tags text[]);
       CREATE TABLE app.regions (id int PRIMARY KEY, name text NOT NULL, area geometry(Polygon, 4326));
       CREATE TABLE app.empty_log (id int);
       INSERT INTO app.stations (name, geom, observed, reading, tags) VALUES
         ('Kiel', ST_SetSRID(ST_MakePoint(10.1228, 54.3233), 4326), '2026-03-01 08:30:00+01', 0.1 + 0.2, '{coast,"sea level"}'),
         ('Zürich', ST_SetSRID(ST_MakePoint(8.5417, 47.3769), 4326), '2026-03-01 09:00:00+00', -3.5e-7, NULL),
         ('no position', NULL, NULL, NULL, '{}');
       INSERT INTO app.regions VALUES
         (1, 'north', ST_GeomFromText('POLYGON((9 53,11 53,11 55,9 55,9 53))', 4326)),
         (2, 'south', ST_GeomFromText('POLYGON((7 47,10 47,10 48,7 48,7 47))', 4326));`,
      admin,
    ),
  );
  // The target server renders time stamps in another zone: the verification must not care.
  ok(await target.psql(`ALTER DATABASE ${DB} SET timezone = 'Asia/Tokyo'`, { db: DB }));
  copyScript = tempFile("backfill-copy.sh", renderDatabaseCopyScript());
  verifyScript = tempFile("backfill-verify.sh", renderVerifyScript());
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe("rendered scripts", () => {
  it.each([
    ["copy", renderDatabaseCopyScript()],
    ["verify", renderVerifyScript()],
  ])("the %s script passes shellcheck with no findings", (_name, script) => {
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });
});

describe("database backfill between two real PostgreSQL + PostGIS clusters", () => {
  it("copies the app schema with its data, PostGIS geometries and grants", () => {
    const copy = runScript(copyScript);
    expect(copy.stderr).toContain("backfill-copy: done");
    expect(copy.code).toBe(0);
  });

  it("the copy is usable on the target: same geometries, and app_reader may read it", async () => {
    const read = { user: "app_reader", password: PASSWORDS.app_reader_password, db: DB };
    expect(
      ok(
        await target.psql(
          "SELECT string_agg(name || ' ' || coalesce(ST_AsText(geom), '-'), ';' ORDER BY id) FROM app.stations",
          read,
        ),
      ),
    ).toBe("Kiel POINT(10.1228 54.3233);Zürich POINT(8.5417 47.3769);no position -");
  });

  it("verification passes on the faithful copy and lists every compared table", () => {
    const verify = runScript(verifyScript);
    expect(verify.stdout).toContain("ok app.stations: 3 rows");
    expect(verify.stdout).toContain("ok app.regions: 2 rows");
    expect(verify.stdout).toContain("ok app.empty_log: 0 rows");
    expect(verify.stdout).not.toContain("spatial_ref_sys");
    expect(verify.code).toBe(0);
  });

  it("re-runs as the final backfill: new source rows replace the initial copy, verification passes", async () => {
    ok(
      await source.psql(
        "INSERT INTO app.empty_log VALUES (1), (2); UPDATE app.regions SET name = 'nord' WHERE id = 1",
        admin,
      ),
    );
    expect(runScript(verifyScript).code).toBe(1);
    expect(runScript(copyScript).code).toBe(0);
    const verify = runScript(verifyScript);
    expect(verify.stdout).toContain("ok app.empty_log: 2 rows");
    expect(verify.code).toBe(0);
  });

  it("fails when one row is tampered with on the target, and names exactly that table", async () => {
    ok(await target.psql("UPDATE app.stations SET reading = reading + 1e-12 WHERE name = 'Kiel'", admin));
    const verify = runScript(verifyScript);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain("DIFFERS app.stations: same row count (3), different content");
    expect(verify.stdout.match(/DIFFERS/g)).toHaveLength(1);
    expect(verify.stderr).toContain("the target does not match the source");
  });

  it("names a table whose row count differs and a table missing on the target", async () => {
    ok(await target.psql("DELETE FROM app.regions WHERE id = 2; DROP TABLE app.empty_log", admin));
    const verify = runScript(verifyScript);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain("DIFFERS app.regions: 2 rows on the source, 1 on the target");
    expect(verify.stdout).toContain("DIFFERS app.empty_log: missing on the target (2 rows on the source)");
  });

  it("exits 2 when a side cannot be read, 1 when there is nothing to compare, 64 on a bad schema list", () => {
    expect(runScript(verifyScript, { TARGET_PASSWORD: "wrong" }).code).toBe(2);
    const nothing = runScript(verifyScript, { SCHEMAS: "nosuchschema" });
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain("nothing was verified");
    const bad = runScript(copyScript, { SCHEMAS: "app; DROP" });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("SCHEMAS must be lower-case schema names");
  });

  it("a failed restore leaves the target as it was (one transaction)", async () => {
    const before = ok(await target.psql("SELECT count(*) FROM app.regions", admin));
    // A source table owned by a role the target lacks a grant for still restores (--no-owner); a grant to a
    // role the target does not have cannot: the restore must fail and roll back as a whole.
    ok(
      await source.psql("CREATE ROLE only_on_source; GRANT SELECT ON app.regions TO only_on_source", {
        db: DB,
      }),
    );
    const copy = runScript(copyScript);
    expect(copy.code).toBe(1);
    expect(copy.stderr).toContain("pg_restore failed and was rolled back");
    expect(ok(await target.psql("SELECT count(*) FROM app.regions", admin))).toBe(before);
    ok(
      await source.psql("REVOKE SELECT ON app.regions FROM only_on_source; DROP ROLE only_on_source", {
        db: DB,
      }),
    );
  });
});
