/**
 * Backups that survive the host, as pure text: a loop that copies the backup volume (dumps, base backups), the WAL
 * archive and a mirror of the object store into a restic repository off the host — an S3-compatible bucket, or a
 * directory on a drive mounted on the host — encrypted there (restic encrypts and authenticates everything it
 * writes; the repository password never leaves the container's environment), and the object-store mirror loop that
 * feeds it. Proven with the real `restic` (Debian) and `shellcheck -s sh` (tests/artifacts/offhost-backup.test.ts).
 *
 * The loop runs in the official `restic/restic` image: Alpine (BusyBox `sh`), `ENTRYPOINT ["/usr/bin/restic"]`
 * (restic/restic docker/Dockerfile at v0.18.1; later versions exec restic from `/entrypoint.sh` instead), so the
 * container overrides the entrypoint with `/bin/sh`. The commands used (`cat config`, `init`, `backup --host --tag --exclude`,
 * `forget --keep-within --prune`, `check`) behave alike from 0.14 (Debian bookworm's, which the tests run) to 0.18.
 */
import { LAST_PASS_HEALTH, PAUSE_AND_STOP, SECONDS_UNTIL_DUE, scriptHeader, shQuote } from "../shared/shell";
import { BACKUP_DIR } from "./scripts";
import { BACKUP_METRICS, RECORD_SUCCESS, failFunction } from "./settings";
import { STALE_CHECK } from "./walScripts";

export const OFFHOST_SCRIPT_PATH = "/stackport/offhost.sh";
export const OBJECTS_MIRROR_SCRIPT_PATH = "/stackport/objects-mirror.sh";
export const OFFHOST_METRICS_FILE = "stackport_offhost.prom";
/** Where the object mirror keeps its copy of the buckets (a volume), one directory per bucket key. */
export const OBJECTS_DIR = "/objects";
/** The restic host name of every snapshot: restores and `forget` select by it, whatever the container's id. */
export const RESTIC_HOST = "stackport";
/**
 * What is never copied off the host: files being written (`*.partial`, `*.tmp`, the base backup in progress
 * `.<stamp>.partial`), and state that changes every minute (metrics, loop start times).
 */
export const OFFHOST_EXCLUDES = ["*.partial", "*.tmp", "*.prom", ".*-started"] as const;

export interface OffHostScriptOptions {
  /** Absolute paths in the container to copy (the backup volume, the WAL archive, the object mirror). */
  paths: string[];
  /** Seconds between copies. */
  intervalSeconds: number;
  /** Days of snapshots kept in the repository (`forget --keep-within <days>d --prune`). */
  retentionDays: number;
}

/**
 * The off-host loop: per interval, open the repository (create it on first use; an existing one is never
 * re-created: `init` refuses a repository that exists), `restic backup` of the paths as one snapshot, then `forget
 * --keep-within --prune` and `check` (structure, not every data blob). Every snapshot holds the backup volume and the
 * archive as they were at one moment, so each one is consistent on its own: its base backups and every segment
 * after the oldest of them. `--once` = one copy (exit 0/1). Needs `RESTIC_REPOSITORY` and `RESTIC_PASSWORD` (and
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` for an S3 repository) in the environment; the metrics file goes into
 * `BACKUP_DIR`.
 */
