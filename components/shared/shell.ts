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
 * Sleeping that `docker stop` can interrupt: `sleep & wait` lets the shell run its TERM trap at once (a foreground
 * sleep would delay it until the sleep ends, and Docker would SIGKILL after its timeout). The trap ends the sleep
 * and reaps it, so nothing outlives the script, not even a zombie. It kills `$!`, not a PID saved in a variable:
 * the trap can run between `sleep &` and the assignment after it, and a TERM sent just as a pass ended then left
 * the sleep running about one time in three, holding the log pipe open for the whole interval. For the same reason
 * the sleep gets no output pipe. Needs a `log` function.
 */
export const PAUSE_AND_STOP = [
  "pausing=''",
  'pause() { pausing=1; sleep "$1" >/dev/null 2>&1 & wait "$!" || true; pausing=\'\'; }',
  'stop() { if [ -n "$pausing" ]; then kill "$!" 2>/dev/null || true; wait "$!" 2>/dev/null || true; fi; log "stopping"; exit 0; }',
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
