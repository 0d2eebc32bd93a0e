/**
 * The database bootstrap of seed 002 ("Database Setup"), as pure text: idempotent SQL and the POSIX sh wrapper the
 * one-shot job runs. Kept free of Pulumi so the SQL is tested against a real PostgreSQL + PostGIS and the script
 * against `shellcheck`.
 *
 * The job runs up to three kinds of psql session, each serialized by the same advisory lock key:
 * 1. the application database, in one transaction: every role of the cluster (also those of the extra databases),
 *    its extensions, schemas and grants, and a readiness check (`renderBootstrapSql`);
 * 2. when there are extra databases, `CREATE DATABASE` for those missing (it cannot run inside a transaction, so
 *    this session holds the lock at session level) (`renderCreateDatabasesSql`);
 * 3. each extra database, in one transaction: its extensions, schemas, grants and readiness (`renderDatabaseSql`).
 * Advisory locks are per database, so (1) and (2) share one lock and each extra database has its own.
 */
import { SQL_IDENTIFIER, assertSqlIdentifier } from "../shared/formats";
import { scriptHeader, shQuote } from "../shared/shell";
import { DATABASE_ROLES, databaseRoleName } from "./contract";

/** What a managed role may do in a schema: `write` (CRUD, sequences, functions), `read` (SELECT) or `none`. */
export type SchemaGrant = "write" | "read" | "none";

/** The writer's and the reader's access to one schema; the database's owner role owns it. */
export interface SchemaAccess {
  /** @default "write" */
  writer?: SchemaGrant;
  /** @default "read" */
  reader?: Exclude<SchemaGrant, "write">;
}

/** An extra database: owned by `<name>_owner`, used by `<name>_writer` and `<name>_reader`. */
export interface ExtraDatabaseOptions {
  /** Its schemas and who may do what in them. @default { app: {} } */
  schemas?: Record<string, SchemaAccess>;
  /** Extensions created in it (nothing else is). @default [] */
  extensions?: string[];
}

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
  /** Extensions created in the application database besides `REQUIRED_EXTENSIONS`. @default [] */
  extensions?: string[];
  /** Schemas of the application database besides `app` and `audit`, owned by db_admin. @default {} */
  schemas?: Record<string, SchemaAccess>;
  /** Extra databases, each with its own owner, writer and reader roles. @default {} */
  databases?: Record<string, ExtraDatabaseOptions>;
}

/**
 * Key of the advisory lock every bootstrap session takes first, so concurrent runs (two `pulumi up`s, a retried job)
 * serialize instead of racing on `CREATE EXTENSION`/`CREATE ROLE`/`CREATE DATABASE`. Arbitrary but fixed forever.
 */
export const BOOTSTRAP_LOCK_KEY = 7_402_113_002;

/** The row the bootstrap records in `audit.seed_history`; bump when the bootstrap's meaning changes. */
export const BOOTSTRAP_SEED_VERSION = "stackport-bootstrap-1";

export const REQUIRED_EXTENSIONS = ["postgis", "uuid-ossp", "pgcrypto"] as const;
export const SCHEMAS = ["app", "audit"] as const;
export const MONITORING_ROLE = "monitoring";
/** The read-only role pg_dump connects as (`backupUser`). */
export const BACKUP_ROLE = "db_backup";
/** An extra database's schemas when none are given. */
export const DEFAULT_EXTRA_SCHEMAS: Record<string, SchemaAccess> = { app: {} };

/** An extension's name as `CREATE EXTENSION` takes it (`uuid-ossp` has a hyphen). */
export const EXTENSION_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
/** Databases and schemas no configuration may name: PostgreSQL's own and the application database's fixed ones. */
export const RESERVED_DATABASES = ["postgres", "template0", "template1"] as const;
export const RESERVED_SCHEMAS = ["public", "information_schema", ...SCHEMAS] as const;

