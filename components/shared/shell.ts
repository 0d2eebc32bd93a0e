/** Quotes a value for POSIX sh: safe for any input, including quotes and newlines. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'"'"'`)}'`;
}

/** The header every rendered script starts with: strict mode and a line saying who made it. */
export function scriptHeader(purpose: string): string {
  return [
    "#!/bin/sh",
    `# Rendered by stackport: ${purpose}. Do not edit; change the stack config instead.`,
    "set -eu",
    "",
  ].join("\n");
}

/**
 * `seconds_until_due`: seconds until a periodic job is due again, from the Unix time in `$LAST_SUCCESS` and
 * `$INTERVAL_SECONDS`; 0 without an earlier success (a missing, empty or non-numeric file).
 */
export const SECONDS_UNTIL_DUE = [
  "seconds_until_due() {",
  '  last=$(cat "$LAST_SUCCESS" 2>/dev/null || echo 0)',
  '  case "$last" in "" | *[!0-9]*) last=0 ;; esac',
  "  due=$((last + INTERVAL_SECONDS - $(date +%s)))",
  '  if [ "$due" -gt 0 ]; then echo "$due"; else echo 0; fi',
  "}",
];

/**
 * Sleeping that `docker stop` can interrupt: one-second foreground sleeps, so a TERM runs the trap when the current
 * second ends (Docker waits 10 s before SIGKILL). Not `sleep N & wait`: Debian's dash 0.5.12 (the PostgreSQL image's
 * `/bin/sh`) sometimes misses a trapped signal that arrives while `wait` starts blocking, and then sleeps out the
 * whole interval (about one stop in 800 under load, measured with a TERM 0-90 ms after the pause began; the shell
 * sat in `sigsuspend` with the signal consumed). A foreground command is always followed by the trap. Nothing runs
 * in the background, so nothing can outlive the script. Needs a `log` function.
 */
export const PAUSE_AND_STOP = [
  'pause() { left="$1"; while [ "$left" -gt 0 ]; do sleep 1; left=$((left - 1)); done; }',
  'stop() { log "stopping"; exit 0; }',
];

/** Where a loop script records how its last pass ended, for its `--check` probe (`$LAST_PASS_FILE` overrides). */
export const LAST_PASS_FILE = "/tmp/stackport-last-pass";

/**
 * Health of a loop that works in passes (a bucket sync, an object mirror): `record_pass ok|failed` after each
 * pass; `<script> --check` fails only when the last pass failed, so a first pass that takes hours is not
 * "unhealthy". Shell built-ins only (the `mc` image has few tools). Needs a `log` function; place it before the
 * script's required-variable checks so the probe never depends on them.
 */
export const LAST_PASS_HEALTH = [
  `LAST_PASS_FILE="\${LAST_PASS_FILE:-${LAST_PASS_FILE}}"`,
  `record_pass() { printf '%s\\n' "$1" > "$LAST_PASS_FILE"; }`,
  'if [ "${1:-}" = "--check" ]; then',
  "  last=''",
  '  if [ -f "$LAST_PASS_FILE" ]; then read -r last < "$LAST_PASS_FILE" || true; fi',
  '  if [ "$last" = failed ]; then',
  '    log "unhealthy: the last pass failed (see the container log)"',
  "    exit 1",
  "  fi",
  "  exit 0",
  "fi",
];

/** The Docker health check of a loop script using `LAST_PASS_HEALTH`. */
export function lastPassHealthcheck(scriptPath: string) {
  return { tests: ["CMD", "/bin/sh", scriptPath, "--check"], interval: "1m", timeout: "10s", retries: 1 };
}
