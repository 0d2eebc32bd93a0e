/**
 * The base-backup runner and the point-in-time restore tool, as pure text (POSIX sh; the database image, which is
 * Debian-based: GNU `date -d` parses the target time). Proven against a real PostgreSQL: archive, base backup,
 * writes, restore to a time, recovery (tests/artifacts/pitr.test.ts).
 *
 * Layout on the backup volume: `base/<UTC start>Z/` holds `base.tar.gz` + `pg_wal.tar.gz` + `backup_manifest` (what
 * `pg_basebackup -Ft -z` writes), `start-wal` (the first segment the backup needs), `stop-epoch` (when it became
 * usable) and `SHA256SUMS`. A backup in progress is a dot-directory; only a verified one gets its final name.
 */
import { PAUSE_AND_STOP, SECONDS_UNTIL_DUE, scriptHeader } from "../shared/shell";
import { BACKUP_DIR } from "./scripts";
import { BACKUP_METRICS, failFunction } from "./settings";
import { WAL_ARCHIVE_DIR } from "../database/settings";

export const BASE_BACKUP_SCRIPT_PATH = "/stackport/base-backup.sh";
export const PITR_RESTORE_SCRIPT_PATH = "/stackport/pitr-restore.sh";
export const WAL_METRICS_FILE = "stackport_wal.prom";

/**
 * `check_health`, the container health check of a loop with `$LAST_SUCCESS`, `$STARTED` and `$INTERVAL_SECONDS`:
 * unhealthy when nothing succeeded for twice the interval (counted from the loop's start before a first success).
 */
export const STALE_CHECK = [
  "check_health() {",
  '  ref=$(cat "$LAST_SUCCESS" 2>/dev/null || cat "$STARTED" 2>/dev/null || echo 0)',
  '  case "$ref" in "" | *[!0-9]*) ref=0 ;; esac',
  "  age=$(($(date +%s) - ref))",
  '  if [ "$age" -lt "$((2 * INTERVAL_SECONDS))" ]; then echo "ok: last success ${age}s ago"; return 0; fi',
  '  echo "stale: no success for ${age}s (limit $((2 * INTERVAL_SECONDS))s)"',
  "  return 1",
  "}",
];

/** The Docker health check of a loop script with `STALE_CHECK` (`--check`). */
export function staleHealthcheck(scriptPath: string) {
  return {
    tests: ["CMD", "/bin/sh", scriptPath, "--check"],
    interval: "5m",
    timeout: "10s",
    retries: 1,
    startPeriod: "1m",
  };
}

export interface BaseBackupOptions {
  /** Seconds between base backups. */
  intervalSeconds: number;
  /**
   * Days back a restore may reach: base backups older than this go, except the newest of them (it is where a
   * restore to the window's start begins); archived segments older than the oldest kept base backup go with them.
   */
  retentionDays: number;
  /** Age of the oldest segment waiting to be archived beyond which archiving counts as stuck (alert). */
  archiveMaxLagSeconds: number;
}

/**
 * The runner's main process: a loop (Docker has no cron) of `pg_basebackup` (tar, gzip, WAL streamed into the
 * backup), verification, retention of base backups and then of the archive (`pg_archivecleanup` up to the oldest
 * kept base backup's first segment: never a segment a kept backup needs), and metrics. Between base backups it
 * refreshes the archiver's state from `pg_stat_archiver` every minute. `--once` = one base backup; `--metrics` = one
 * refresh of the metrics. Connects with the libpq environment (a role allowed to replicate).
 */
