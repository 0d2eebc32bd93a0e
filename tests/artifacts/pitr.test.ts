/**
 * Point-in-time recovery, run for real on PostgreSQL 15: a cluster started with the rendered archive settings
 * (`archive_command` = the rendered archive script, the rendered `pg_hba.conf`), a base backup taken by the rendered
 * runner over a password-checked replication connection, rows written before and after a time T, and the rendered
 * restore tool preparing a new data directory that a second server recovers to T from the archive. Exactly the rows
 * committed at or before T must be there. Also: the archive script's atomicity and refusals, the runner's retention of
 * base backups and of the archive, its metrics (promtool), and shellcheck of every script.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PG_HBA_PATH,
  WAL_ARCHIVE_SCRIPT_PATH,
  renderPgHba,
  renderWalArchiveScript,
  walServerSettings,
} from "../../components/database/walArchive";
import {
  WAL_METRICS_FILE,
  renderBaseBackupScript,
  renderPitrRestoreScript,
} from "../../components/backups/walScripts";
import { PG_BIN, requirePostgres } from "../support/postgres";
import { freePort, requireTool, shellcheck } from "../support/tools";

jest.setTimeout(240_000);

const PASSWORD = "super-Secret-0";
const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;
const pgUid = () => Number(spawnSync("id", ["-u", "postgres"], { encoding: "utf8" }).stdout.trim());
const pgGid = () => Number(spawnSync("id", ["-g", "postgres"], { encoding: "utf8" }).stdout.trim());
/** Directories the server (running as `postgres` when we are root) must own. */
const own = (path: string) => {
  if (isRoot()) chownSync(path, pgUid(), pgGid());
};

let work: string;
let archive: string;
let backups: string;
let scripts: string;
const servers: { data: string; port: number; sock: string }[] = [];

/** Runs a server binary as `postgres` (when root), with the archive's path in its environment. */
function asServer(bin: string, args: string[]) {
  const env = [`WAL_ARCHIVE_DIR=${archive}`, `PATH=${PG_BIN}:/usr/bin:/bin`];
  const [cmd, argv] = isRoot()
    ? ["runuser", ["-u", "postgres", "--", "env", ...env, join(PG_BIN, bin), ...args]]
    : ["env", [...env, join(PG_BIN, bin), ...args]];
  const r = spawnSync(cmd, argv, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed:\n${r.stdout}${r.stderr}`);
}

/** The rendered server settings, with the container paths of the uploads swapped for this test's files. */
function serverOptions(port: number, sock: string): string {
  const settings = walServerSettings({ archiveTimeoutSeconds: 60, replicationRole: "postgres" });
  const local = Object.fromEntries(
    Object.entries(settings).map(([k, v]) => [
      k,
      v
        .replace(WAL_ARCHIVE_SCRIPT_PATH, join(scripts, "wal-archive.sh"))
        .replace(PG_HBA_PATH, join(scripts, "pg_hba.conf")),
    ]),
  );
  // Only for the test: the commit time of a transaction, so T can be set to exactly one commit.
  local["track_commit_timestamp"] = "on";
  return [
    `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ...Object.entries(local).map(([k, v]) => `-c "${k}=${v}"`),
  ].join(" ");
}

async function startServer(data: string): Promise<{ port: number; sock: string }> {
  const port = await freePort();
  const sock = mkdtempSync(join(work, "s"));
  own(sock);
  asServer("pg_ctl", [
    "-D",
    data,
    "-w",
    "-t",
    "90",
    "-l",
    join(work, `server-${port}.log`),
    "-o",
    serverOptions(port, sock),
    "start",
  ]);
  servers.push({ data, port, sock });
  return { port, sock };
}

