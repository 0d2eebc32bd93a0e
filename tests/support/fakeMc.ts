/**
 * A stand-in for the MinIO client over directories, for running the rendered scripts that use `mc` (bucket
 * bootstrap, backup bucket sync, the cutover's object mirror and backfill) for real in a shell. The real `mc` is not
 * packaged for Debian, and no MinIO or S3 can be reached here. The fake serves `$FAKE_MC_ROOT/<alias>/<bucket>/<key>`
 * files, and reproduces what those scripts depend on in minio/mc at RELEASE.2025-08-13T08-35-41Z (the tag of the
 * default client image):
 *
 * - `MC_HOST_<alias>` is split as `cmd/config.go` `parseEnvURLStr` does, with its two regular expressions:
 *   `^(https?://)(.*?):(.*?):(.*)@(.*?)$` (key, secret, session token) tried first, then
 *   `^(https?://)(.*?):(.*)@(.*?)$`. The parts are used raw: mc never percent-decodes them. A server accepts only
 *   the exact credentials it was started with, as S3 answers a wrong key or signature with an error.
 * - `mc ready` (`cmd/ready-main.go`) uses an anonymous client and loops every 5 s until the server is healthy:
 *   it never exits non-zero for an unreachable server (only when the alias cannot be built).
 * - Errors: `errorIf`/`fatal` (`cmd/error.go`) print `mc: <ERROR> …` on stderr, or with `--json` an indented JSON
 *   document on stdout (`"status": "error"` on a line of its own); `printMsg` (`cmd/print.go`) prints other JSON
 *   messages on one line when stdout is not a terminal. `ls` sets exit status 1 after an error (`cmd/ls.go`).
 * - `mirror --exclude` patterns match the object's path relative to the source (`cmd/mirror-url.go`), with `*`
 *   crossing `/` as sh's `case` does; a local directory may be the source.
 * - `version info` prints `<target> versioning is enabled|suspended` or `<target> is un-versioned`
 *   (`cmd/version-info.go`).
 * - `admin user add ALIAS ACCESSKEY` without SECRETKEY reads the secret key from one line of stdin
 *   (`cmd/admin-user-add.go`, `fetchUserKeys`; re-adding a user replaces its secret); `admin policy create ALIAS NAME
 *   FILE` reads the document from a file (`cmd/admin-policy-create.go`) and replaces a policy of that name;
 *   `admin policy attach … --user` succeeds when the policy is already attached (`cmd/admin-policy-attach.go`
 *   ignores `XMinioAdminPolicyChangeAlreadyApplied`); `--json admin user ls` prints one JSON object a line
 *   (`cmd/admin-user-list.go`, compacted by `printMsg`). Only the root user may call the admin API; an added
 *   user is accepted by the S3 commands with its own key and secret. What a user's policy allows is not decided
 *   here: tests evaluate the stored documents with an IAM policy evaluator.
 *
 * Every call is appended to `$FAKE_MC_ROOT/calls.log`, so tests can assert the flags a script used.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

/** The fake itself: a POSIX sh script beside this file. */
const FAKE_MC = readFileSync(join(__dirname, "fakeMc.sh"), "utf8");

/** The credentials a fake server accepts. */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface FakeMc {
  /** Directory to put first on PATH. */
  binDir: string;
  /** `$FAKE_MC_ROOT`: `<alias>/<bucket>/<key>` files. */
  root: string;
  /** `PATH` and `FAKE_MC_ROOT` for a script run against this fake. */
  env(): { PATH: string; FAKE_MC_ROOT: string };
  /** Starts the server behind `alias`: reachable, and accepting exactly these credentials. */
  server(alias: string, credentials: Credentials): void;
  /** Writes an object (creating its bucket); the alias's server must be started. */
  put(alias: string, bucket: string, key: string, content: string): void;
  /** Creates an empty bucket; the alias's server must be started. */
  bucket(alias: string, bucket: string): void;
  /** Every object of a bucket as key → content. */
  objects(alias: string, bucket: string): Record<string, string>;
  /** What `version`, `ilm rule` and `anonymous` set on a bucket (undefined where nothing was set). */
  settings(alias: string, bucket: string): { versioning?: string; lifecycle?: string; anonymous?: string };
  /** The mc command lines run so far. */
  calls(): string[];
  /** The users `admin user add` created on the alias's server: secret and the attached policy's document. */
  users(alias: string): Record<string, { secret: string; policy?: unknown }>;
}

export function fakeMc(): FakeMc {
  const base = mkdtempSync(join(tmpdir(), "stackport-fake-mc-"));
  const binDir = join(base, "bin");
  const root = join(base, "root");
  mkdirSync(binDir);
  mkdirSync(root);
  writeFileSync(join(binDir, "mc"), FAKE_MC);
  chmodSync(join(binDir, "mc"), 0o755);
  writeFileSync(join(root, "calls.log"), "");
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  const started = (alias: string) => {
    if (!existsSync(join(root, ".servers", alias)))
      throw new Error(`fake mc: start the '${alias}' server first`);
  };
  const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").trim() : undefined);
  return {
    binDir,
    root,
    env: () => ({ PATH: `${binDir}:${process.env["PATH"]}`, FAKE_MC_ROOT: root }),
    server(alias, { accessKeyId, secretAccessKey }) {
      const dir = join(root, ".servers", alias);
      mkdirSync(dir, { recursive: true });
      mkdirSync(join(root, alias), { recursive: true });
      writeFileSync(join(dir, "key"), accessKeyId);
      writeFileSync(join(dir, "secret"), secretAccessKey);
    },
    put(alias, bucket, key, content) {
      started(alias);
      const path = join(root, alias, bucket, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    },
    bucket(alias, bucket) {
      started(alias);
      mkdirSync(join(root, alias, bucket), { recursive: true });
    },
    objects(alias, bucket) {
      const dir = join(root, alias, bucket);
      return Object.fromEntries(walk(dir).map((p) => [relative(dir, p), readFileSync(p, "utf8")]));
    },
    settings(alias, bucket) {
      const dir = join(root, ".meta", alias, bucket);
      const versioning = read(join(dir, "versioning"));
      const lifecycle = read(join(dir, "lifecycle.json"));
      const anonymous = read(join(dir, "anonymous"));
      return {
        ...(versioning !== undefined && { versioning }),
        ...(lifecycle !== undefined && { lifecycle }),
        ...(anonymous !== undefined && { anonymous }),
      };
    },
    calls: () => readFileSync(join(root, "calls.log"), "utf8").split("\n").filter(Boolean),
    users(alias) {
      const server = join(root, ".servers", alias);
      const dir = join(server, "users");
      if (!existsSync(dir)) return {};
      return Object.fromEntries(
        readdirSync(dir).map((user) => {
          const policy = read(join(dir, user, "policy"));
          const document =
            policy === undefined
              ? undefined
              : (JSON.parse(readFileSync(join(server, "policies", `${policy}.json`), "utf8")) as unknown);
          return [
            user,
            {
              secret: readFileSync(join(dir, user, "secret"), "utf8"),
              ...(document !== undefined && { policy: document }),
            },
          ];
        }),
      );
    },
  };
}
