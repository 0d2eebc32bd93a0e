/**
 * The database bootstrap of seed 002 ("Database Setup"), as pure text: one idempotent SQL script and the POSIX sh
 * wrapper the one-shot job runs. Kept free of Pulumi so the SQL is tested against a real PostgreSQL + PostGIS and
 * the script against `shellcheck`.
 */
import { assertSqlIdentifier } from "../shared/formats";
import { scriptHeader } from "../shared/shell";
import { DATABASE_ROLES } from "./contract";

export interface BootstrapSqlOptions {
  /** The application database (a validated lower-case SQL identifier). */
  database: string;
  /** Create the `monitoring` role with `pg_monitor`; otherwise no monitoring user exists (seed 002). */
  monitoringUser: boolean;
  /**
   * The connecting user is a managed service's master (RDS), not a superuser: it may not change logging settings
   * or set superuser-only role attributes, and must be a member of db_admin to hand schemas to it.
   * @default false
   */
  managedServer?: boolean;
  /**
   * Create the read-only `db_backup` role (`pg_read_all_data`) that pg_dump connects as, instead of the superuser.
   * Self-managed servers only: granting `pg_read_all_data` and `BYPASSRLS` needs a superuser.
   * @default false
   */
  backupUser?: boolean;
}

/**
 * Key of the transaction-level advisory lock every bootstrap run takes first, so concurrent runs (two `pulumi up`s,
 * a retried job) serialize instead of racing on `CREATE EXTENSION`/`CREATE ROLE`. Arbitrary but fixed forever.
 */
export const BOOTSTRAP_LOCK_KEY = 7_402_113_002;

/** The row the bootstrap records in `audit.seed_history`; bump when the bootstrap's meaning changes. */
export const BOOTSTRAP_SEED_VERSION = "stackport-bootstrap-1";

export const REQUIRED_EXTENSIONS = ["postgis", "uuid-ossp", "pgcrypto"] as const;
export const SCHEMAS = ["app", "audit"] as const;
export const MONITORING_ROLE = "monitoring";
/** The read-only role pg_dump connects as (`backupUser`). */
export const BACKUP_ROLE = "db_backup";

/**
 * psql variable holding a role's password inside the script. psql fills it from the environment with `\getenv`
 * (psql 15+; the images ship 15 and later), never from `-v name=value`: command-line arguments are readable by every
 * local user in `/proc/<pid>/cmdline` while the job runs.
 */
export const passwordVariable = (role: string) => `${role}_password`;
/** Environment variable the job reads that password from (`DB_ADMIN_PASSWORD`). */
export const passwordEnv = (role: string) => `${role.toUpperCase()}_PASSWORD`;

/** The login roles the bootstrap manages, in creation order. */
export function bootstrapRoles(monitoringUser: boolean, backupUser = false): string[] {
  return [
    ...DATABASE_ROLES,
    ...(monitoringUser ? [MONITORING_ROLE] : []),
    ...(backupUser ? [BACKUP_ROLE] : []),
  ];
}

const sqlLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
const sqlIdent = (value: string) => `"${value.replace(/"/g, '""')}"`;

/** A non-superuser master (RDS) can only hand a schema to a role it is a member of. */
const MANAGED_MASTER_MEMBERSHIP = "\nGRANT db_admin TO CURRENT_USER;";

/**
 * Sets each role's login and password. On a self-managed server, statement logging is switched off around them
 * (passwords stay out of the server log) and superuser-only attributes are pinned off; a managed server's master
 * may do neither, so there the provider's own logging settings apply.
 */
function passwordStatements(roles: string[], managedServer: boolean): string {
  // pg_dump refuses a table with row security unless its role bypasses it: the backup role must see every row.
  const rls = (r: string) => (r === BACKUP_ROLE ? "BYPASSRLS" : "NOBYPASSRLS");
  const attributes = (r: string) =>
    managedServer
      ? "LOGIN NOCREATEDB NOCREATEROLE"
      : `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION ${rls(r)}`;
  const alter = roles.map((r) => `ALTER ROLE ${r} WITH ${attributes(r)} PASSWORD :'${passwordVariable(r)}';`);
  if (managedServer) return alter.join("\n");
  return [
    "-- Keep the passwords out of the server log even when log_statement is on.",
    "SET LOCAL log_statement = 'none';",
    "SET LOCAL log_min_duration_statement = -1;",
    ...alter,
    "RESET log_statement;",
    "RESET log_min_duration_statement;",
  ].join("\n");
}

/**
 * The bootstrap SQL. Run with `psql -v ON_ERROR_STOP=1 --single-transaction` with each role's password in its
 * `<ROLE>_PASSWORD` environment variable: passwords never appear in this text (it is uploaded into a container and
 * shown in plans) nor in psql's arguments.
 */