/**
 * psql variable holding a role's password inside the script. psql fills it from the environment with `\getenv`
 * (psql 15+; the images ship 15 and later), never from `-v name=value`: command-line arguments are readable by every
 * local user in `/proc/<pid>/cmdline` while the job runs.
 */
export const passwordVariable = (role: string) => `${role}_password`;
/** Environment variable the job reads that password from (`DB_ADMIN_PASSWORD`). */
export const passwordEnv = (role: string) => `${role.toUpperCase()}_PASSWORD`;

/** An extra database's three login roles, in creation order. */
export const extraDatabaseRoles = (database: string) =>
  (["owner", "writer", "reader"] as const).map((r) => databaseRoleName(database, r));

/** The login roles the bootstrap manages, in creation order. */
export function bootstrapRoles(
  opts: Pick<BootstrapSqlOptions, "monitoringUser" | "backupUser" | "databases">,
): string[] {
  return [
    ...DATABASE_ROLES,
    ...(opts.monitoringUser ? [MONITORING_ROLE] : []),
    ...(opts.backupUser ? [BACKUP_ROLE] : []),
    ...Object.keys(opts.databases ?? {})
      .sort()
      .flatMap(extraDatabaseRoles),
  ];
}

/**
 * What is wrong with the bootstrap's names (empty when valid), by option path: identifiers, reserved names, and role
 * names that would collide (an extra database `app` would own `app_writer`, the application database's role).
 */
export function bootstrapIssues(
  opts: Pick<BootstrapSqlOptions, "database" | "extensions" | "schemas" | "databases">,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const issue = (path: string, message: string) => issues.push({ path, message });
  const extensions = (path: string, list: string[] | undefined) =>
    (list ?? []).forEach((e, i) => {
      if (!EXTENSION_NAME.test(e))
        issue(`${path}[${i}]`, `'${e}' is not an extension name (lower-case letters, digits, '_' or '-')`);
    });
  const schemas = (
    path: string,
    map: Record<string, SchemaAccess> | undefined,
    reserved: readonly string[],
  ) => {
    for (const [name, access] of Object.entries(map ?? {})) {
      if (!SQL_IDENTIFIER.test(name) || name.startsWith("pg_"))
        issue(`${path}.${name}`, "must be a lower-case SQL identifier not starting with pg_");
      else if (reserved.includes(name))
        issue(
          `${path}.${name}`,
          `'${name}' is reserved (${reserved.join(", ")} are managed by the bootstrap)`,
        );
      if (access.writer !== undefined && !["write", "read", "none"].includes(access.writer))
        issue(`${path}.${name}.writer`, "must be write, read or none");
      if (access.reader !== undefined && !["read", "none"].includes(access.reader))
        issue(`${path}.${name}.reader`, "must be read or none (readers never write)");
    }
  };
  extensions("extensions", opts.extensions);
  schemas("schemas", opts.schemas, RESERVED_SCHEMAS);
  const fixedRoles = new Set<string>([...DATABASE_ROLES, MONITORING_ROLE, BACKUP_ROLE]);
  for (const [name, db] of Object.entries(opts.databases ?? {})) {
    const path = `databases.${name}`;
    // `<name>_owner` must stay within PostgreSQL's 63-byte identifiers.
    if (!/^[a-z_][a-z0-9_]{0,56}$/.test(name))
      issue(path, "must be a lower-case SQL identifier of at most 57 characters (its roles add _owner)");
    else if (name === opts.database || (RESERVED_DATABASES as readonly string[]).includes(name))
      issue(path, `'${name}' is the application database or PostgreSQL's own`);
    else if (extraDatabaseRoles(name).some((r) => fixedRoles.has(r)))
      issue(path, `its roles (${extraDatabaseRoles(name).join(", ")}) would collide with the fixed roles`);
    extensions(`${path}.extensions`, db.extensions);
    schemas(`${path}.schemas`, db.schemas, ["public", "information_schema"]);
  }
  const roles = Object.keys(opts.databases ?? {}).flatMap(extraDatabaseRoles);
  const duplicate = roles.find((r, i) => roles.indexOf(r) !== i);
  if (duplicate) issue("databases", `two databases would both create the role ${duplicate}`);
  return issues;
}

