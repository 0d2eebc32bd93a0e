/**
 * Seed 004's freeze + backfill against a database stackport did not create, for real: one PostgreSQL 15 cluster plays
 * Supabase — its own roles (`anon`, `authenticated`, `service_role`), its own schemas (`auth`, `storage`, `public`)
 * and tables created here, by this test, with grants to roles the target does not have — the other is a target
 * bootstrapped by stackport's own bootstrap SQL. The source's connection is a PostgreSQL URL (a stack secret in the
 * program), split by `parsePostgresUrl` into the scripts' SOURCE_* variables. The rendered copy (without the
 * source's grants, re-granted to the target's roles) and the rendered verification run between them: a faithful copy
 * verifies table by table, a single changed row on either side fails naming its table.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderBootstrapSql } from "../../components/database/bootstrapSql";
import { renderDatabaseCopyScript, renderVerifyScript } from "../../src/platform/cutover/backfill";
import { externalSourceEnvironment, parsePostgresUrl } from "../../src/platform/cutover/externalSource";
import { PG_BIN, startCluster, type Cluster, type RunResult } from "../support/postgres";
import { shellcheck, tempFile } from "../support/tools";

const DB = "platform";
const SCHEMAS = "auth public storage";
const PASSWORDS = {
  db_admin_password: "admin-Secret-1",
  app_writer_password: "writer-Secret-2",
  app_reader_password: "reader-Secret-3",
};
// The URL as `pulumi config set --secret` would hold it; the password has characters that need escaping.
const SOURCE_PASSWORD = "supa:B@se/pw%1";
const admin = { user: "db_admin", password: PASSWORDS.db_admin_password, db: DB };
const reader = { user: "app_reader", password: PASSWORDS.app_reader_password, db: DB };
const writer = { user: "app_writer", password: PASSWORDS.app_writer_password, db: DB };
const owner = { user: "supa_owner", password: SOURCE_PASSWORD, db: "postgres" };

let source: Cluster;
let target: Cluster;
let copyScript: string;
let verifyScript: string;

const ok = (r: RunResult) => {
  if (r.code !== 0) throw new Error(`psql failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
};

/** Runs a rendered script: the source from its URL, the target as `db_admin`, PostgreSQL 15's clients on PATH. */
function runScript(path: string, env: Record<string, string> = {}) {
  const url = `postgresql://supa_owner:${encodeURIComponent(SOURCE_PASSWORD)}@127.0.0.1:${source.port}/postgres`;
  const r = spawnSync("sh", [path], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      PATH: `${PG_BIN}:${process.env["PATH"]}`,
      HOME: process.env["HOME"] ?? "/tmp",
      ...externalSourceEnvironment(parsePostgresUrl(url, "stackport:secrets.supabase-db-url")),
      TARGET_HOST: "127.0.0.1",
      TARGET_PORT: String(target.port),
      TARGET_USER: "db_admin",
      TARGET_DB: DB,
      TARGET_PASSWORD: PASSWORDS.db_admin_password,
      SCHEMAS,
      READER_ROLES: "app_reader",
      WRITER_ROLES: "app_writer",
      ...env,
    },
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** A Supabase-shaped database: made here, not by stackport, with roles and grants the target has never heard of. */
const SUPABASE_SCHEMA = `
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN;
CREATE ROLE supa_owner LOGIN PASSWORD '${SOURCE_PASSWORD.replace(/'/g, "''")}';
GRANT CREATE ON DATABASE postgres TO supa_owner;
GRANT CREATE ON SCHEMA public TO supa_owner;
SET ROLE supa_owner;
CREATE SCHEMA auth;
CREATE SCHEMA storage;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text UNIQUE,
  raw_user_meta_data jsonb,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, public boolean DEFAULT false);
CREATE TABLE storage.objects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bucket_id text REFERENCES storage.buckets (id),
  name text,
  owner uuid REFERENCES auth.users (id),
  metadata jsonb,
  path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED);
CREATE TYPE public.unit_status AS ENUM ('ok', 'excursion', 'alarm_active', 'restoring');
CREATE TABLE public.units (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  status public.unit_status NOT NULL DEFAULT 'ok',
  created_by uuid REFERENCES auth.users (id));
CREATE TABLE public.sensor_readings (
  id bigserial PRIMARY KEY,
  unit_id bigint NOT NULL REFERENCES public.units (id),
  recorded_at timestamptz NOT NULL,
  temperature numeric(6, 2),
  battery real,
  raw bytea);
CREATE FUNCTION public.unit_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.units';
GRANT USAGE ON SCHEMA auth, storage TO service_role;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO anon, authenticated;
GRANT ALL ON ALL TABLES IN SCHEMA auth, storage, public TO service_role;
INSERT INTO auth.users (id, email, raw_user_meta_data, created_at) VALUES
  ('7f3c3e9a-8a7b-4f5e-9a51-3c0a4c1e2b11', 'ops@example.org', '{"role": "owner", "locale": "de"}', '2025-11-02 10:00:00+01'),
  ('0b8e2f44-1d2c-4b0a-8f0e-6a8f7a1c9d22', 'tech@example.org', NULL, '2025-12-24 18:30:00+00');
INSERT INTO storage.buckets VALUES ('reports', 'reports', false), ('avatars', 'avatars', true);
INSERT INTO storage.objects (bucket_id, name, owner, metadata) VALUES
  ('reports', '2026/01/haccp.pdf', '7f3c3e9a-8a7b-4f5e-9a51-3c0a4c1e2b11', '{"size": 48213, "mimetype": "application/pdf"}'),
  ('avatars', 'ops.png', NULL, '{"size": 912}');
INSERT INTO public.units (name, status, created_by) VALUES
  ('walk-in cooler', 'ok', '7f3c3e9a-8a7b-4f5e-9a51-3c0a4c1e2b11'),
  ('freezer 2', 'alarm_active', NULL);
INSERT INTO public.sensor_readings (unit_id, recorded_at, temperature, battery, raw)
  SELECT 1 + (i % 2), timestamptz '2026-01-01 00:00:00+00' + i * interval '5 minutes',
         round((3.5 + sin(i) * 2)::numeric, 2), 3.3 - i * 0.001, decode(md5(i::text), 'hex')
  FROM generate_series(1, 500) AS i;
RESET ROLE;
`;

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  ok(await source.psql(SUPABASE_SCHEMA));
  const bootstrap = join(target.dir, "bootstrap.sql");
  writeFileSync(bootstrap, renderBootstrapSql({ database: DB, monitoringUser: false }));
  await target.createDatabase(DB);
  ok(await target.runFile(bootstrap, PASSWORDS, { db: DB }));
  // Supabase keeps application tables in `public`, which stackport's bootstrap locks down: the target grants the
  // restoring role CREATE there (the runbook's bootstrap step for seed 004), nobody else.
  ok(await target.psql("GRANT CREATE ON SCHEMA public TO db_admin", { db: DB }));
  // The self-hosted side runs in another time zone: the verification must not care.
  ok(await target.psql(`ALTER DATABASE ${DB} SET timezone = 'America/Chicago'`, { db: DB }));
  copyScript = tempFile("external-copy.sh", renderDatabaseCopyScript({ sourceGrants: "drop" }));
  verifyScript = tempFile("external-verify.sh", renderVerifyScript());
}, 180_000);

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
});

