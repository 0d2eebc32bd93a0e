import { type ArgsIssue, isArgsError } from "../../components/shared/errors";

/** One problem in the stack configuration: the full config key (`stackport:database.publish.address`) and what is allowed. */
export interface ConfigIssue {
  key: string;
  message: string;
}

/**
 * Raised for any invalid stack configuration, before a single resource is registered.
 * Its message lists every problem on its own line, each starting with the config key, so a user can fix all of
 * them in one go.
 */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      `Invalid stack configuration (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${i.key}: ${i.message}`).join("\n"),
    );
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** Issues of a component's args, each renamed to the config key its arg path comes from. */
export function configIssues(issues: ArgsIssue[], keyOf: (path: string) => string): ConfigIssue[] {
  return issues.map((i) => ({ key: keyOf(i.path), message: i.message }));
}

export function isConfigError(e: unknown): e is ConfigError {
  return e instanceof Error && e.name === "ConfigError" && Array.isArray((e as ConfigError).issues);
}

/**
 * An error the user fixes by changing their input: a stack config problem, or args a component refused (which the
 * config checks should have caught first). Both carry a readable message and end a run without a stack trace.
 */
export function isInputError(e: unknown): e is Error {
  return isConfigError(e) || isArgsError(e);
}
