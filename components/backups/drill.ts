/**
 * The restore drill and the metrics endpoint of the backup tier, as pure text (tested against a real PostgreSQL,
 * `shellcheck -s sh`, `perl -c` and `promtool check metrics`).
 *
 * The drill proves the newest dump restores: it runs the restore tool (`restore.sh`, the path an operator would take)
 * into a scratch database, checks that every table holds exactly the rows the dump's own data stream carries, drops
 * the scratch database, and records the result as metrics. It runs where the restore tool does, as a superuser:
 * creating a database with PostGIS (not a trusted extension) needs one.
 */
import { assertSqlIdentifier } from "../shared/formats";
import { PAUSE_AND_STOP, SECONDS_UNTIL_DUE, scriptHeader, shQuote } from "../shared/shell";
import { BACKUP_DIR, RESTORE_SCRIPT_PATH, dumpGlob } from "./scripts";
import { BACKUP_METRICS, METRICS_PORT, RECORD_SUCCESS, failFunction } from "./settings";

/** Where the drill script is uploaded in the drill container. */
export const DRILL_SCRIPT_PATH = "/stackport/drill.sh";
/** The scratch database the drill restores into and drops; reserved for the drill. */
export const DRILL_DATABASE = "stackport_restore_drill";
export const DRILL_METRICS_FILE = "stackport_backup_drill.prom";

export interface DrillScriptOptions {
  /** The database whose dumps are drilled (their file names start with it). */
  database: string;
  /** Seconds between successful drills. */
  intervalSeconds: number;
  /** Seconds before retrying a failed drill, or one that found no dump yet. @default min(3600, intervalSeconds) */
  retrySeconds?: number;
}

/**
 * The drill loop: no argument = the loop (one drill per interval, restart-safe like the backup loop); `--once` = one
 * drill (exit 0/1). Connection from the libpq environment (a superuser); `RESTORE_SCRIPT` overrides the restore
 * tool's path (tests).
 *
 * The check: `pg_restore --data-only` of the dump yields one `COPY <table> … FROM stdin;` block per table with one
 * line per row (COPY escapes newlines), so the dump itself says how many rows each table must have. Tables that
 * belong to an extension (PostGIS's `spatial_ref_sys`) are left out: the dump carries only the rows users added.
 */