describe("the source's URL", () => {
  it("is split into libpq's parts, escapes decoded, defaults applied", () => {
    expect(parsePostgresUrl("postgres://u%40x:p%2Fw@db.example.org/app?sslmode=require", "k")).toEqual({
      host: "db.example.org",
      port: 5432,
      user: "u@x",
      password: "p/w",
      database: "app",
    });
    expect(parsePostgresUrl("postgresql://postgres:pw@[::1]:6543", "k")).toMatchObject({
      host: "::1",
      port: 6543,
      database: "postgres",
    });
  });

  it("is refused naming the key, never echoing the URL (it holds a password)", () => {
    const key = "stackport:secrets.supabase-db-url";
    for (const [url, why] of [
      ["mysql://u:secretpw@h/db", /must start with postgresql:\/\//],
      ["postgresql://:secretpw@h/db", /names no user/],
      ["not a url secretpw", /is not a URL/],
    ] as const) {
      let message = "";
      try {
        parsePostgresUrl(url, key);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(why);
      expect(message.startsWith(`${key}: `)).toBe(true);
      expect(message).not.toContain("secretpw");
    }
  });
});

describe("the external copy script", () => {
  it("passes shellcheck with no findings", () => {
    const result = shellcheck(renderDatabaseCopyScript({ sourceGrants: "drop" }));
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  });

  it("refuses a role list that is not plain role names before touching either side", () => {
    const bad = runScript(copyScript, { READER_ROLES: "app_reader; DROP" });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("READER_ROLES and WRITER_ROLES must be lower-case role names");
  });
});

describe("freeze + backfill from a Supabase-shaped source into the bootstrapped target", () => {
  it("copies auth, storage and public without the source's roles and grants", () => {
    const copy = runScript(copyScript);
    expect(copy.stderr).toContain("backfill-copy: done");
    expect(copy.code).toBe(0);
  });

  it("the copy is readable by app_reader, writable by app_writer, and carries none of the source's grants", async () => {
    expect(
      ok(
        await target.psql(
          "SELECT u.email || ' ' || count(o.*) FROM auth.users u LEFT JOIN storage.objects o ON o.owner = u.id GROUP BY u.email ORDER BY 1",
          reader,
        ),
      ),
    ).toBe("ops@example.org 1\ntech@example.org 0");
    expect(
      ok(await target.psql("SELECT status, count(*) FROM public.units GROUP BY 1 ORDER BY 1", reader)),
    ).toBe("ok|1\nalarm_active|1");
    // The reader stays a reader on the copied schemas.
    const write = await target.psql("INSERT INTO public.units (name) VALUES ('x')", reader);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toContain("permission denied");
    // The writer (after switch) can insert, identity and serial sequences included.
    ok(
      await target.psql(
        "BEGIN; INSERT INTO public.units (name) VALUES ('probe'); INSERT INTO public.sensor_readings (unit_id, recorded_at) VALUES (1, now()); ROLLBACK",
        writer,
      ),
    );
    const grantees = ok(
      await target.psql(
        "SELECT DISTINCT grantee FROM information_schema.role_table_grants WHERE table_schema IN ('auth', 'storage', 'public') AND table_name IN ('users', 'buckets', 'objects', 'units', 'sensor_readings') ORDER BY 1",
        { db: DB },
      ),
    );
    expect(grantees.split("\n")).toEqual(["app_reader", "app_writer", "db_admin"]);
  });

  it("verification passes on the faithful copy, table by table across the three schemas", () => {
    const verify = runScript(verifyScript);
    for (const line of [
      "ok auth.users: 2 rows",
      "ok public.sensor_readings: 500 rows",
      "ok public.units: 2 rows",
      "ok storage.buckets: 2 rows",
      "ok storage.objects: 2 rows",
    ])
      expect(verify.stdout).toContain(line);
    expect(verify.stdout).not.toContain("DIFFERS");
    expect(verify.code).toBe(0);
  });

  it("a single changed row on the source after the copy fails the verification, naming that table only", async () => {
    // One JSON value of one row, as a write that slipped past the freeze would change it.
    ok(
      await source.psql(
        `UPDATE auth.users SET raw_user_meta_data = '{"role": "owner", "locale": "fr"}' WHERE email = 'ops@example.org'`,
        owner,
      ),
    );
    const verify = runScript(verifyScript);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain("DIFFERS auth.users: same row count (2), different content");
    expect(verify.stdout.match(/DIFFERS/g)).toHaveLength(1);
  });

  it("the final copy (re-run) catches up and verifies again", () => {
    expect(runScript(copyScript).code).toBe(0);
    expect(runScript(verifyScript).code).toBe(0);
  });

  it("a single tampered value on the target fails it too: one reading's battery, in the last digit", async () => {
    ok(
      await target.psql("UPDATE public.sensor_readings SET battery = battery + 0.001 WHERE id = 250", admin),
    );
    const verify = runScript(verifyScript);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain(
      "DIFFERS public.sensor_readings: same row count (500), different content",
    );
    expect(verify.stdout.match(/DIFFERS/g)).toHaveLength(1);
  });

  it("a row missing on the target and a bytea changed on the source are both named", async () => {
    expect(runScript(copyScript).code).toBe(0);
    ok(await target.psql("DELETE FROM storage.objects WHERE name = 'ops.png'", admin));
    ok(await source.psql("UPDATE public.sensor_readings SET raw = '\\x00' WHERE id = 7", owner));
    const verify = runScript(verifyScript);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toContain("DIFFERS storage.objects: 2 rows on the source, 1 on the target");
    expect(verify.stdout).toContain(
      "DIFFERS public.sensor_readings: same row count (500), different content",
    );
  });
});