export function renderBootstrapSql(opts: BootstrapSqlOptions): string {
  assertSqlIdentifier(opts.database, "database name");
  if (opts.backupUser && opts.managedServer)
    throw new Error(
      "the backup role needs a self-managed server (pg_read_all_data and BYPASSRLS need a superuser)",
    );
  const db = sqlIdent(opts.database);
  const roles = bootstrapRoles(opts.monitoringUser, opts.backupUser);

  const sections: string[] = [
    `-- Rendered by stackport: database bootstrap (seed 002). Idempotent; run with
-- psql -v ON_ERROR_STOP=1 --single-transaction and ${roles.map(passwordEnv).join(", ")} in the environment.

-- Serialize concurrent runs: the second waits here until the first commits, then finds everything in place.
SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY});
-- Re-runs are the normal case: "already exists, skipping" notices are noise in the job log.
SET LOCAL client_min_messages = warning;`,

    // Passwords come from the environment, never from psql's arguments (readable by anyone in /proc). An unset
    // variable would otherwise be sent as the literal text ":'x_password'" and fail with an unreadable syntax error.
    roles
      .map(
        (r) => `\\getenv ${passwordVariable(r)} ${passwordEnv(r)}
\\if :{?${passwordVariable(r)}}
\\else
DO $$ BEGIN RAISE EXCEPTION 'stackport: environment variable ${passwordEnv(r)} is not set'; END $$;
\\endif`,
      )
      .join("\n"),

    `DO $$
BEGIN
  IF current_database() <> ${sqlLiteral(opts.database)} THEN
    RAISE EXCEPTION 'stackport: bootstrap for database ${opts.database} run against %', current_database();
  END IF;
END
$$;`,

    `-- Extensions (the PostGIS image may already have created postgis in this database).
${REQUIRED_EXTENSIONS.map((e) => `CREATE EXTENSION IF NOT EXISTS ${sqlIdent(e)};`).join("\n")}`,

    `-- Roles. psql does not expand :'variables' inside DO bodies, so creation and passwords are separate statements.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY[${roles.map(sqlLiteral).join(", ")}] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I', r);
    END IF;
  END LOOP;
END
$$;
${passwordStatements(roles, opts.managedServer ?? false)}`,

    `-- Schemas, owned by the migration role.${opts.managedServer ? MANAGED_MASTER_MEMBERSHIP : ""}
${SCHEMAS.map((s) => `CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION db_admin;\nALTER SCHEMA ${s} OWNER TO db_admin;`).join("\n")}`,

    `-- Lock the database down: nobody but the managed roles connects, nobody creates in public.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE ${db} FROM PUBLIC;
GRANT CONNECT ON DATABASE ${db} TO ${roles.join(", ")};
-- Migrations may add schemas.
GRANT CREATE ON DATABASE ${db} TO db_admin;`,

    `-- app_writer: CRUD and function execution in app; no CREATE anywhere, nothing in audit.
GRANT USAGE ON SCHEMA app TO app_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA app TO app_writer;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA app TO app_writer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app TO app_writer;
-- Tables the migrations (db_admin) create later are covered too.
ALTER DEFAULT PRIVILEGES FOR ROLE db_admin IN SCHEMA app GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE db_admin IN SCHEMA app GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO app_writer;
ALTER DEFAULT PRIVILEGES FOR ROLE db_admin IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO app_writer;

-- Functions are executable by PUBLIC by default; here only app_writer (and the owner) may run them.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA app FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE db_admin REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- app_reader: read-only in app, now and later.
GRANT USAGE ON SCHEMA app TO app_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO app_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE db_admin IN SCHEMA app GRANT SELECT ON TABLES TO app_reader;`,

    `-- Seed versions (seed 002 step 4), append-only by convention; readers may see what was applied.
CREATE TABLE IF NOT EXISTS audit.seed_history (
  version text PRIMARY KEY,
  description text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE audit.seed_history OWNER TO db_admin;
GRANT USAGE ON SCHEMA audit TO app_reader;
GRANT SELECT ON audit.seed_history TO app_reader;
INSERT INTO audit.seed_history (version, description)
VALUES (${sqlLiteral(BOOTSTRAP_SEED_VERSION)}, 'stackport bootstrap: extensions, roles, schemas, privileges')
ON CONFLICT (version) DO NOTHING;`,

    opts.monitoringUser
      ? `-- Monitoring, explicitly enabled (stackport:database.monitoringUser).
GRANT pg_monitor TO ${MONITORING_ROLE};`
      : "-- No monitoring role: stackport:database.monitoringUser is off (seed 002: no implicit monitoring users).",

    opts.backupUser
      ? `-- Backups: pg_dump reads every table, sequence and schema through pg_read_all_data and may write nothing (no
-- grant to write, no CREATE anywhere, no TEMPORARY); its sessions also start read-only.
GRANT pg_read_all_data TO ${BACKUP_ROLE};
ALTER ROLE ${BACKUP_ROLE} SET default_transaction_read_only = on;`
      : "-- No backup role: backups are off or the server is managed (RDS backs itself up).",

    `-- Readiness: fail the whole transaction if anything the application relies on is missing.
DO $$
DECLARE
  missing text[] := ARRAY[]::text[];
  x text;
BEGIN
  FOREACH x IN ARRAY ARRAY[${REQUIRED_EXTENSIONS.map(sqlLiteral).join(", ")}] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = x) THEN
      missing := missing || ('extension ' || x);
    END IF;
  END LOOP;
  FOREACH x IN ARRAY ARRAY[${SCHEMAS.map(sqlLiteral).join(", ")}] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = x) THEN
      missing := missing || ('schema ' || x);
    END IF;
  END LOOP;
  FOREACH x IN ARRAY ARRAY[${roles.map(sqlLiteral).join(", ")}] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = x AND rolcanlogin) THEN
      missing := missing || ('login role ' || x);
    END IF;
  END LOOP;
  IF to_regclass('audit.seed_history') IS NULL THEN
    missing := missing || 'table audit.seed_history'::text;
  END IF;${
    opts.monitoringUser
      ? `
  IF NOT EXISTS (
    SELECT FROM pg_catalog.pg_auth_members m
    JOIN pg_catalog.pg_roles member ON member.oid = m.member
    JOIN pg_catalog.pg_roles grp ON grp.oid = m.roleid
    WHERE member.rolname = ${sqlLiteral(MONITORING_ROLE)} AND grp.rolname = 'pg_monitor'
  ) THEN
    missing := missing || 'pg_monitor membership of monitoring'::text;
  END IF;`
      : ""
  }${
    opts.backupUser
      ? `
  IF NOT pg_has_role(${sqlLiteral(BACKUP_ROLE)}, 'pg_read_all_data', 'MEMBER') THEN
    missing := missing || 'pg_read_all_data membership of ${BACKUP_ROLE}'::text;
  END IF;`
      : ""
  }
  IF cardinality(missing) > 0 THEN
    RAISE EXCEPTION 'stackport: database not ready, missing: %', array_to_string(missing, ', ');
  END IF;
END
$$;`,
  ];
  return sections.join("\n\n") + "\n";
}

