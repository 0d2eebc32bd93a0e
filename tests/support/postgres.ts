/**
 * Throwaway PostgreSQL clusters for real-tool tests (bootstrap SQL today; backup/restore and cutover later).
 *
 * Each cluster lives in its own temp directory, listens on a free port on 127.0.0.1 and on a private socket, and is
 * removed by `stop()`. Authentication mirrors production closely enough to test privileges: only the superuser
 * `postgres` may use the socket (trust); every other role logs in over TCP with a SCRAM password, so a test that
 * connects as `app_reader` really is `app_reader`.
 *
 * Needs the Debian packages `postgresql-15` and `postgresql-15-postgis-3` (override the binaries with PG_BIN).
 * When the process is root, the server runs as the `postgres` OS user (PostgreSQL refuses to run as root).
 */
import { spawn, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./tools";

export const PG_BIN = process.env["PG_BIN"] ?? "/usr/lib/postgresql/15/bin";
export const SUPERUSER = "postgres";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ConnectAs {
  /** Role to connect as; anything but `postgres` goes over TCP with `password`. @default "postgres" */
  user?: string;
  password?: string;
  /** @default "postgres" */
  db?: string;
}

export interface Cluster {
  port: number;
  socketDir: string;
  dir: string;
  /** Runs SQL (any number of statements, one implicit session) with ON_ERROR_STOP; tuples-only, unaligned output. */
  psql(sql: string, as?: ConnectAs): Promise<RunResult>;
  /**
   * Runs a SQL file the way the bootstrap job does: ON_ERROR_STOP, single transaction. A variable named
   * `<role>_password` reaches psql as the job passes it, in the environment variable `<ROLE>_PASSWORD` (the SQL reads
   * it with `\getenv`); any other as `-v name=value`.
   */
  runFile(path: string, vars: Record<string, string>, as?: ConnectAs): Promise<RunResult>;
  /** Runs psql with explicit arguments (connection options are added). */
  run(args: string[], as?: ConnectAs, stdin?: string, env?: Record<string, string>): Promise<RunResult>;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Throws a readable error when the PostgreSQL binaries or PostGIS are not installed. */
export function requirePostgres(): void {
  const missing = ["initdb", "pg_ctl", "psql"].filter((b) => !existsSync(join(PG_BIN, b)));
  const postgis = existsSync("/usr/share/postgresql/15/extension/postgis.control");
  if (missing.length > 0 || (!process.env["PG_BIN"] && !postgis)) {
    throw new Error(
      `PostgreSQL test cluster unavailable (${missing.length ? `missing ${missing.join(", ")} in ${PG_BIN}` : "PostGIS not found"}): ` +
        "install postgresql-15 and postgresql-15-postgis-3 (apt-get install postgresql-15 postgresql-15-postgis-3)",
    );
  }
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

/** Runs a server-side binary, as `postgres` when we are root. */
function serverCommand(bin: string, args: string[]): RunResult {
  const [cmd, argv] = isRoot()
    ? ["runuser", ["-u", SUPERUSER, "--", join(PG_BIN, bin), ...args]]
    : [join(PG_BIN, bin), args];
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  const result = {
    code: r.status ?? -1,
    stdout: r.stdout ?? "",
    stderr: (r.stderr ?? "") + (r.error ? String(r.error) : ""),
  };
  if (result.code !== 0)
    throw new Error(`${bin} ${args.join(" ")} failed (${result.code}):\n${result.stdout}${result.stderr}`);
  return result;
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

export async function startCluster(): Promise<Cluster> {
  requirePostgres();
  const dir = mkdtempSync(join(tmpdir(), "stackport-pg-"));
  const data = join(dir, "data");
  const port = await freePort();
  const owner = isRoot() ? spawnSync("id", ["-u", SUPERUSER], { encoding: "utf8" }) : undefined;
  const ownerGid = isRoot() ? spawnSync("id", ["-g", SUPERUSER], { encoding: "utf8" }) : undefined;
  const chown = (path: string) => {
    if (owner && ownerGid) chownSync(path, Number(owner.stdout.trim()), Number(ownerGid.stdout.trim()));
  };
  try {
    chown(dir);
    serverCommand("initdb", [
      "-D",
      data,
      "-U",
      SUPERUSER,
      "-E",
      "UTF8",
      "--locale=C",
      "--auth=trust",
      "--no-sync",
    ]);
    // The superuser alone uses the socket without a password; everybody else proves a password over TCP.
    const hba = join(data, "pg_hba.conf");
    writeFileSync(
      hba,
      [`local all ${SUPERUSER} trust`, "host all all 127.0.0.1/32 scram-sha-256", ""].join("\n"),
    );
    chown(hba);
    const sock = mkdtempSync(join(dir, "s"));
    chown(sock);
    serverCommand("pg_ctl", [
      "-D",
      data,
      "-w",
      "-t",
      "60",
      "-l",
      join(dir, "server.log"),
      "-o",
      `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
      "start",
    ]);
    return makeCluster(dir, data, sock, port);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function makeCluster(dir: string, data: string, socketDir: string, port: number): Cluster {
  const connection = (as: ConnectAs = {}) => {
    const user = as.user ?? SUPERUSER;
    const env: NodeJS.ProcessEnv = { ...process.env, PGCONNECT_TIMEOUT: "10" };
    delete env["PGPASSWORD"];
    if (user !== SUPERUSER || as.password !== undefined) env["PGPASSWORD"] = as.password ?? "";
    const host = user === SUPERUSER && as.password === undefined ? socketDir : "127.0.0.1";
    return { env, args: ["-X", "-h", host, "-p", String(port), "-U", user, "-d", as.db ?? "postgres"] };
  };
  const run = (args: string[], as?: ConnectAs, stdin?: string, env: Record<string, string> = {}) => {
    const c = connection(as);
    return exec(join(PG_BIN, "psql"), [...c.args, ...args], { ...c.env, ...env }, stdin);
  };
  const isPassword = ([name]: [string, string]) => name.endsWith("_password");
  return {
    port,
    socketDir,
    dir,
    run,
    psql: (sql, as) => run(["-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"], as, sql),
    runFile: (path, vars, as) =>
      run(
        [
          "-q",
          "-v",
          "ON_ERROR_STOP=1",
          "--single-transaction",
          ...Object.entries(vars)
            .filter((v) => !isPassword(v))
            .flatMap(([k, v]) => ["-v", `${k}=${v}`]),
          "-f",
          path,
        ],
        as,
        undefined,
        Object.fromEntries(
          Object.entries(vars)
            .filter(isPassword)
            .map(([k, v]) => [k.toUpperCase(), v]),
        ),
      ),
    async createDatabase(name) {
      const r = await run(["-v", "ON_ERROR_STOP=1", "-c", `CREATE DATABASE "${name.replace(/"/g, '""')}"`]);
      if (r.code !== 0) throw new Error(`CREATE DATABASE ${name} failed: ${r.stderr}`);
    },
    async stop() {
      try {
        serverCommand("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
