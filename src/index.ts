/**
 * Entry point Pulumi runs (`main: bin/src/index.js`). A configuration error (or args a component refused) ends the
 * run with its readable message (a RunError), not an unhandled-exception stack trace.
 */
import * as pulumi from "@pulumi/pulumi";
import { isInputError } from "./config";
import { runProgram } from "./program";

export = async () => {
  try {
    return await runProgram();
  } catch (e) {
    if (isInputError(e)) throw new pulumi.RunError(e.message);
    throw e;
  }
};