/** Heredoc delimiter for the embedded SQL; the SQL never contains it as a line. */
const SQL_EOF = "STACKPORT_BOOTSTRAP_SQL";

/**
 * The one-shot job's script. Connection settings come from the standard libpq environment
 * (PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE), role passwords from `<ROLE>_PASSWORD`; the SQL is embedded as a
 * quoted heredoc so the shell expands nothing in it.
 */
export function renderBootstrapScript(opts: BootstrapSqlOptions): string {
  const sql = renderBootstrapSql(opts);
  if (sql.split("\n").includes(SQL_EOF))
    throw new Error("internal: bootstrap SQL contains the heredoc delimiter");
  const roles = bootstrapRoles(opts.monitoringUser, opts.backupUser);
  const lines = [
    ...roles.map((r) => `: "\${${passwordEnv(r)}:?must be set}"`),
    ': "${PGHOST:?must be set}" "${PGUSER:?must be set}" "${PGPASSWORD:?must be set}" "${PGDATABASE:?must be set}"',
    "",
    // Over TCP on purpose: during first start the image runs a socket-only temporary server, which a socket
    // check (the container healthcheck) can mistake for the real one.
    'echo "stackport: waiting for PostgreSQL at ${PGHOST}:${PGPORT:-5432}"',
    "attempt=0",
    "until pg_isready -q -t 5; do",
    "  attempt=$((attempt + 1))",
    '  if [ "$attempt" -ge 60 ]; then',
    '    echo "stackport: PostgreSQL at ${PGHOST}:${PGPORT:-5432} not ready after 60 attempts (about 2-7 minutes)" >&2',
    "    exit 1",
    "  fi",
    "  sleep 2",
    "done",
    "",
    `echo "stackport: bootstrapping database \${PGDATABASE}"`,
    // No password here: the SQL reads each from its environment variable (\\getenv).
    `psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f - <<'${SQL_EOF}'`,
    sql.replace(/\n$/, ""),
    SQL_EOF,
    'echo "stackport: database bootstrap complete"',
    "",
  ];
  return (
    scriptHeader("bootstrap the PostgreSQL + PostGIS database (roles, schemas, extensions)") +
    lines.join("\n")
  );
}
