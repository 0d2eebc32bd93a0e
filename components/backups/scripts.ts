/**
 * The backup tier's scripts, as pure text: the backup loop, the restore tool and the bucket sync loop. Kept free of
 * Pulumi so tests run them for real (against a throwaway PostgreSQL + PostGIS cluster) and through `shellcheck -s sh`.
 *
 * All three are POSIX sh: they run in the database image (Debian or Alpine/BusyBox) and the `mc` image.
 */
import { assertSqlIdentifier } from "../shared/formats";
import { LAST_PASS_HEALTH, PAUSE_AND_STOP, SECONDS_UNTIL_DUE, scriptHeader, shQuote } from "../shared/shell";
import { BACKUP_METRICS, failFunction } from "./settings";

/** Where the backup volume is mounted in the containers; the scripts take `BACKUP_DIR` to override it (tests). */
export const BACKUP_DIR = "/backups";
/** Where the scripts are uploaded in the backup-runner container (the runbook points here). */
export const BACKUP_SCRIPT_PATH = "/stackport/backup.sh";
export const RESTORE_SCRIPT_PATH = "/stackport/restore.sh";
export const SYNC_SCRIPT_PATH = "/stackport/sync.sh";
/** Files the backup loop keeps next to the dumps (besides the dumps and their `.sha256` files). */
export const LAST_SUCCESS_FILE = "last-success";
export const METRICS_FILE = "stackport_backup.prom";
/** Metric the backup loop writes in Prometheus text format (textfile-collector style). */
export const LAST_SUCCESS_METRIC = BACKUP_METRICS.lastSuccess;
/** The role restored objects belong to: the migration role of the database tier (seed 002). */
export const RESTORE_ROLE = "db_admin";

/** How long to keep dumps: the newest `count`, or those younger than `days`. */
export type Retention = { days: number } | { count: number };

export interface BackupScriptOptions {
  /** Database to dump (a lower-case SQL identifier: it becomes part of file names). */
  database: string;
  retention: Retention;
  /** Seconds between successful backups. */
  intervalSeconds: number;
  /** Seconds before retrying after a failed backup. @default min(900, intervalSeconds) */
  retrySeconds?: number;
}

/** `find -name` pattern of the dumps of one database: `<db>-YYYYMMDDTHHMMSSZ.dump`, nothing else. */
export function dumpGlob(database: string): string {
  assertSqlIdentifier(database, "database name");
  return `${database}-${"[0-9]".repeat(8)}T${"[0-9]".repeat(6)}Z.dump`;
}

function retentionLines(retention: Retention): string[] {
  if ("days" in retention) {
    const days = retention.days;
    if (!Number.isInteger(days) || days < 1)
      throw new Error(`retention days must be a positive integer (${days})`);
    return [
      `# Retention: ${days} day(s). find's -mtime +N means "more than N whole days old", so +${days - 1} is ">= ${days} days".`,
      "# Only this database's dumps and their checksums match; nothing else in the directory is ever touched.",
      "apply_retention() {",
      '  find "$BACKUP_DIR" -maxdepth 1 -type f \\( -name "$DUMP_GLOB" -o -name "$DUMP_GLOB.sha256" \\) \\',
      `    -mtime +${days - 1} -print -exec rm -f {} + | wc -l`,
      "}",
      `RETENTION_TEXT='${days} day(s)'`,
    ];
  }
  const count = retention.count;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`retention count must be a positive integer (${count})`);
  return [
    `# Retention: the newest ${count} dump(s). Names sort by their UTC timestamp, so reverse order is newest first.`,
    "# Only this database's dumps (and each one's checksum) match; nothing else in the directory is ever touched.",
    "apply_retention() {",
    '  find "$BACKUP_DIR" -maxdepth 1 -type f -name "$DUMP_GLOB" | sort -r | tail -n +' +
      String(count + 1) +
      " |",
    "    while IFS= read -r old; do",
    '      rm -f "$old" "$old.sha256" && echo "$old"',
    "    done | wc -l",
    "}",
    `RETENTION_TEXT='newest ${count}'`,
  ];
}