const sqlLiteral = (value: string) => `'${value.replace(/'/g, "''")}'`;
const sqlIdent = (value: string) => `"${value.replace(/"/g, '""')}"`;
const sqlArray = (values: readonly string[]) => `ARRAY[${values.map(sqlLiteral).join(", ")}]::text[]`;

/** A non-superuser master (RDS) can only hand a schema or a database to a role it is a member of. */
const managedMasterMembership = (owners: string[]) =>
  owners.map((owner) => `\nGRANT ${owner} TO CURRENT_USER;`).join("");

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
 * Extensions, each checked first against what the server can install: a missing one fails the run naming it, not
 * with CREATE EXTENSION's "could not open extension control file".
 */
function extensionStatements(extensions: readonly string[], where: string): string {
  if (extensions.length === 0) return `-- No extensions in ${where}.`;
  return `-- Extensions (the PostGIS image may already have created postgis in the application database).
DO $$
DECLARE
  missing text[] := ARRAY(SELECT x FROM unnest(${sqlArray(extensions)}) AS x
                          WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = x));
BEGIN
  IF cardinality(missing) > 0 THEN
    RAISE EXCEPTION 'stackport: extension(s) % asked for in ${where} not available on this server: its image (or service) does not provide them', array_to_string(missing, ', ');
  END IF;
END
$$;
${extensions.map((e) => `CREATE EXTENSION IF NOT EXISTS ${sqlIdent(e)};`).join("\n")}`;
}

/**
 * One schema owned by `owner`, with the configured access for the writer and the reader; objects the owner creates
 * later get the same grants through default privileges. Access narrower than the default (`writer: read|none`,
 * `reader: none`) first revokes what the role had (in the same transaction), so narrowing the config narrows the
 * grants on the next run; at the default, grants are only added, so extra grants a migration made stay.
 */