export function renderBaseBackupScript(opts: BaseBackupOptions): string {
  const interval = opts.intervalSeconds;
  if (!Number.isInteger(interval) || interval < 3600)
    throw new Error(`base backup interval must be >= 3600 s (${interval})`);
  if (!Number.isInteger(opts.retentionDays) || opts.retentionDays < 1)
    throw new Error(`WAL retention must be >= 1 day (${opts.retentionDays})`);
  const m = BACKUP_METRICS;
  const metric = (name: string, help: string, value: string) => [
    `    echo '# HELP ${name} ${help}'`,
    `    echo '# TYPE ${name} gauge'`,
    `    echo "${name} ${value}"`,
  ];
  const lines = [
    `INTERVAL_SECONDS=${interval}`,
    `RETENTION_DAYS=${opts.retentionDays}`,
    `ARCHIVE_MAX_LAG_SECONDS=${opts.archiveMaxLagSeconds}`,
    `BACKUP_DIR="\${BACKUP_DIR:-${BACKUP_DIR}}"`,
    `ARCHIVE="\${WAL_ARCHIVE_DIR:-${WAL_ARCHIVE_DIR}}"`,
    'BASE="$BACKUP_DIR/base"',
    'LAST_SUCCESS="$BACKUP_DIR/base-last-success"',
    'LAST_FAILURE="$BACKUP_DIR/base-last-failure"',
    'STARTED="$BACKUP_DIR/.base-started"',
    `METRICS="$BACKUP_DIR/${WAL_METRICS_FILE}"`,
    "",
    'log() { echo "stackport-base-backup: $*"; }',
    'sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 --no-password -d postgres -c "$1"; }',
    "",
    "# The archiver's view (pg_stat_archiver) and the oldest segment still waiting (.ready), as metrics.",
    "write_metrics() {",
    "  archiver=$(sql \"SELECT coalesce(extract(epoch FROM last_archived_time)::bigint, 0) || ' ' || coalesce(extract(epoch FROM last_failed_time)::bigint, 0) || ' ' || coalesce((SELECT extract(epoch FROM now() - min(modification))::bigint FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'), 0) FROM pg_stat_archiver\") ||",
    "    archiver='0 0 0'",
    "  # shellcheck disable=SC2086 # three numbers, split on purpose",
    "  set -- $archiver",
    "  {",
    ...metric(m.walLastArchived, "Unix time PostgreSQL last archived a WAL segment.", "$1"),
    ...metric(m.walLastArchiveFailure, "Unix time the archive_command last failed.", "$2"),
    ...metric(m.walPendingAge, "Age of the oldest WAL segment waiting to be archived (0 when none).", "$3"),
    ...metric(
      m.walMaxPendingAge,
      "Pending age beyond which archiving counts as stuck.",
      "$ARCHIVE_MAX_LAG_SECONDS",
    ),
    ...metric(
      m.baseLastSuccess,
      "Unix time of the last verified base backup.",
      '$(cat "$LAST_SUCCESS" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.baseLastFailure,
      "Unix time of the last failed base backup.",
      '$(cat "$LAST_FAILURE" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.baseStarted,
      "Unix time the base-backup runner started (the age reference before a first success).",
      '$(cat "$STARTED" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.baseMaxAge,
      "Age of the last base backup beyond which it is overdue.",
      "$((2 * INTERVAL_SECONDS))",
    ),
    '  } >"$METRICS.tmp" && mv "$METRICS.tmp" "$METRICS"',
    "}",
    "",
    ...failFunction({ cleanup: 'rm -rf "$partial"', untouched: "older base backups and the archive" }),
    "",
    "# Base backups to keep, newest first: those that finished within the window, and the newest one before it.",
    "kept_backups() {",
    "  cutoff=$(($(date +%s) - RETENTION_DAYS * 86400))",
    '  for b in $(find "$BASE" -mindepth 1 -maxdepth 1 -type d -name "[0-9]*Z" | sort -r); do',
    '    echo "$b"',
    '    stop=$(cat "$b/stop-epoch" 2>/dev/null || echo 0)',
    '    [ "$stop" -ge "$cutoff" ] || break',
    "  done",
    "}",
    "",
    "apply_retention() {",
    "  kept=$(kept_backups) || return 1",
    '  [ -n "$kept" ] || return 1',
    '  find "$BASE" -mindepth 1 -maxdepth 1 -type d -name "[0-9]*Z" | while IFS= read -r b; do',
    '    case "$kept" in *"$b"*) ;; *) rm -rf "$b" && log "removed base backup $b" ;; esac',
    "  done",
    "  oldest=$(printf '%s\\n' \"$kept\" | tail -n 1)",
    '  first=$(cat "$oldest/start-wal")',
    "  # Removes segments older than the oldest kept backup's first one; history and .backup files stay.",
    '  pg_archivecleanup "$ARCHIVE" "$first"',
    "}",
    "",
    "backup_once() {",
    "  started=$(date +%s)",
    "  stamp=$(date -u +%Y%m%dT%H%M%SZ)",
    '  partial="$BASE/.$stamp.partial"',
    '  mkdir -p "$BASE" || { log "FAILED: cannot create $BASE"; return 1; }',
    '  find "$BASE" -mindepth 1 -maxdepth 1 -type d -name ".*.partial" -exec rm -rf {} +',
    '  pg_basebackup --no-password --pgdata="$partial" --format=tar --gzip --wal-method=stream \\',
    '    --checkpoint=fast --label="stackport-$stamp" || { fail "pg_basebackup exited $?"; return 1; }',
    "  for f in base.tar.gz pg_wal.tar.gz; do",
    '    gzip -t "$partial/$f" || { fail "$f of the new base backup is damaged"; return 1; }',
    "  done",
    "  # The first segment a restore from this backup reads: backup_label's START WAL LOCATION.",
    "  first=$(tar -xzOf \"$partial/base.tar.gz\" backup_label | sed -n 's/^START WAL LOCATION: .* (file \\([0-9A-F]\\{24\\}\\))$/\\1/p')",
    '  [ "${#first}" -eq 24 ] || { fail "no START WAL LOCATION in the backup label"; return 1; }',
    '  echo "$first" >"$partial/start-wal"',
    '  date +%s >"$partial/stop-epoch"',
    '  (cd "$partial" && sha256sum base.tar.gz pg_wal.tar.gz backup_manifest >SHA256SUMS) ||',
    '    { fail "cannot checksum the new base backup"; return 1; }',
    '  mv "$partial" "$BASE/$stamp" || { fail "cannot move the new base backup into place"; return 1; }',
    '  apply_retention || log "warning: retention failed (nothing was removed that a kept backup needs)"',
    '  { date +%s >"$LAST_SUCCESS.tmp" && mv "$LAST_SUCCESS.tmp" "$LAST_SUCCESS"; } || { log "FAILED: cannot record success"; return 1; }',
    "  write_metrics || true",
    '  log "ok $BASE/$stamp (first segment $first, $(($(date +%s) - started))s, verified); keeping $(kept_backups | wc -l) base backup(s)"',
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
    '  mkdir -p "$BACKUP_DIR"',
    '  date +%s >"$STARTED"',
    '  log "base backup every ${INTERVAL_SECONDS}s into $BASE; restores reach back ${RETENTION_DAYS} day(s)"',
    "  while :; do",
    "    write_metrics || true",
    "    due=$(seconds_until_due)",
    '    if [ "$due" -gt 0 ]; then',
    '      if [ "$due" -gt 60 ]; then due=60; fi',
    '      pause "$due"',
    "    elif ! backup_once; then",
    "      pause 900",
    "    fi",
    "  done",
    "}",
    "",
    'case "${1:-}" in',
    '  "") main_loop ;;',
    "  --once) if backup_once; then exit 0; else exit 1; fi ;;",
    "  --metrics) write_metrics ;;",
    "  --check) check_health ;;",
    '  *) echo "usage: $0 [--once | --metrics | --check]" >&2; exit 2 ;;',
    "esac",
    "",
  ];
  return (
    scriptHeader("base backups of the database cluster, and the WAL archive's retention") + lines.join("\n")
  );
}