/**
 * The backup-runner's main process. Docker has no cron and the PostgreSQL image ships none, so the script loops:
 * one verified `pg_dump -Fc` per interval. A loop is restart-safe: with `restart: unless-stopped` Docker brings it
 * back after a crash or reboot, and it waits out what is left of the interval since the last success instead of
 * dumping again at once.
 *
 * Modes: no argument = the loop; `--once` = one backup (exit 0/1); `--check` = the container health check (fails
 * when the last success is older than twice the interval).
 *
 * Connection settings come from the libpq environment (PGHOST, PGPORT, PGUSER, PGPASSWORD).
 */
export function renderBackupScript(opts: BackupScriptOptions): string {
  const glob = dumpGlob(opts.database);
  const interval = opts.intervalSeconds;
  if (!Number.isInteger(interval) || interval < 60)
    throw new Error(`backup interval must be >= 60 s (${interval})`);
  const retry = opts.retrySeconds ?? Math.min(900, interval);
  const lines = [
    `DATABASE=${shQuote(opts.database)}`,
    `DUMP_GLOB=${shQuote(glob)}`,
    `INTERVAL_SECONDS=${interval}`,
    `RETRY_SECONDS=${retry}`,
    `BACKUP_DIR="\${BACKUP_DIR:-${BACKUP_DIR}}"`,
    `LAST_SUCCESS="$BACKUP_DIR/${LAST_SUCCESS_FILE}"`,
    `LAST_FAILURE="$BACKUP_DIR/last-failure"`,
    `LAST_SIZE="$BACKUP_DIR/last-size-bytes"`,
    `METRICS="$BACKUP_DIR/${METRICS_FILE}"`,
    // Dot-file: the bucket sync skips it.
    'STARTED="$BACKUP_DIR/.runner-started"',
    // The age the stale-backup alert allows: the same limit as the health check.
    "MAX_AGE_SECONDS=$((2 * INTERVAL_SECONDS))",
    "",
    'log() { echo "stackport-backup: $*"; }',
    "",
    ...retentionLines(opts.retention),
    "",
    "# Rewritten atomically from the state files, so a scrape never sees half a file.",
    "write_metrics() {",
    "  {",
    `    echo '# HELP ${LAST_SUCCESS_METRIC} Unix time of the last verified database backup.'`,
    `    echo '# TYPE ${LAST_SUCCESS_METRIC} gauge'`,
    `    echo "${LAST_SUCCESS_METRIC}{database=\\"$DATABASE\\"} $(cat "$LAST_SUCCESS" 2>/dev/null || echo 0)"`,
    "    echo '# HELP stackport_backup_last_failure_timestamp_seconds Unix time of the last failed backup attempt.'",
    "    echo '# TYPE stackport_backup_last_failure_timestamp_seconds gauge'",
    '    echo "stackport_backup_last_failure_timestamp_seconds{database=\\"$DATABASE\\"} $(cat "$LAST_FAILURE" 2>/dev/null || echo 0)"',
    "    echo '# HELP stackport_backup_last_size_bytes Size of the last verified dump.'",
    "    echo '# TYPE stackport_backup_last_size_bytes gauge'",
    '    echo "stackport_backup_last_size_bytes{database=\\"$DATABASE\\"} $(cat "$LAST_SIZE" 2>/dev/null || echo 0)"',
    `    echo '# HELP ${BACKUP_METRICS.started} Unix time the backup runner started (the age reference before a first success).'`,
    `    echo '# TYPE ${BACKUP_METRICS.started} gauge'`,
    `    echo "${BACKUP_METRICS.started}{database=\\"$DATABASE\\"} $(cat "$STARTED" 2>/dev/null || echo 0)"`,
    `    echo '# HELP ${BACKUP_METRICS.maxAge} Age of the last success beyond which the backup is overdue.'`,
    `    echo '# TYPE ${BACKUP_METRICS.maxAge} gauge'`,
    `    echo "${BACKUP_METRICS.maxAge}{database=\\"$DATABASE\\"} $MAX_AGE_SECONDS"`,
    '  } >"$METRICS.tmp" && mv "$METRICS.tmp" "$METRICS"',
    "}",
    "",
    "# A failed run keeps every older dump: retention only runs after a verified success.",
    ...failFunction({ cleanup: 'rm -f "$partial" "$partial_sum"', untouched: "older backups" }),
    "",
    "# Called where `set -e` is off (an if condition), so every step is checked explicitly.",
    "backup_once() {",
    "  started=$(date +%s)",
    '  name="$DATABASE-$(date -u +%Y%m%dT%H%M%SZ).dump"',
    '  partial="$BACKUP_DIR/$name.partial"',
    '  partial_sum="$BACKUP_DIR/$name.sha256.partial"',
    '  mkdir -p "$BACKUP_DIR" || { log "FAILED: cannot create $BACKUP_DIR"; return 1; }',
    "  # Leftovers of a run killed mid-dump; older than a day, so never another run's file in progress.",
    '  find "$BACKUP_DIR" -maxdepth 1 -type f \\( -name "$DUMP_GLOB.partial" -o -name "$DUMP_GLOB.sha256.partial" \\) \\',
    "    -mtime +0 -exec rm -f {} +",
    '  pg_dump --format=custom --no-password --dbname="$DATABASE" --file="$partial" ||',
    '    { fail "pg_dump of $DATABASE exited $?"; return 1; }',
    "  # A dump pg_restore cannot read is not a backup.",
    '  pg_restore --list "$partial" >/dev/null || { fail "the new dump is unreadable (pg_restore --list)"; return 1; }',
    '  sum=$(sha256sum <"$partial" | cut -c1-64)',
    '  [ "${#sum}" -eq 64 ] || { fail "cannot checksum the new dump"; return 1; }',
    '  printf \'%s  %s\\n\' "$sum" "$name" >"$partial_sum" || { fail "cannot write the checksum"; return 1; }',
    "  # Checksum first: a .dump without its .sha256 never exists, even if the container dies between the renames.",
    '  { mv "$partial_sum" "$BACKUP_DIR/$name.sha256" && mv "$partial" "$BACKUP_DIR/$name"; } ||',
    '    { fail "cannot move the new dump into place"; return 1; }',
    '  size=$(($(wc -c <"$BACKUP_DIR/$name")))',
    "  removed=$(apply_retention) || removed='? (retention failed)'",
    '  { date +%s >"$LAST_SUCCESS.tmp" && mv "$LAST_SUCCESS.tmp" "$LAST_SUCCESS"; } ||',
    '    { log "FAILED: cannot record success"; return 1; }',
    '  echo "$size" >"$LAST_SIZE"',
    "  write_metrics || true",
    '  log "ok $name ($size bytes, $(($(date +%s) - started))s, verified, sha256 $sum); retention $RETENTION_TEXT removed $removed file(s)"',
    "}",
    "",
    "# Seconds until the next backup is due: 0 without an earlier success.",
    ...SECONDS_UNTIL_DUE,
    "",
    ...PAUSE_AND_STOP,
    "",
    "main_loop() {",
    "  trap stop TERM INT",
    '  mkdir -p "$BACKUP_DIR"',
    '  date +%s >"$STARTED"',
    "  write_metrics || true",
    '  log "backing up $DATABASE every ${INTERVAL_SECONDS}s into $BACKUP_DIR (retention $RETENTION_TEXT)"',
    "  while :; do",
    "    due=$(seconds_until_due)",
    '    if [ "$due" -gt 0 ]; then',
    '      log "next backup in ${due}s"',
    '      pause "$due"',
    "    elif backup_once; then",
    "      :",
    "    else",
    '      log "retrying in ${RETRY_SECONDS}s"',
    '      pause "$RETRY_SECONDS"',
    "    fi",
    "  done",
    "}",
    "",
    "# The health check: unhealthy when no backup succeeded for twice the interval (counted from the runner's start",
    "# when there was never one).",
    "check_health() {",
    '  ref=$(cat "$LAST_SUCCESS" 2>/dev/null || cat "$STARTED" 2>/dev/null || echo 0)',
    '  case "$ref" in "" | *[!0-9]*) ref=0 ;; esac',
    "  age=$(($(date +%s) - ref))",
    '  if [ "$age" -lt "$MAX_AGE_SECONDS" ]; then',
    '    echo "ok: last successful backup ${age}s ago"',
    "  else",
    '    echo "stale: no successful backup for ${age}s (limit ${MAX_AGE_SECONDS}s)"',
    "    return 1",
    "  fi",
    "}",
    "",
    'case "${1:-}" in',
    '  "") main_loop ;;',
    "  --once) if backup_once; then exit 0; else exit 1; fi ;;",
    "  --check) check_health ;;",
    '  *) echo "usage: $0 [--once | --check]" >&2; exit 2 ;;',
    "esac",
    "",
  ];
  return scriptHeader(`back up database ${opts.database} with pg_dump in a loop`) + lines.join("\n");
}