export function renderOffHostScript(opts: OffHostScriptOptions): string {
  const interval = opts.intervalSeconds;
  if (!Number.isInteger(interval) || interval < 3600)
    throw new Error(`off-host interval must be >= 3600 s (${interval})`);
  if (!Number.isInteger(opts.retentionDays) || opts.retentionDays < 1)
    throw new Error(`off-host retention must be >= 1 day (${opts.retentionDays})`);
  if (opts.paths.length === 0 || opts.paths.some((p) => !/^\/[A-Za-z0-9._/-]+$/.test(p)))
    throw new Error(`off-host paths must be absolute plain paths (${opts.paths.join(", ")})`);
  const m = BACKUP_METRICS;
  const metric = (name: string, help: string, value: string) => [
    `    echo '# HELP ${name} ${help}'`,
    `    echo '# TYPE ${name} gauge'`,
    `    echo "${name} ${value}"`,
  ];
  const lines = [
    `INTERVAL_SECONDS=${interval}`,
    `RETENTION_DAYS=${opts.retentionDays}`,
    `HOST_TAG=${RESTIC_HOST}`,
    `BACKUP_DIR="\${BACKUP_DIR:-${BACKUP_DIR}}"`,
    'LAST_SUCCESS="$BACKUP_DIR/offhost-last-success"',
    'LAST_FAILURE="$BACKUP_DIR/offhost-last-failure"',
    'STARTED="$BACKUP_DIR/.offhost-started"',
    `METRICS="$BACKUP_DIR/${OFFHOST_METRICS_FILE}"`,
    "",
    'log() { echo "stackport-offhost: $*"; }',
    ': "${RESTIC_REPOSITORY:?must be set}" "${RESTIC_PASSWORD:?must be set}"',
    "",
    "write_metrics() {",
    "  {",
    ...metric(
      m.offHostLastSuccess,
      "Unix time of the last snapshot copied off the host and checked.",
      '$(cat "$LAST_SUCCESS" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.offHostLastFailure,
      "Unix time of the last failed off-host copy.",
      '$(cat "$LAST_FAILURE" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.offHostStarted,
      "Unix time the off-host loop started (the age reference before a first success).",
      '$(cat "$STARTED" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.offHostMaxAge,
      "Age of the last off-host copy beyond which it is overdue.",
      "$((2 * INTERVAL_SECONDS))",
    ),
    '  } >"$METRICS.tmp" && mv "$METRICS.tmp" "$METRICS"',
    "}",
    "",
    ...failFunction(),
    "",
    "copy_once() {",
    "  started=$(date +%s)",
    "  if ! restic cat config >/dev/null 2>&1; then",
    '    log "no repository at $RESTIC_REPOSITORY yet (or it cannot be opened): initialising"',
    '    restic init || { fail "cannot open or create the repository (wrong password, or unreachable)"; return 1; }',
    "  fi",
    `  restic backup --host "$HOST_TAG" --tag stackport ${OFFHOST_EXCLUDES.map((x) => `--exclude ${shQuote(x)}`).join(" ")} \\`,
    `    ${opts.paths.map(shQuote).join(" ")} || { fail "restic backup exited $?"; return 1; }`,
    '  restic forget --host "$HOST_TAG" --tag stackport --keep-within "${RETENTION_DAYS}d" --prune ||',
    '    { fail "restic forget/prune exited $?"; return 1; }',
    '  restic check || { fail "restic check found a damaged repository"; return 1; }',
    RECORD_SUCCESS,
    "  write_metrics || true",
    '  log "ok: snapshot copied to the repository and checked ($(($(date +%s) - started))s); snapshots older than ${RETENTION_DAYS} day(s) pruned"',
    "}",
    "",
    ...SECONDS_UNTIL_DUE,
    "",
    ...PAUSE_AND_STOP,
    "",
    ...STALE_CHECK,
    "",
    "main_loop() {",
    "  trap stop TERM INT",
    '  date +%s >"$STARTED"',
    "  write_metrics || true",
    '  log "copying to the off-host repository every ${INTERVAL_SECONDS}s"',
    "  while :; do",
    "    due=$(seconds_until_due)",
    '    if [ "$due" -gt 0 ]; then',
    '      pause "$due"',
    "    elif ! copy_once; then",
    "      pause 900",
    "    fi",
    "  done",
    "}",
    "",
    'case "${1:-}" in',
    '  "") main_loop ;;',
    "  --once) if copy_once; then exit 0; else exit 1; fi ;;",
    "  --check) check_health ;;",
    '  *) echo "usage: $0 [--once | --check]" >&2; exit 2 ;;',
    "esac",
    "",
  ];
  return (
    scriptHeader("copy the backups, the WAL archive and the object mirror off the host (restic)") +
    lines.join("\n")
  );
}

/** The `mc` alias of the object store the mirror reads; its URL (with credentials) comes from `MC_HOST_storage`. */
export const OBJECTS_MC_ALIAS = "storage";

/**
 * The object mirror loop (`mc` image): every `pollSeconds`, `mc mirror --overwrite --remove` of each bucket into
 * `OBJECTS_DIR/<key>`, so the directory is the buckets' current objects (deleted objects disappear from it; the
 * restic snapshots keep them as long as their retention). Reads with a read-only credential. `BUCKETS` is
 * space-separated `key=physical-name`.
 */
export function renderObjectsMirrorScript(opts: { pollSeconds: number }): string {
  const lines = [
    `ALIAS=${OBJECTS_MC_ALIAS}`,
    `POLL_SECONDS=${opts.pollSeconds}`,
    `OBJECTS="\${OBJECTS_DIR:-${OBJECTS_DIR}}"`,
    'log() { echo "stackport-objects-mirror: $*"; }',
    ...LAST_PASS_HEALTH,
    ': "${BUCKETS:?must be set}" "${MC_HOST_storage:?must be set}"',
    "",
    "mirror_once() {",
    "  ok=0",
    "  for pair in $BUCKETS; do",
    "    key=${pair%%=*}",
    "    bucket=${pair#*=}",
    '    mkdir -p "$OBJECTS/$key"',
    '    mc mirror --overwrite --remove "$ALIAS/$bucket" "$OBJECTS/$key" || { log "FAILED: mirror of $bucket"; ok=1; }',
    "  done",
    '  return "$ok"',
    "}",
    "",
    'if [ "${1:-}" = "--once" ]; then',
    "  if mirror_once; then exit 0; else exit 1; fi",
    "fi",
    "",
    ...PAUSE_AND_STOP,
    "trap stop TERM INT",
    'log "mirroring $BUCKETS into $OBJECTS every ${POLL_SECONDS}s"',
    "while :; do",
    "  if mirror_once; then record_pass ok; else record_pass failed; fi",
    '  pause "$POLL_SECONDS"',
    "done",
    "",
  ];
  return (
    scriptHeader("mirror the object store's buckets into a directory for the off-host copy") +
    lines.join("\n")
  );
}
