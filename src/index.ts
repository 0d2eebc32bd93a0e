/**
 * Entry point Pulumi runs (`main: bin/src/index.js`). Every error ends the run as a RunError whose message is all the
 * user needs: a configuration error (or args a component refused) as its readable message, anything else with its
 * stack in the message.
 *
 * Why every error, and why with a plain-string `stack`: `@pulumi/pulumi`'s runner (`cmd/run/run.js`, 3.248) logs an
 * uncaught error and then, before that log has left the process, formats it once more with
 * `util.inspect(err, { colors: true })` for a tracing span. On Node 20.20.2 that inspection loops on the SDK's
 * source-mapped frames (nodejs/node#64011): 24–120 s and gigabytes of heap before the message reaches the engine, and
 * none at all under a heap limit. An error whose stack is already a short string formats at once.
 */
import * as pulumi from "@pulumi/pulumi";
import { isInputError } from "./config";
import { runProgram } from "./program";

export = async () => {
  try {
    return await runProgram();
  } catch (e) {
    throw runError(e);
  }
};

/** The error the runner reports: `message` is what the user reads (the runner shows a RunError without a stack). */
function runError(e: unknown): pulumi.RunError {
  const message = isInputError(e)
    ? e.message
    : e instanceof Error
      ? (e.stack ?? `${e.name}: ${e.message}`)
      : `unexpected error: ${String(e)}`;
  const error = new pulumi.RunError(message);
  error.stack = `RunError: ${message}`;
  return error;
}