function psql(sock: string, port: number, query: string): string {
  const r = spawnSync(
    join(PG_BIN, "psql"),
    [
      "-X",
      "-q",
      "-t",
      "-A",
      "-v",
      "ON_ERROR_STOP=1",
      "-h",
      sock,
      "-p",
      String(port),
      "-U",
      "postgres",
      "-d",
      "postgres",
      "-c",
      query,
    ],
    {
      encoding: "utf8",
      timeout: 60_000,
    },
  );
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

function runScript(name: string, args: string[], env: Record<string, string>) {
  const r = spawnSync("sh", [join(scripts, name), ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      PATH: `${PG_BIN}:${process.env["PATH"]}`,
      BACKUP_DIR: backups,
      WAL_ARCHIVE_DIR: archive,
      ...env,
    },
  });
  return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => boolean, seconds = 60) {
  for (let i = 0; i < seconds * 5; i++) {
    if (check()) return;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

let primary: { port: number; sock: string };
let primaryData: string;
const baseEnv = () => ({
  PGHOST: "127.0.0.1",
  PGPORT: String(primary.port),
  PGUSER: "postgres",
  PGPASSWORD: PASSWORD,
});
const BASE_OPTS = { intervalSeconds: 86400, retentionDays: 7, archiveMaxLagSeconds: 900 };

beforeAll(async () => {
  requirePostgres();
  work = mkdtempSync(join(tmpdir(), "stackport-pitr-"));
  own(work);
  archive = join(work, "archive");
  backups = join(work, "backups");
  scripts = join(work, "scripts");
  for (const d of [archive, backups, scripts]) mkdirSync(d);
  own(archive);
  writeFileSync(join(scripts, "wal-archive.sh"), renderWalArchiveScript());
  writeFileSync(join(scripts, "pg_hba.conf"), renderPgHba("postgres"));
  writeFileSync(join(scripts, "base-backup.sh"), renderBaseBackupScript(BASE_OPTS));
  writeFileSync(join(scripts, "pitr-restore.sh"), renderPitrRestoreScript());
  primaryData = join(work, "primary");
  asServer("initdb", [
    "-D",
    primaryData,
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--locale=C",
    "--auth=trust",
    "--no-sync",
  ]);
  primary = await startServer(primaryData);
  psql(primary.sock, primary.port, `ALTER ROLE postgres PASSWORD '${PASSWORD}'`);
});

afterAll(() => {
  for (const s of servers) {
    try {
      asServer("pg_ctl", ["-D", s.data, "-m", "immediate", "-w", "stop"]);
    } catch {
      // already stopped
    }
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the rendered scripts", () => {
  it.each([
    ["wal-archive.sh", renderWalArchiveScript()],
    ["base-backup.sh", renderBaseBackupScript(BASE_OPTS)],
    ["pitr-restore.sh", renderPitrRestoreScript()],
  ])("%s passes shellcheck", (_name, script) => {
    const r = shellcheck(script);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("archive_command", () => {
  it("never shows a segment under its real name before the whole copy is on disk", async () => {
    const dir = mkdtempSync(join(work, "atomic-"));
    const fifo = join(dir, "segment");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const out = mkdtempSync(join(work, "atomic-archive-"));
    const child: ChildProcess = spawn(
      "sh",
      [join(scripts, "wal-archive.sh"), fifo, "000000010000000000000042"],
      {
        env: { ...process.env, WAL_ARCHIVE_DIR: out },
        stdio: "ignore",
      },
    );
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    try {
      const fd = openSync(fifo, "w");
      writeSync(fd, Buffer.alloc(64 * 1024, 1));
      await sleep(300);
      // Half the segment is in flight: nothing may carry the segment's name yet.
      expect(existsSync(join(out, "000000010000000000000042"))).toBe(false);
      writeSync(fd, Buffer.alloc(64 * 1024, 2));
      closeSync(fd);
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
    expect(readFileSync(join(out, "000000010000000000000042")).length).toBe(128 * 1024);
    expect(readdirSync(out)).toEqual(["000000010000000000000042"]);
  });

  it("accepts an identical re-archive and refuses to overwrite a different segment", () => {
    const out = mkdtempSync(join(work, "refuse-"));
    const seg = join(out, "src");
    writeFileSync(seg, "one");
    const archiveOne = () =>
      spawnSync("sh", [join(scripts, "wal-archive.sh"), seg, "000000010000000000000007"], {
        env: { ...process.env, WAL_ARCHIVE_DIR: join(out, "a") },
        encoding: "utf8",
      });
    mkdirSync(join(out, "a"));
    expect(archiveOne().status).toBe(0);
    expect(archiveOne().status).toBe(0);
    writeFileSync(seg, "two");
    const r = archiveOne();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("refusing to overwrite");
    expect(readFileSync(join(out, "a", "000000010000000000000007"), "utf8")).toBe("one");
  });
});

describe("point-in-time recovery", () => {
  let target: string;

  it("restores exactly the transactions committed at or before the target time", async () => {
    const q = (s: string) => psql(primary.sock, primary.port, s);
    q("CREATE TABLE t (id int PRIMARY KEY, phase text NOT NULL)");
    q("INSERT INTO t SELECT g, 'base' FROM generate_series(1, 100) g");
    const base = runScript("base-backup.sh", ["--once"], baseEnv());
    expect(base.out).toContain("stackport-base-backup: ok");
    expect(base.code).toBe(0);
    // The backup must have finished in an earlier second than T (the restore tool picks by finish time).
    await sleep(1200);
    // After the base backup: these rows can only come back through the archive.
    q("INSERT INTO t SELECT g, 'before' FROM generate_series(101, 150) g");
    // T is exactly the commit time of the 'before' transaction.
    target = q(
      "SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' FROM t WHERE id = 150",
    );
    await sleep(50);
    q("INSERT INTO t SELECT g, 'after' FROM generate_series(151, 200) g");
    const segment = q("SELECT pg_walfile_name(pg_switch_wal())");
    await until(`segment ${segment} archived`, () => existsSync(join(archive, segment)));

    const restored = join(work, "restored");
    const r = runScript("pitr-restore.sh", ["--target-time", target, restored], {});
    expect(r.out).toContain("stackport-pitr: ready");
    expect(r.code).toBe(0);
    const copy = await startServer(restored);
    await until(
      "the restored server to promote",
      () => psql(copy.sock, copy.port, "SELECT pg_is_in_recovery()") === "f",
    );
    expect(
      psql(copy.sock, copy.port, "SELECT phase || ':' || count(*) FROM t GROUP BY phase ORDER BY phase"),
    ).toBe("base:100\nbefore:50");
  });

  it("refuses a time without its zone, a non-empty directory, and a time before any base backup ended", () => {
    const noZone = runScript(
      "pitr-restore.sh",
      ["--target-time", "2026-03-01 10:15:00", join(work, "x1")],
      {},
    );
    expect(noZone.code).not.toBe(0);
    expect(noZone.out).toContain("with its time zone");
    const nonEmpty = runScript("pitr-restore.sh", ["--target-time", target, primaryData], {});
    expect(nonEmpty.code).not.toBe(0);
    expect(nonEmpty.out).toContain("is not empty");
    const tooEarly = runScript(
      "pitr-restore.sh",
      ["--target-time", "2020-01-01 00:00:00+00", join(work, "x2")],
      {},
    );
    expect(tooEarly.code).not.toBe(0);
    expect(tooEarly.out).toContain("no base backup");
  });
});

describe("the base-backup runner", () => {
  it("keeps the window's backups and the newest older one, and the archive from that one's first segment on", () => {
    const base = join(backups, "base");
    const days = (n: number) => String(Math.floor(Date.now() / 1000) - n * 86400);
    // Two backups older than the 7-day window: the newer one still covers the window's start.
    for (const [name, age, first] of [
      ["20200101T000000Z", 30, "000000010000000000000001"],
      ["20200201T000000Z", 20, "000000010000000000000002"],
    ] as const) {
      mkdirSync(join(base, name));
      writeFileSync(join(base, name, "stop-epoch"), days(age));
      writeFileSync(join(base, name, "start-wal"), first);
    }
    // The first real base backup already pruned what came before it: put back a segment older than both.
    writeFileSync(join(archive, "000000010000000000000001"), "old");
    const archived = readdirSync(archive).filter((f) => /^[0-9A-F]{24}$/.test(f));
    expect(archived).toContain("000000010000000000000001");
    const r = runScript("base-backup.sh", ["--once"], baseEnv());
    expect(r.code).toBe(0);
    const kept = readdirSync(base).sort();
    expect(kept).not.toContain("20200101T000000Z");
    expect(kept).toContain("20200201T000000Z");
    expect(kept.length).toBe(3);
    const left = readdirSync(archive).filter((f) => /^[0-9A-F]{24}$/.test(f));
    expect(left).not.toContain("000000010000000000000001");
    expect(left).toContain("000000010000000000000002");
    // Nothing from the cut-off on went.
    for (const f of archived.filter((f) => f >= "000000010000000000000002")) expect(left).toContain(f);
  });

  it("is healthy after a base backup, unhealthy once none succeeded for twice the interval", () => {
    const ok = runScript("base-backup.sh", ["--check"], baseEnv());
    expect(ok.out).toMatch(/^ok: last success \d+s ago/);
    expect(ok.code).toBe(0);
    const last = join(backups, "base-last-success");
    const saved = readFileSync(last, "utf8");
    writeFileSync(last, String(Math.floor(Date.now() / 1000) - 2 * 86400));
    const stale = runScript("base-backup.sh", ["--check"], baseEnv());
    writeFileSync(last, saved);
    expect(stale.out).toContain("stale: no success for");
    expect(stale.code).not.toBe(0);
  });

  it("publishes the archiver's and the base backups' state as valid metrics", () => {
    const r = runScript("base-backup.sh", ["--metrics"], baseEnv());
    expect(r.code).toBe(0);
    const text = readFileSync(join(backups, WAL_METRICS_FILE), "utf8");
    const promtool = requireTool("promtool", "prometheus");
    const check = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stderr + check.stdout).toBe("");
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
    expect(value("stackport_wal_last_archived_timestamp_seconds")).toBeGreaterThan(Date.now() / 1000 - 300);
    expect(value("stackport_base_backup_last_success_timestamp_seconds")).toBeGreaterThan(
      Date.now() / 1000 - 300,
    );
    expect(value("stackport_base_backup_max_age_seconds")).toBe(2 * 86400);
  });
});
