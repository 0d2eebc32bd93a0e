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