function schemaStatements(
  schema: string,
  roles: { owner: string; writer: string; reader: string },
  access: SchemaAccess,
): string {
  const s = sqlIdent(schema);
  const { owner } = roles;
  const lines = [
    `CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION ${owner};`,
    `ALTER SCHEMA ${s} OWNER TO ${owner};`,
    `REVOKE ALL ON SCHEMA ${s} FROM PUBLIC;`,
    // Functions are executable by PUBLIC by default; here only the writer (and the owner) may run them.
    `REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} FROM PUBLIC;`,
  ];
  const defaults = `ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${s}`;
  const grant = (role: string, level: SchemaGrant, byDefault: SchemaGrant) => {
    if (level !== byDefault)
      lines.push(
        `REVOKE ALL ON SCHEMA ${s} FROM ${role};`,
        `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${role};`,
        `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${role};`,
        `REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ${s} FROM ${role};`,
        `${defaults} REVOKE ALL ON TABLES FROM ${role};`,
        `${defaults} REVOKE ALL ON SEQUENCES FROM ${role};`,
        `${defaults} REVOKE ALL ON FUNCTIONS FROM ${role};`,
      );
    if (level === "none") return;
    lines.push(`GRANT USAGE ON SCHEMA ${s} TO ${role};`);
    if (level === "read") {
      lines.push(
        `GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${role};`,
        `${defaults} GRANT SELECT ON TABLES TO ${role};`,
      );
      return;
    }
    lines.push(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${role};`,
      `GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA ${s} TO ${role};`,
      `GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ${s} TO ${role};`,
      `${defaults} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${role};`,
      `${defaults} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${role};`,
      `${defaults} GRANT EXECUTE ON FUNCTIONS TO ${role};`,
    );
  };
  grant(roles.writer, access.writer ?? "write", "write");
  grant(roles.reader, access.reader ?? "read", "read");
  return `-- Schema ${schema}: writer ${access.writer ?? "write"}, reader ${access.reader ?? "read"}.\n${lines.join("\n")}`;
}

/** The lock every session takes first (see the file's header). */
const LOCK = (scope: "xact" | "session") =>
  `SELECT pg_advisory${scope === "xact" ? "_xact" : ""}_lock(${BOOTSTRAP_LOCK_KEY});`;

const guardDatabase = (database: string) => `DO $$
BEGIN
  IF current_database() <> ${sqlLiteral(database)} THEN
    RAISE EXCEPTION 'stackport: bootstrap for database ${database} run against %', current_database();
  END IF;
END
$$;`;

/** A readiness check failing the transaction, with its message listing everything missing. */
function readiness(checks: {
  extensions: readonly string[];
  schemas: readonly string[];
  roles: string[];
  extra?: string;
}) {
  return `-- Readiness: fail the whole transaction if anything the application relies on is missing.
DO $$
DECLARE
  missing text[] := ARRAY[]::text[];
  x text;
BEGIN
  FOREACH x IN ARRAY ${sqlArray(checks.extensions)} LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = x) THEN
      missing := missing || ('extension ' || x);
    END IF;
  END LOOP;
  FOREACH x IN ARRAY ${sqlArray(checks.schemas)} LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace WHERE nspname = x) THEN
      missing := missing || ('schema ' || x);
    END IF;
  END LOOP;
  FOREACH x IN ARRAY ${sqlArray(checks.roles)} LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = x AND rolcanlogin) THEN
      missing := missing || ('login role ' || x);
    END IF;
  END LOOP;${checks.extra ?? ""}
  IF cardinality(missing) > 0 THEN
    RAISE EXCEPTION 'stackport: database not ready, missing: %', array_to_string(missing, ', ');
  END IF;