export interface RestoreScriptOptions {
  /** The database a restore replaces when no target is given. */
  database: string;
}

/**
 * The restore tool, uploaded next to the backup script: `restore.sh [--force] DUMP [TARGET_DATABASE]`.
 *
 * Refuses a dump whose `.sha256` is missing or does not match. Restores into TARGET_DATABASE (default: the
 * configured database): a new or empty one directly; a non-empty one only with `--force`, and then by restoring
 * into `<target>_restoring` and swapping names, so the current database is kept as `<target>_pre_<time>` and a
 * failed restore changes nothing.
 *
 * Two phases, because PostGIS is not a trusted extension: the extensions (and the rows users added to extension
 * tables such as `spatial_ref_sys`) are restored as the connecting superuser; everything else with
 * `--no-owner --role=db_admin`, so restored objects belong to the migration role as they do after the bootstrap.
 * Both phases run with `--exit-on-error --single-transaction`. Prints per-table row counts at the end.
 */
export function renderRestoreScript(opts: RestoreScriptOptions): string {
  assertSqlIdentifier(opts.database, "database name");
  const lines = [
    `DEFAULT_DATABASE=${shQuote(opts.database)}`,
    `ROLE=${RESTORE_ROLE}`,
    "",
    'log() { echo "stackport-restore: $*"; }',
    'die() { echo "stackport-restore: $*" >&2; exit 1; }',
    'usage() { echo "usage: $0 [--force] DUMP_FILE [TARGET_DATABASE]   (default target: $DEFAULT_DATABASE)" >&2; exit 2; }',
    "",
    "force=0",
    'if [ "${1:-}" = "--force" ]; then force=1; shift; fi',
    '{ [ "$#" -ge 1 ] && [ "$#" -le 2 ]; } || usage',
    "dump=$1",
    "target=${2:-$DEFAULT_DATABASE}",
    "",
    "# The target ends up inside SQL and database names: only plain identifiers, short enough for the suffixes.",
    "printf '%s\\n' \"$target\" | grep -Eqx '[a-z_][a-z0-9_]{0,41}' ||",
    "  die \"target database '$target' must be a lower-case SQL identifier of at most 42 characters\"",
    "",
    '[ -f "$dump" ] || die "no such dump file: $dump"',
    '[ -f "$dump.sha256" ] || die "no checksum file $dump.sha256: copy it along with the dump (an unverified dump is not restored)"',
    'expected=$(cut -c1-64 <"$dump.sha256")',
    'actual=$(sha256sum <"$dump" | cut -c1-64)',
    '{ [ "${#actual}" -eq 64 ] && [ "$expected" = "$actual" ]; } ||',
    '  die "checksum mismatch for $dump (expected $expected, got $actual): the file is damaged or incomplete; use another dump"',
    'log "checksum ok ($actual)"',
    "",
    "work=$(mktemp -d)",
    "trap 'rm -rf \"$work\"' EXIT",
    'pg_restore --list "$dump" >"$work/toc" || die "$dump is not a pg_dump custom-format archive"',
    "",
    "# Phase 1 (as the superuser): extensions, their comments, and data of tables the dump does not define — those",
    "# belong to an extension (PostGIS's spatial_ref_sys). TOC lines: '<id>; <tableoid> <oid> <kind…> <schema> <name> <owner>'.",
    'awk \'$4 == "TABLE" && $5 != "DATA" { print $3 }\' "$work/toc" >"$work/defined"',
    "awk 'NR == FNR { defined[$1] = 1; next }",
    '  $4 == "EXTENSION" || ($4 == "COMMENT" && $5 == "-" && $6 == "EXTENSION") ||',
    '  ($4 == "TABLE" && $5 == "DATA" && !($3 in defined))\' "$work/defined" "$work/toc" >"$work/phase1"',
    "# Phase 2 (as db_admin): everything else.",
    'grep -v -x -F -f "$work/phase1" "$work/toc" >"$work/phase2" || true',
    "",
    '# Statements on the maintenance database; notices ("does not exist, skipping") are noise here.',
    "admin() { psql -X -q -t -A -v ON_ERROR_STOP=1 --no-password -d postgres -c 'SET client_min_messages = warning' -c \"$1\"; }",
    "# Tables and views that are not part of an extension: what makes a database 'non-empty'.",
    "user_relations() {",
    '  psql -X -q -t -A -v ON_ERROR_STOP=1 --no-password -d "$1" -c "',
    "    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
    "    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')",
    "      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
    "      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')\"",
    "}",
    "create_database() {",
    '  { admin "CREATE DATABASE \\"$1\\"" && admin "GRANT CREATE ON DATABASE \\"$1\\" TO $ROLE"; } || die "cannot create database $1"',
    "}",
    "",
    'exists=$(admin "SELECT count(*) FROM pg_database WHERE datname = \'$target\'") || die "cannot connect to PostgreSQL"',
    "swap=0",
    "created=0",
    "into=$target",
    'if [ "$exists" = 1 ]; then',
    '  relations=$(user_relations "$target") || die "cannot inspect database $target"',
    '  if [ "$relations" -gt 0 ]; then',
    '    [ "$force" = 1 ] || die "database $target is not empty ($relations tables/views). Restore into a new database (give its name as the second argument), or pass --force to replace $target (the current one is kept under another name)"',
    "    swap=1",
    '    into="${target}_restoring"',
    "    # A leftover of an interrupted restore: the name is reserved for this script.",
    '    admin "DROP DATABASE IF EXISTS \\"$into\\"" || die "cannot drop the leftover database $into"',
    '    create_database "$into"',
    "    created=1",
    "  else",
    '    admin "GRANT CREATE ON DATABASE \\"$target\\" TO $ROLE" || die "cannot grant CREATE on $target to $ROLE"',
    "  fi",
    "else",
    '  create_database "$target"',
    "  created=1",
    "fi",
    "",
    "restore_failed() {",
    '  if [ "$created" = 1 ]; then',
    '    admin "DROP DATABASE IF EXISTS \\"$into\\"" || true',
    '    die "restore of $dump failed (see the error above); the new database $into was dropped, nothing else changed"',
    "  fi",
    "  # An existing empty target: phase 2 rolled back, but phase 1 may have committed the dump's extensions.",
    '  die "restore of $dump into $target failed (see the error above); $target holds at most the dump\'s extensions"',
    "}",
    "log \"restoring $dump into $into (phase 1: extensions, as $(admin 'SELECT current_user'))\"",
    'pg_restore --no-owner --exit-on-error --single-transaction --no-password -L "$work/phase1" -d "$into" "$dump" || restore_failed',
    'log "phase 2: schema and data, as $ROLE"',
    'pg_restore --no-owner --role="$ROLE" --exit-on-error --single-transaction --no-password -L "$work/phase2" -d "$into" "$dump" ||',
    "  restore_failed",
    "",
    'if [ "$swap" = 1 ]; then',
    '  kept="${target}_pre_$(date -u +%Y%m%dT%H%M%SZ)"',
    '  log "swapping: $target -> $kept, $into -> $target"',
    "  # No new sessions while the names move; the old database is only renamed, never dropped.",
    '  { admin "ALTER DATABASE \\"$target\\" ALLOW_CONNECTIONS false" &&',
    "    admin \"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$target' AND pid <> pg_backend_pid()\" >/dev/null &&",
    '    admin "ALTER DATABASE \\"$target\\" RENAME TO \\"$kept\\"" &&',
    '    admin "ALTER DATABASE \\"$kept\\" ALLOW_CONNECTIONS true" &&',
    '    admin "ALTER DATABASE \\"$into\\" RENAME TO \\"$target\\""; } ||',
    '    die "swap failed: the restored data is in $into, the previous database in $target or $kept; finish the renames by hand"',
    '  log "the previous database is kept as $kept; drop it once the restore is verified"',
    "fi",
    "",
    'log "row counts in $target:"',
    'psql -X -q -A -F " " -t -v ON_ERROR_STOP=1 --no-password -d "$target" -c "',
    "  SELECT format('%I.%I', n.nspname, c.relname),",
    "         (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]",
    "  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
    "  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
    "    AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')",
    "  ORDER BY 1\" | sed 's/^/  /'",
    'log "done: $dump restored into $target. Database-level privileges (CONNECT) are not part of a dump: re-run the database bootstrap for a database the platform uses."',
    "",
  ];
  return (
    scriptHeader(`restore a pg_dump of ${opts.database} (verified, into an empty or new database)`) +
    lines.join("\n")
  );
}

