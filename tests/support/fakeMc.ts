/**
 * A stand-in for the MinIO client over directories, for running the rendered object-mirror scripts for real in a
 * shell. The real `mc` is not packaged for Debian (and reaching MinIO or S3 is not possible here), so this fake
 * serves `$FAKE_MC_ROOT/<alias>/<bucket>/<key>` files with the output shapes of mc's documented commands:
 * `ls --recursive --json` (one JSON object a line, `"type":"file"`, `"size"`, `"key"`), `diff` (one line per key
 * missing on either side or differing in size, nothing when equal), and `mirror [--overwrite] [--remove]`.
 * Every call is appended to `$FAKE_MC_ROOT/calls.log`, so tests can assert the flags a script used.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

const FAKE_MC = String.raw`#!/bin/sh
set -eu
echo "$*" >> "$FAKE_MC_ROOT/calls.log"
while [ $# -gt 0 ]; do
  case "$1" in --no-color | --quiet) shift ;; *) break ;; esac
done
cmd=$1
shift
keys() { (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort); }
need_dir() {
  if [ ! -d "$FAKE_MC_ROOT/$1" ]; then
    echo "mc: <ERROR> Unable to stat '$1'. Bucket does not exist." >&2
    exit 1
  fi
}
case "$cmd" in
  ls)
    for last in "$@"; do :; done
    d="$FAKE_MC_ROOT/$last"
    if [ ! -d "$d" ]; then
      echo '{"status":"error","error":{"message":"Bucket does not exist.","cause":{}}}'
      exit 1
    fi
    keys "$d" | while IFS= read -r k; do
      size=$(wc -c < "$d/$k" | tr -d ' ')
      printf '{"status":"success","type":"file","lastModified":"2026-01-01T00:00:00Z","size":%s,"key":"%s","etag":"d41d8cd98f00b204e9800998ecf8427e","url":"%s/","versionOrdinal":1,"storageClass":"STANDARD"}\n' "$size" "$k" "$last"
    done
    ;;
  diff)
    need_dir "$1"
    need_dir "$2"
    a="$FAKE_MC_ROOT/$1"
    b="$FAKE_MC_ROOT/$2"
    work=$(mktemp -d)
    keys "$a" > "$work/a"
    keys "$b" > "$work/b"
    comm -23 "$work/a" "$work/b" | while IFS= read -r k; do echo "‘$1/$k’ - only in first."; done
    comm -13 "$work/a" "$work/b" | while IFS= read -r k; do echo "‘$2/$k’ - only in second."; done
    comm -12 "$work/a" "$work/b" | while IFS= read -r k; do
      if [ "$(wc -c < "$a/$k")" != "$(wc -c < "$b/$k")" ]; then
        echo "‘$1/$k’ and ‘$2/$k’ - differ in size."
      fi
    done
    rm -rf "$work"
    ;;
  mirror)
    overwrite=0
    remove=0
    while [ $# -gt 2 ]; do
      case "$1" in --overwrite) overwrite=1 ;; --remove) remove=1 ;; *) echo "fake mc: unknown flag $1" >&2; exit 2 ;; esac
      shift
    done
    need_dir "$1"
    need_dir "$2"
    a="$FAKE_MC_ROOT/$1"
    b="$FAKE_MC_ROOT/$2"
    keys "$a" | while IFS= read -r k; do
      if [ ! -f "$b/$k" ] || { [ "$overwrite" = 1 ] && ! cmp -s "$a/$k" "$b/$k"; }; then
        mkdir -p "$(dirname "$b/$k")"
        cp "$a/$k" "$b/$k"
        echo "‘$1/$k’ -> ‘$2/$k’"
      fi
    done
    if [ "$remove" = 1 ]; then
      keys "$b" | while IFS= read -r k; do
        if [ ! -f "$a/$k" ]; then rm "$b/$k"; echo "Removed ‘$2/$k’"; fi
      done
    fi
    ;;
  *)
    echo "fake mc: unsupported command $cmd" >&2
    exit 2
    ;;
esac
`;

export interface FakeMc {
  /** Directory to put first on PATH. */
  binDir: string;
  /** `$FAKE_MC_ROOT`: `<alias>/<bucket>/<key>` files. */
  root: string;
  /** Writes an object (creating its bucket). */
  put(alias: string, bucket: string, key: string, content: string): void;
  /** Creates an empty bucket. */
  bucket(alias: string, bucket: string): void;
  /** Every object of a bucket as key → content. */
  objects(alias: string, bucket: string): Record<string, string>;
  /** The mc command lines run so far. */
  calls(): string[];
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
  return {
    binDir,
    root,
    put(alias, bucket, key, content) {
      const path = join(root, alias, bucket, key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    },
    bucket(alias, bucket) {
      mkdirSync(join(root, alias, bucket), { recursive: true });
    },
    objects(alias, bucket) {
      const dir = join(root, alias, bucket);
      return Object.fromEntries(walk(dir).map((p) => [relative(dir, p), readFileSync(p, "utf8")]));
    },
    calls: () => readFileSync(join(root, "calls.log"), "utf8").split("\n").filter(Boolean),
  };
}