END
$$;`;
}

/** The database-level lock-down: nobody but the database's own roles connects, nobody creates in public. */
const connectStatements = (database: string, roles: string[]) => `REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CONNECT, TEMPORARY ON DATABASE ${sqlIdent(database)} FROM PUBLIC;
GRANT CONNECT ON DATABASE ${sqlIdent(database)} TO ${roles.join(", ")};`;

/**
 * The application database's bootstrap SQL, and every role of the cluster. Run with `psql -v ON_ERROR_STOP=1
 * --single-transaction` with each role's password in its `<ROLE>_PASSWORD` environment variable: passwords never
 * appear in this text (it is uploaded into a container and shown in plans) nor in psql's arguments.
 */
export function renderBootstrapSql(opts: BootstrapSqlOptions): string {
  assertSqlIdentifier(opts.database, "database name");
  const problems = bootstrapIssues(opts);
  if (problems.length > 0)
    throw new Error(`bootstrap options: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  if (opts.backupUser && opts.managedServer)
    throw new Error(
      "the backup role needs a self-managed server (pg_read_all_data and BYPASSRLS need a superuser)",
    );
  const db = sqlIdent(opts.database);
  const roles = bootstrapRoles(opts);
  const ownRoles = bootstrapRoles({
    monitoringUser: opts.monitoringUser,
    backupUser: opts.backupUser ?? false,
  });
  const extensions = [...new Set([...REQUIRED_EXTENSIONS, ...(opts.extensions ?? [])])];
  const extraSchemas = Object.entries(opts.schemas ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const extraOwners = Object.keys(opts.databases ?? {})
    .sort()
    .map((d) => databaseRoleName(d, "owner"));
  const managed = opts.managedServer ?? false;
  const appRoles = { owner: "db_admin", writer: "app_writer", reader: "app_reader" };

  const sections: string[] = [
    `-- Rendered by stackport: database bootstrap (seed 002). Idempotent; run with
-- psql -v ON_ERROR_STOP=1 --single-transaction and ${roles.map(passwordEnv).join(", ")} in the environment.

-- Serialize concurrent runs: the second waits here until the first commits, then finds everything in place.
${LOCK("xact")}
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

    guardDatabase(opts.database),

    extensionStatements(extensions, `the database ${opts.database}`),

    `-- Roles (every database's: roles belong to the cluster). psql does not expand :'variables' inside DO bodies, so
-- creation and passwords are separate statements.
DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ${sqlArray(roles)} LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I', r);
    END IF;
  END LOOP;
END
$$;
${passwordStatements(roles, managed)}`,

    `-- Schemas, owned by the migration role.${managed ? managedMasterMembership(["db_admin", ...extraOwners]) : ""}
${SCHEMAS.map((s) => `CREATE SCHEMA IF NOT EXISTS ${s} AUTHORIZATION db_admin;\nALTER SCHEMA ${s} OWNER TO db_admin;`).join("\n")}`,

    `-- Lock the database down: nobody but its own roles connects (an extra database's roles neither), nobody
-- creates in public.
REVOKE ALL ON SCHEMA audit FROM PUBLIC;
${connectStatements(opts.database, ownRoles)}
-- Migrations may add schemas.
GRANT CREATE ON DATABASE ${db} TO db_admin;
ALTER DEFAULT PRIVILEGES FOR ROLE db_admin REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;`,

    `-- app_writer: CRUD and function execution in app; no CREATE anywhere, nothing in audit.
-- app_reader: read-only in app, now and later.
${schemaStatements("app", appRoles, {})}`,

    ...extraSchemas.map(([schema, access]) => schemaStatements(schema, appRoles, access)),

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
      ? `-- Monitoring, explicitly enabled (stackport:database.monitoringUser): the statistics of the whole server
-- (pg_monitor), no data.
GRANT pg_monitor TO ${MONITORING_ROLE};`
      : "-- No monitoring role: stackport:database.monitoringUser is off (seed 002: no implicit monitoring users).",

    opts.backupUser
      ? `-- Backups: pg_dump reads every table, sequence and schema through pg_read_all_data and may write nothing (no
-- grant to write, no CREATE anywhere, no TEMPORARY); its sessions also start read-only.
GRANT pg_read_all_data TO ${BACKUP_ROLE};
ALTER ROLE ${BACKUP_ROLE} SET default_transaction_read_only = on;`
      : "-- No backup role: backups are off or the server is managed (RDS backs itself up).",

    readiness({
      extensions,
      schemas: [...SCHEMAS, ...extraSchemas.map(([s]) => s)],
      roles,
      extra: `
  IF to_regclass('audit.seed_history') IS NULL THEN
    missing := missing || 'table audit.seed_history'::text;
  END IF;${
    opts.monitoringUser
      ? `
  IF NOT pg_has_role(${sqlLiteral(MONITORING_ROLE)}, 'pg_monitor', 'MEMBER') THEN
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
  }`,
    }),
  ];
  return sections.join("\n\n") + "\n";
}

/**
 * Creates the extra databases that do not exist yet, each owned by its `<name>_owner` role. Run on the application
 * database without `--single-transaction` (CREATE DATABASE refuses a transaction block); the session-level lock
 * makes a concurrent run wait, then find the database there.
 */
export function renderCreateDatabasesSql(databases: string[]): string {
  return `-- Rendered by stackport: create the extra databases (roles already exist). Idempotent.
${LOCK("session")}
SET client_min_messages = warning;
${[...databases]
  .sort()
  .map(
    (
      d,
    ) => `SELECT format('CREATE DATABASE %I OWNER %I', ${sqlLiteral(d)}, ${sqlLiteral(databaseRoleName(d, "owner"))})
WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${sqlLiteral(d)})
\\gexec`,
  )
  .join("\n")}
-- The lock goes with the session.
`;
}