export function renderDrillScript(opts: DrillScriptOptions): string {
  assertSqlIdentifier(opts.database, "database name");
  const interval = opts.intervalSeconds;
  if (!Number.isInteger(interval) || interval < 60)
    throw new Error(`drill interval must be >= 60 s (${interval})`);
  const retry = opts.retrySeconds ?? Math.min(3600, interval);
  const m = BACKUP_METRICS;
  const metric = (name: string, help: string, value: string) => [
    `    echo '# HELP ${name} ${help}'`,
    `    echo '# TYPE ${name} gauge'`,
    `    echo "${name}{database=\\"$DATABASE\\"} ${value}"`,
  ];
  const lines = [
    `DATABASE=${shQuote(opts.database)}`,
    `DUMP_GLOB=${shQuote(dumpGlob(opts.database))}`,
    `SCRATCH=${DRILL_DATABASE}`,
    `INTERVAL_SECONDS=${interval}`,
    `RETRY_SECONDS=${retry}`,
    `BACKUP_DIR="\${BACKUP_DIR:-${BACKUP_DIR}}"`,
    `RESTORE_SCRIPT="\${RESTORE_SCRIPT:-${RESTORE_SCRIPT_PATH}}"`,
    'LAST_SUCCESS="$BACKUP_DIR/drill-last-success"',
    'LAST_FAILURE="$BACKUP_DIR/drill-last-failure"',
    'STARTED="$BACKUP_DIR/.drill-started"',
    `METRICS="$BACKUP_DIR/${DRILL_METRICS_FILE}"`,
    "",
    'log() { echo "stackport-drill: $*"; }',
    "admin() { psql -X -q -t -A -v ON_ERROR_STOP=1 --no-password -d postgres -c 'SET client_min_messages = warning' -c \"$1\"; }",
    "",
    "write_metrics() {",
    "  {",
    ...metric(
      m.drillLastSuccess,
      "Unix time of the last restore drill that passed.",
      '$(cat "$LAST_SUCCESS" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.drillLastFailure,
      "Unix time of the last restore drill that failed.",
      '$(cat "$LAST_FAILURE" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.drillStarted,
      "Unix time the drill loop started (the age reference before a first pass).",
      '$(cat "$STARTED" 2>/dev/null || echo 0)',
    ),
    ...metric(
      m.drillMaxAge,
      "Age of the last passed drill beyond which the drill is overdue.",
      "$((2 * INTERVAL_SECONDS))",
    ),
    '  } >"$METRICS.tmp" && mv "$METRICS.tmp" "$METRICS"',
    "}",
    "",
    'drop_scratch() { admin "DROP DATABASE IF EXISTS \\"$SCRATCH\\"" >/dev/null; }',
    "",
    ...failFunction(),
    "",
    "# Returns 0 passed, 1 failed, 3 no dump yet: not recorded as a failure (the backup alerts cover a runner that",
    "# never dumps), so a fresh stack does not alert while its first backup runs.",
    "drill_once() {",
    '  dump=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$DUMP_GLOB" | sort | tail -n 1)',
    '  if [ -z "$dump" ]; then log "no dump of $DATABASE in $BACKUP_DIR yet"; return 3; fi',
    "  started=$(date +%s)",
    '  work=$(mktemp -d) || { fail "cannot create a work directory"; return 1; }',
    '  log "restoring $dump into $SCRATCH"',
    "  # A leftover of an interrupted drill: the name is reserved for the drill.",
    '  drop_scratch || { rm -rf "$work"; fail "cannot drop the leftover database $SCRATCH"; return 1; }',
    '  if ! sh "$RESTORE_SCRIPT" "$dump" "$SCRATCH" >"$work/restore.log" 2>&1; then',
    "    sed 's/^/  /' \"$work/restore.log\"",
    '    drop_scratch || true; rm -rf "$work"',
    '    fail "restore of $dump failed"; return 1',
    "  fi",
    "  # What the dump says: one line per row between `COPY <table> (...) FROM stdin;` and `\\.`.",
    '  if ! pg_restore --data-only -f - "$dump" >"$work/data.sql"; then',
    '    drop_scratch || true; rm -rf "$work"',
    '    fail "cannot read the data of $dump"; return 1',
    "  fi",
    '  awk \'/^COPY .* FROM stdin;$/ { t = $0; sub(/^COPY /, "", t); sub(/ (\\(.*\\) )?FROM stdin;$/, "", t); n = 0; copy = 1; next }',
    '    copy && $0 == "\\\\." { print t " " n; copy = 0; next }',
    '    copy { n++ }\' "$work/data.sql" | sort >"$work/expected.all"',
    '  rm -f "$work/data.sql"',
    "  # Extension tables: the dump carries only the rows users added, the extension brings the rest.",
    '  psql -X -q -t -A -v ON_ERROR_STOP=1 --no-password -d "$SCRATCH" -c "',
    "    SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
    "    WHERE EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')\" \\",
    '    >"$work/extension" || { drop_scratch || true; rm -rf "$work"; fail "cannot inspect $SCRATCH"; return 1; }',
    "  # Lines are '<table as pg_dump quotes it> <rows>'; a quoted name may hold spaces, the count never does.",
    '  awk \'NR == FNR { ext[$0] = 1; next } { t = $0; sub(/ [0-9]+$/, "", t) } !(t in ext)\' "$work/extension" "$work/expected.all" >"$work/expected"',
    '  tables=$(wc -l <"$work/expected")',
    '  if [ "$tables" -eq 0 ]; then',
    '    drop_scratch || true; rm -rf "$work"',
    '    fail "$dump holds no table data"; return 1',
    "  fi",
    "  mismatches=0",
    "  rows=0",
    "  while IFS= read -r line; do",
    "    want=${line##* }",
    "    table=${line% *}",
    '    got=$(psql -X -q -t -A -v ON_ERROR_STOP=1 --no-password -d "$SCRATCH" -c "SELECT count(*) FROM $table") || got=missing',
    '    if [ "$got" != "$want" ]; then',
    '      log "  $table: the dump holds $want row(s), the restored database $got"',
    "      mismatches=$((mismatches + 1))",
    "    fi",
    "    rows=$((rows + want))",
    '  done <"$work/expected"',
    '  drop_scratch || log "warning: cannot drop $SCRATCH (the next drill drops it)"',
    '  rm -rf "$work"',
    '  if [ "$mismatches" -gt 0 ]; then',
    '    fail "$mismatches of $tables table(s) of $dump restored with other row counts than the dump holds"; return 1',
    "  fi",
    RECORD_SUCCESS,
    "  write_metrics || true",
    '  log "ok: $dump restored into $SCRATCH and checked ($tables tables, $rows rows, $(($(date +%s) - started))s); $SCRATCH dropped"',
    "}",
    "",
    ...SECONDS_UNTIL_DUE,
    "",
    ...PAUSE_AND_STOP,
    "",
    "main_loop() {",
    "  trap stop TERM INT",
    '  date +%s >"$STARTED"',
    "  write_metrics || true",
    '  log "restore drill of the newest $DATABASE dump every ${INTERVAL_SECONDS}s"',
    "  while :; do",
    "    due=$(seconds_until_due)",
    '    if [ "$due" -gt 0 ]; then',
    '      log "next drill in ${due}s"',
    '      pause "$due"',
    "    elif drill_once; then",
    "      :",
    "    else",
    '      log "next attempt in ${RETRY_SECONDS}s"',
    '      pause "$RETRY_SECONDS"',
    "    fi",
    "  done",
    "}",
    "",
    'case "${1:-}" in',
    '  "") main_loop ;;',
    "  --once) if drill_once; then exit 0; else exit 1; fi ;;",
    '  *) echo "usage: $0 [--once]" >&2; exit 2 ;;',
    "esac",
    "",
  ];
  return scriptHeader(`restore drill of the newest ${opts.database} dump`) + lines.join("\n");
}

