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
 * sleep would delay it until the sleep ends, and Docker would SIGKILL after its timeout). The trap also ends the
 * sleep, so no process outlives the script. Needs a `log` function.
 */
export const PAUSE_AND_STOP = [
  "sleeper=''",
  'pause() { sleep "$1" & sleeper=$!; wait "$sleeper" || true; sleeper=\'\'; }',
  'stop() { if [ -n "$sleeper" ]; then kill "$sleeper" 2>/dev/null || true; fi; log "stopping"; exit 0; }',
];