/**
 * The point-in-time restore tool: `pitr-restore.sh --target-time TIME [--base NAME] DATA_DIR`.
 *
 * TIME must carry its time zone (`2026-03-01 10:15:00+00`, `…Z`): without one PostgreSQL would read it in the
 * server's zone. Picks the newest verified base backup that finished before TIME (or `--base`), checks its
 * `SHA256SUMS`, unpacks it into DATA_DIR (which must be empty: this never overwrites a cluster), and sets up
 * recovery: `recovery.signal`, `restore_command` reading the archive, `recovery_target_time = TIME` with
 * `recovery_target_inclusive = on` (transactions that committed at TIME or before are kept, later ones are not) and
 * `recovery_target_action = promote`. Starting PostgreSQL on DATA_DIR then replays the archive up to TIME and opens
 * the database on a new timeline. `WAL_ARCHIVE_DIR` is the archive's path where that server runs (the database
 * container: `/wal-archive`); `BACKUP_DIR` where the base backups are.
 */
export function renderPitrRestoreScript(): string {
  const lines = [
    `BACKUP_DIR="\${BACKUP_DIR:-${BACKUP_DIR}}"`,
    `ARCHIVE="\${WAL_ARCHIVE_DIR:-${WAL_ARCHIVE_DIR}}"`,
    'BASE="$BACKUP_DIR/base"',
    "",
    'log() { echo "stackport-pitr: $*"; }',
    'die() { echo "stackport-pitr: $*" >&2; exit 1; }',
    "usage() { echo \"usage: $0 --target-time 'YYYY-MM-DD HH:MM:SS+00' [--base NAME] DATA_DIR\" >&2; exit 2; }",
    "",
    "target='' base=''",
    'while [ "$#" -gt 1 ]; do',
    '  case "$1" in',
    "    --target-time) target=$2; shift 2 ;;",
    "    --base) base=$2; shift 2 ;;",
    "    *) usage ;;",
    "  esac",
    "done",
    '{ [ "$#" -eq 1 ] && [ -n "$target" ]; } || usage',
    "data=$1",
    "",
    "# A zone is required; PostgreSQL and GNU date both read these forms.",
    "printf '%s\\n' \"$target\" | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})? ?(Z|UTC|[+-][0-9]{2}(:?[0-9]{2})?)' ||",
    "  die \"target time '$target' must look like 2026-03-01 10:15:00+00 (with its time zone)\"",
    'target_epoch=$(date -d "$target" +%s) || die "cannot read the target time \'$target\'"',
    '[ "$target_epoch" -le "$(date +%s)" ] || die "the target time $target is in the future"',
    "",
    'if [ -z "$base" ]; then',
    '  for b in $(find "$BASE" -mindepth 1 -maxdepth 1 -type d -name "[0-9]*Z" 2>/dev/null | sort -r); do',
    '    stop=$(cat "$b/stop-epoch" 2>/dev/null || echo 0)',
    '    if [ "$stop" -lt "$target_epoch" ]; then base=$(basename "$b"); break; fi',
    "  done",
    '  [ -n "$base" ] || die "no base backup in $BASE finished before $target: the oldest restorable time is just after the oldest base backup"',
    "fi",
    'dir="$BASE/$base"',
    '[ -f "$dir/base.tar.gz" ] || die "no base backup $dir"',
    'log "base backup $base (first segment $(cat "$dir/start-wal"))"',
    '(cd "$dir" && sha256sum -c --quiet SHA256SUMS) || die "checksum mismatch in $dir: the base backup is damaged; pick an older one with --base"',
    "",
    'mkdir -p "$data"',
    '[ -z "$(ls -A "$data")" ] || die "$data is not empty: restore into an empty directory (this never overwrites a cluster)"',
    'tar -xzf "$dir/base.tar.gz" -C "$data" || die "cannot unpack $dir/base.tar.gz"',
    'mkdir -p "$data/pg_wal"',
    'tar -xzf "$dir/pg_wal.tar.gz" -C "$data/pg_wal" || die "cannot unpack $dir/pg_wal.tar.gz"',
    'rm -f "$data/standby.signal"',
    ': >"$data/recovery.signal"',
    "{",
    "  echo '# stackport point-in-time recovery (pitr-restore.sh); inert once the server has promoted'",
    "  echo \"restore_command = 'cp $ARCHIVE/%f %p'\"",
    "  echo \"recovery_target_time = '$target'\"",
    "  echo 'recovery_target_inclusive = on'",
    "  echo \"recovery_target_action = 'promote'\"",
    '} >>"$data/postgresql.auto.conf"',
    "# The server runs as postgres and refuses a data directory others can read.",
    'if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then chown -R postgres:postgres "$data"; fi',
    'chmod 0700 "$data"',
    'log "ready: start PostgreSQL on $data; it replays $ARCHIVE up to $target and opens on a new timeline"',
    "",
  ];
  return (
    scriptHeader("prepare a point-in-time restore from a base backup and the WAL archive") + lines.join("\n")
  );
}
