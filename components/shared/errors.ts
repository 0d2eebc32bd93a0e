/** One problem in a component's args: the arg path (`services.api.connections.database`) and what is wrong. */
export interface ArgsIssue {
  /** Dotted path inside the args, `[i]` for list items; empty for the args as a whole. */
  path: string;
  message: string;
}

/**
 * Raised by a component for invalid args, before it registers anything. The message names the component and every
 * problem with its arg path, so a program that uses the library directly gets a readable error; the stackport
 * program turns it into a `ConfigError` naming the `stackport:` key the arg came from.
 */
export class ArgsError extends Error {
  readonly issues: ArgsIssue[];
  /** `<type> '<name>'`, e.g. `stackport:docker:Database 'database'`. */
  readonly component: string;

  constructor(component: string, issues: ArgsIssue[]) {
    super(
      `Invalid args for ${component} (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${i.path || "(args)"}: ${i.message}`).join("\n"),
    );
    this.name = "ArgsError";
    this.component = component;
    this.issues = issues;
  }
}

export function isArgsError(e: unknown): e is ArgsError {
  return e instanceof Error && e.name === "ArgsError" && Array.isArray((e as ArgsError).issues);
}

/** Throws an `ArgsError` for `component` when there is any issue. */
export function assertValidArgs(component: string, issues: ArgsIssue[]): void {
  if (issues.length > 0) throw new ArgsError(component, issues);
}

/** The arg path of a nested key: `argPath("services", "api", "port")` → `services.api.port`; numbers → `[i]`. */
export function argPath(...parts: PropertyKey[]): string {
  return parts
    .map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join("");
}
