/**
 * The off-host copy, run for real: the rendered restic loop (`--once`) with Debian's `restic` against a local
 * repository copies a backup directory, a WAL archive and an object mirror; files are then changed and deleted, the
 * first snapshot is restored with the runbook's command and compared byte for byte; the repository holds no
 * plaintext; a wrong password neither reads nor re-creates it. The object mirror loop runs against the `mc`
 * stand-in (tests/support/fakeMc.ts). Every script passes `shellcheck -s sh`, the metrics `promtool check metrics`.
 */
import { spawnSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  OFFHOST_METRICS_FILE,
  RESTIC_HOST,
  renderObjectsMirrorScript,
  renderOffHostScript,
} from "../../components/backups/offHost";
import { mcHostUrl } from "../../components/storage/contract";
import { fakeMc } from "../support/fakeMc";
import { requireTool, shellcheck } from "../support/tools";

jest.setTimeout(180_000);

const PASSWORD = "offhost-Secret-0";
let restic: string;
let work: string;
let backups: string;
let archive: string;
let objects: string;
let repo: string;
let script: string;

/** Every file under `dir` as relative path → SHA-256 of its bytes, for byte-for-byte comparison. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(dir);
  return out;
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

function offhost(password = PASSWORD) {
  const r = spawnSync("sh", [script, "--once"], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password, BACKUP_DIR: backups },
  });
  return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

function resticCmd(args: string[], password = PASSWORD) {
  const r = spawnSync(restic, args, {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: password },
  });
  return { code: r.status ?? -1, out: (r.stdout ?? "") + (r.stderr ?? "") };
}

beforeAll(() => {
  restic = requireTool("restic", "restic");
  work = mkdtempSync(join(tmpdir(), "stackport-offhost-"));
  backups = join(work, "backups");
  archive = join(work, "wal-archive");
  objects = join(work, "objects");
  repo = join(work, "repository");
  for (const d of [
    backups,
    archive,
    join(objects, "raw", "2026", "03"),
    join(backups, "base", "20260301T030000Z"),
  ])
    mkdirSync(d, { recursive: true });
  writeFileSync(join(backups, "platform-20260301T030000Z.dump"), "PLAINTEXT-MARKER dump " + "x".repeat(5000));
  writeFileSync(join(backups, "base", "20260301T030000Z", "base.tar.gz"), randomBytes(200_000));
  writeFileSync(join(archive, "000000010000000000000003"), randomBytes(64 * 1024));
  writeFileSync(join(objects, "raw", "2026", "03", "scene one.tif"), randomBytes(100_000));
  writeFileSync(join(objects, "raw", "notes.txt"), "PLAINTEXT-MARKER object");
  // Never copied: work in progress and state that changes every minute.
  mkdirSync(join(backups, "base", ".20260302T030000Z.partial"));
  writeFileSync(join(backups, "base", ".20260302T030000Z.partial", "base.tar.gz"), "half");
  writeFileSync(join(archive, ".000000010000000000000004.tmp"), "half a segment");
  script = join(work, "offhost.sh");
  writeFileSync(
    script,
    renderOffHostScript({ paths: [backups, archive, objects], intervalSeconds: 86400, retentionDays: 30 }),
  );
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the rendered scripts", () => {
  it.each([
    [
      "offhost.sh",
      renderOffHostScript({
        paths: ["/backups", "/wal-archive", "/objects"],
        intervalSeconds: 86400,
        retentionDays: 30,
      }),
    ],
    ["objects-mirror.sh", renderObjectsMirrorScript({ pollSeconds: 300 })],
  ])("%s passes shellcheck", (_name, text) => {
    const r = shellcheck(text);
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });
});

describe("restic off the host", () => {
  let original: Record<string, Record<string, string>>;
  let firstSnapshot: string;

  it("creates the repository, copies everything but work in progress, encrypted", () => {
    const r = offhost();
    expect(r.out).toContain("stackport-offhost: ok");
    expect(r.code).toBe(0);
    original = { backups: tree(backups), archive: tree(archive), objects: tree(objects) };
    const snapshots = JSON.parse(resticCmd(["snapshots", "--json"]).out) as {
      id: string;
      hostname: string;
      paths: string[];
    }[];
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]!.hostname).toBe(RESTIC_HOST);
    firstSnapshot = snapshots[0]!.id;
    const listed = resticCmd(["ls", firstSnapshot]).out;
    expect(listed).toContain("scene one.tif");
    expect(listed).not.toContain(".partial");
    expect(listed).not.toContain(".tmp");
    expect(listed).not.toContain(".prom");
    // Encrypted at rest: no file of the repository carries the plaintext.
    const grep = spawnSync("grep", ["-r", "-l", "PLAINTEXT-MARKER", repo], { encoding: "utf8" });
    expect(grep.stdout).toBe("");
    expect(grep.status).toBe(1);
  });

  it("restores the first snapshot byte for byte after files were changed and deleted", () => {
    writeFileSync(join(objects, "raw", "notes.txt"), "overwritten");
    unlinkSync(join(objects, "raw", "2026", "03", "scene one.tif"));
    unlinkSync(join(backups, "platform-20260301T030000Z.dump"));
    writeFileSync(join(archive, "000000010000000000000005"), randomBytes(1000));
    expect(offhost().code).toBe(0);
    const target = join(work, "restore");
    // The runbook's command.
    const r = resticCmd(["restore", firstSnapshot, "--host", RESTIC_HOST, "--target", target]);
    expect(r.code).toBe(0);
    // restic restores absolute paths under the target; what was excluded is not there, nor the loop's own record
    // of this copy (written after the snapshot).
    expect(tree(join(target, backups))).toEqual(
      Object.fromEntries(
        Object.entries(original.backups!).filter(
          ([k]) => !/\.partial|\.prom$|-started$|^offhost-last-/.test(k),
        ),
      ),
    );
    expect(tree(join(target, archive))).toEqual(
      Object.fromEntries(Object.entries(original.archive!).filter(([k]) => !k.endsWith(".tmp"))),
    );
    expect(tree(join(target, objects))).toEqual(original.objects);
  });

  it("refuses a wrong password, and never re-creates the repository over the old one", () => {
    const before = readdirSync(join(repo, "snapshots")).sort();
    expect(resticCmd(["snapshots"], "wrong-password").code).not.toBe(0);
    const r = offhost("wrong-password");
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("FAILED");
    expect(readdirSync(join(repo, "snapshots")).sort()).toEqual(before);
    expect(resticCmd(["snapshots", "--json"]).code).toBe(0);
  });

  it("is healthy while the last copy is recent", () => {
    const r = spawnSync("sh", [script, "--check"], {
      encoding: "utf8",
      env: { ...process.env, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: PASSWORD, BACKUP_DIR: backups },
    });
    expect(r.stdout).toMatch(/^ok: last success/);
    expect(r.status).toBe(0);
  });

  it("publishes its state as valid metrics", () => {
    const text = readFileSync(join(backups, OFFHOST_METRICS_FILE), "utf8");
    const promtool = requireTool("promtool", "prometheus");
    const check = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(check.stderr + check.stdout).toBe("");
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1]);
    expect(value("stackport_offhost_backup_last_success_timestamp_seconds")).toBeGreaterThan(
      Date.now() / 1000 - 300,
    );
    expect(value("stackport_offhost_backup_last_failure_timestamp_seconds")).toBeGreaterThan(
      Date.now() / 1000 - 300,
    );
  });
});

describe("the object mirror", () => {
  it("keeps a directory per bucket equal to the bucket, deletions included", () => {
    const mc = fakeMc();
    const credentials = { accessKeyId: "objects-reader", secretAccessKey: "reader-Secret-12345" };
    mc.server("storage", credentials);
    mc.put("storage", "stackport-raw", "2026/a.tif", "A");
    mc.put("storage", "stackport-raw", "b.txt", "B");
    mc.bucket("storage", "stackport-logs");
    const dir = join(work, "mirror");
    const path = join(work, "objects-mirror.sh");
    writeFileSync(path, renderObjectsMirrorScript({ pollSeconds: 300 }));
    const run = () =>
      spawnSync("sh", [path, "--once"], {
        encoding: "utf8",
        env: {
          ...process.env,
          ...mc.env(),
          OBJECTS_DIR: dir,
          BUCKETS: "raw=stackport-raw logs=stackport-logs",
          MC_HOST_storage: mcHostUrl(
            "http://storage:9000",
            credentials.accessKeyId,
            credentials.secretAccessKey,
            "test",
          ),
        },
      });
    expect(run().status).toBe(0);
    expect(tree(join(dir, "raw"))).toEqual({
      "2026/a.tif": sha("A"),
      "b.txt": sha("B"),
    });
    rmSync(join(mc.root, "storage", "stackport-raw", "b.txt"));
    mc.put("storage", "stackport-raw", "2026/a.tif", "A2");
    expect(run().status).toBe(0);
    expect(tree(join(dir, "raw"))).toEqual({ "2026/a.tif": sha("A2") });
    expect(readdirSync(join(dir, "logs"))).toEqual([]);
  });
});