export interface BucketSyncOptions {
  /** Seconds between checks for a new backup. @default 60 */
  pollSeconds?: number;
}

/** The `mc` alias the sync talks to; its URL (with credentials) comes from `MC_HOST_storage`. */
export const SYNC_MC_ALIAS = "storage";

/**
 * Files the bucket sync never uploads: partial dumps, dot-files, temp files, and the state and metrics files (they
 * change on every run; in a versioned bucket each upload would leave one more noncurrent version).
 */
export const SYNC_EXCLUDES = ["*.partial", ".*", "*.tmp", "*.prom", "last-*", "drill-*"] as const;

/**
 * The bucket sync loop (bucket destination): after each new successful backup, `mc mirror` copies the dumps and
 * their checksums that the bucket does not have yet to `BACKUP_BUCKET`. It never deletes or replaces a remote
 * object (no `--remove`, no `--overwrite`): a lost or re-created backup volume cannot take the bucket's copies with
 * it. Retention in the bucket is the bucket's own lifecycle (expiry of old objects, of noncurrent versions); the
 * bucket must be versioned, so even a credential that can write cannot destroy an older copy.
 * Its credential needs to list the bucket and put objects in it, nothing else.
 */
export function renderBucketSyncScript(opts: BucketSyncOptions = {}): string {
  const poll = opts.pollSeconds ?? 60;
  const lines = [
    `ALIAS=${SYNC_MC_ALIAS}`,
    `POLL_SECONDS=${poll}`,
    `BACKUP_DIR="\${BACKUP_DIR:-${BACKUP_DIR}}"`,
    'log() { echo "stackport-backup-sync: $*"; }',
    ...LAST_PASS_HEALTH,
    ': "${BACKUP_BUCKET:?must be set}" "${MC_HOST_storage:?must be set}"',
    "",
    "sync_once() {",
    `  mc mirror ${SYNC_EXCLUDES.map((x) => `--exclude "${x}"`).join(" ")} \\`,
    '    "$BACKUP_DIR" "$ALIAS/$BACKUP_BUCKET"',
    "}",
    "",
    'if [ "${1:-}" = "--once" ]; then',
    "  if sync_once; then exit 0; else exit 1; fi",
    "fi",
    "",
    ...PAUSE_AND_STOP,
    "trap stop TERM INT",
    'log "copying new dumps from $BACKUP_DIR to bucket $BACKUP_BUCKET after each backup (never deleting)"',
    "synced=''",
    "while :; do",
    `  current=$(cat "$BACKUP_DIR/${LAST_SUCCESS_FILE}" 2>/dev/null || true)`,
    '  if [ -n "$current" ] && [ "$current" != "$synced" ]; then',
    "    if sync_once; then",
    "      synced=$current",
    "      record_pass ok",
    '      log "ok: backup of $current copied to $BACKUP_BUCKET"',
    "    else",
    "      record_pass failed",
    '      log "FAILED: copy to $BACKUP_BUCKET; retrying in ${POLL_SECONDS}s"',
    "    fi",
    "  fi",
    '  pause "$POLL_SECONDS"',
    "done",
    "",
  ];
  return scriptHeader("copy database backups to an object-storage bucket") + lines.join("\n");
}