/**
 * One extra database's bootstrap, run in it with `--single-transaction`: its extensions, schemas and grants, the
 * lock-down (only its own three roles connect), and its readiness check.
 */
export function renderDatabaseSql(name: string, db: ExtraDatabaseOptions, managedServer = false): string {
  const problems = bootstrapIssues({ database: "", databases: { [name]: db } });
  if (problems.length > 0)
    throw new Error(`bootstrap options: ${problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
  const [owner, writer, reader] = extraDatabaseRoles(name) as [string, string, string];
  const schemas = Object.entries(db.schemas ?? DEFAULT_EXTRA_SCHEMAS).sort(([a], [b]) => a.localeCompare(b));
  const extensions = [...new Set(db.extensions ?? [])];
  return (
    [
      `-- Rendered by stackport: bootstrap of the extra database ${name}. Idempotent; run in it with
-- psql -v ON_ERROR_STOP=1 --single-transaction.
${LOCK("xact")}
SET LOCAL client_min_messages = warning;`,
      guardDatabase(name),
      extensionStatements(extensions, `the database ${name}`),
      `-- Only its own roles connect; the owner (its migrations) may add schemas.${managedServer ? managedMasterMembership([owner]) : ""}
ALTER DATABASE ${sqlIdent(name)} OWNER TO ${owner};
${connectStatements(name, [owner, writer, reader])}
ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;`,
      ...schemas.map(([schema, access]) => schemaStatements(schema, { owner, writer, reader }, access)),
      readiness({ extensions, schemas: schemas.map(([s]) => s), roles: [owner, writer, reader] }),
    ].join("\n\n") + "\n"
  );
}

/** Heredoc delimiter for the embedded SQL; the SQL never contains it as a line. */
const SQL_EOF = "STACKPORT_BOOTSTRAP_SQL";

/** A psql run of embedded SQL as a quoted heredoc, so the shell expands nothing in it. */
function psqlHeredoc(sql: string, opts: { singleTransaction: boolean; database?: string }): string[] {
  if (sql.split("\n").includes(SQL_EOF))
    throw new Error("internal: bootstrap SQL contains the heredoc delimiter");
  const env = opts.database ? `PGDATABASE=${shQuote(opts.database)} ` : "";
  const tx = opts.singleTransaction ? " --single-transaction" : "";
  return [`${env}psql -X -q -v ON_ERROR_STOP=1${tx} -f - <<'${SQL_EOF}'`, sql.replace(/\n$/, ""), SQL_EOF];
}

/**
 * The one-shot job's script. Connection settings come from the standard libpq environment
 * (PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE), role passwords from `<ROLE>_PASSWORD`; the SQL is embedded as a
 * quoted heredoc so the shell expands nothing in it.
 */
export function renderBootstrapScript(opts: BootstrapSqlOptions): string {
  const sql = renderBootstrapSql(opts);
  const roles = bootstrapRoles(opts);
  const databases = Object.entries(opts.databases ?? {}).sort(([a], [b]) => a.localeCompare(b));
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
    ...psqlHeredoc(sql, { singleTransaction: true }),
    ...(databases.length > 0
      ? [
          `echo "stackport: creating databases ${databases.map(([d]) => d).join(", ")} where missing"`,
          ...psqlHeredoc(renderCreateDatabasesSql(databases.map(([d]) => d)), { singleTransaction: false }),
          ...databases.flatMap(([name, db]) => [
            `echo "stackport: bootstrapping database ${name}"`,
            ...psqlHeredoc(renderDatabaseSql(name, db, opts.managedServer ?? false), {
              singleTransaction: true,
              database: name,
            }),
          ]),
        ]
      : []),
    'echo "stackport: database bootstrap complete"',
    "",
  ];
  return (
    scriptHeader("bootstrap the PostgreSQL + PostGIS database (roles, schemas, extensions)") +
    lines.join("\n")
  );
}
