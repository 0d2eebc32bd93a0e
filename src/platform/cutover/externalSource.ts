/**
 * A database stackport did not create (Supabase, a managed PostgreSQL) as the source of a cutover: its connection is
 * a PostgreSQL URL held as a stack secret. The copy and verification scripts read libpq's parts from the
 * environment (SOURCE_HOST, SOURCE_PORT, SOURCE_USER, SOURCE_DB, SOURCE_PASSWORD), never a URL on a command line, so
 * the URL is split here — inside the secret's `apply`, the parts stay secret (the command's whole environment is).
 */

/** libpq's parts of a `postgres://` or `postgresql://` URL. */
export interface PostgresUrlParts {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/**
 * Splits a PostgreSQL URL (`postgresql://user:password@host:5432/db?sslmode=require`): percent-escapes decoded,
 * port 5432 and database `postgres` by default. Throws a message that never contains the URL (it holds a password),
 * naming `what` (the config key) and the part that is wrong.
 */
export function parsePostgresUrl(url: string, what: string): PostgresUrlParts {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what}: is not a URL; expected postgresql://user:password@host:port/database`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:")
    throw new Error(`${what}: must start with postgresql:// (or postgres://), not ${parsed.protocol}//`);
  if (!parsed.hostname) throw new Error(`${what}: names no host`);
  if (!parsed.username) throw new Error(`${what}: names no user (postgresql://user:password@host/db)`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || "postgres";
  if (database.includes("/")) throw new Error(`${what}: the database name contains '/'`);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port ? Number(parsed.port) : 5432,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

/** The SOURCE_* environment of the copy and verification scripts for an external source. */
export function externalSourceEnvironment(parts: PostgresUrlParts): Record<string, string> {
  return {
    SOURCE_HOST: parts.host,
    SOURCE_PORT: String(parts.port),
    SOURCE_USER: parts.user,
    SOURCE_DB: parts.database,
    SOURCE_PASSWORD: parts.password,
  };
}