/** The metrics endpoint's script in the container. */
export const METRICS_SERVER_PATH = "/stackport/metrics.pl";

/** The metrics container's health probe: healthy while the server accepts connections (perl is what the image has). */
export function metricsProbe(port: number): string[] {
  return [
    "perl",
    "-MIO::Socket::INET",
    "-e",
    `IO::Socket::INET->new(PeerAddr => "127.0.0.1:${port}", Timeout => 3) or exit 1`,
  ];
}

/**
 * The metrics endpoint: `GET /metrics` answers the concatenation of `$BACKUP_DIR/*.prom` (the runner's and the
 * drill's files, each rewritten atomically). Perl, because the PostgreSQL image has no HTTP server, no netcat and
 * no Python, while `perl` and `IO::Socket::INET` are in Debian's essential `perl-base`, which every Debian-based
 * postgres/postgis image has (postgis/postgis:17-3.5 is `FROM postgres:17-bullseye`). One request at a time with a
 * 5 s read limit: Prometheus is its only client. It reads the backup volume and nothing else (mounted read-only).
 */
export function renderMetricsServer(): string {
  return `#!/usr/bin/perl
# Generated by stackport: serve the backup tier's metrics (the *.prom files of the backup volume) to Prometheus.
use strict;
use warnings;
use IO::Socket::INET;

my $dir = $ENV{BACKUP_DIR} // '${BACKUP_DIR}';
my $port = $ENV{METRICS_PORT} // ${METRICS_PORT};
my $server = IO::Socket::INET->new(LocalAddr => "0.0.0.0:$port", Listen => 16, ReuseAddr => 1)
  or die "stackport-backup-metrics: cannot listen on port $port: $!\\n";
$SIG{TERM} = $SIG{INT} = sub { print "stackport-backup-metrics: stopping\\n"; exit 0 };
$| = 1;
print "stackport-backup-metrics: serving $dir/*.prom at :$port/metrics\\n";

while (my $client = $server->accept) {
  eval {
    local $SIG{ALRM} = sub { die "timeout\\n" };
    alarm 5;
    my $request = <$client> // '';
    while (my $header = <$client>) { last if $header =~ /^\\r?\\n$/ }
    my ($method, $path) = $request =~ m{^(GET|HEAD) (\\S+) HTTP/};
    my ($status, $body) = ('404 Not Found', "not found\\n");
    if (defined $path && $path =~ m{^/metrics(?:\\?.*)?$}) {
      ($status, $body) = ('200 OK', '');
      for my $file (sort glob("$dir/*.prom")) {
        open(my $fh, '<', $file) or next;
        local $/;
        $body .= <$fh> // '';
        close($fh);
      }
    }
    print $client "HTTP/1.0 $status\\r\\nContent-Type: text/plain; version=0.0.4\\r\\n"
      . "Content-Length: " . length($body) . "\\r\\nConnection: close\\r\\n\\r\\n"
      . (defined $method && $method eq 'HEAD' ? '' : $body);
    alarm 0;
  };
  close($client);
}
`;
}
