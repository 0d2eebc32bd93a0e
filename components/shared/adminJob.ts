/**
 * What a one-shot job that works on the database as `db_admin` (the basemap import, schema migrations) is given:
 * its configured command as a script, and the connection as libpq variables.
 */
import * as pulumi from "@pulumi/pulumi";
import { scriptHeader, shQuote } from "./shell";
import type { RoleConnection } from "../database/contract";

/** A one-shot job that works on the database as `db_admin` (an import, schema migrations). */
export interface AdminJobArgs {
  /** The image that runs the command; it needs `/bin/sh`. Changing it re-runs the job. */
  image: string;
  /** The command and its arguments, literal (no shell expansion). Changing it re-runs the job. */
  command: string[];
  /**
   * Where the command is maintained, named in the job script's header so whoever reads the container knows where
   * to change it (e.g. a config key). @default none
   */
  origin?: string;
}

/**
 * The job's script: the command, each argument quoted, exec'd so its exit code is the job's. Arguments are literal
 * (no expansion, no injection): the connection reaches the tool through the libpq variables (`PGHOST`, `PGUSER`,
 * `PGPASSWORD`…), which osm2pgsql, ogr2ogr (`PG:`), psql and most migration tools read, or through `DATABASE_URL`;
 * for shell expansion the command can be `["sh", "-c", "…"]`.
 */
export function renderAdminJobScript(job: Pick<AdminJobArgs, "command" | "origin">, purpose: string): string {
  const literalDollar = job.command.some((arg) => arg.includes("$"));
  return [
    scriptHeader(job.origin ? `${purpose} (${job.origin})` : purpose).trimEnd(),
    ...(literalDollar ? ["# shellcheck disable=SC2016 # a '$' in an argument is literal by design"] : []),
    `exec ${job.command.map(shQuote).join(" ")}`,
    "",
  ].join("\n");
}

/** `DATABASE_URL` and the libpq variables, so tools connect without the URL on their command line. */
export function libpqEnv(role: RoleConnection): pulumi.Input<string>[] {
  return [
    pulumi.secret(pulumi.interpolate`DATABASE_URL=${role.url}`),
    pulumi.interpolate`PGHOST=${role.host}`,
    pulumi.interpolate`PGPORT=${role.port}`,
    pulumi.interpolate`PGUSER=${role.user}`,
    pulumi.secret(pulumi.interpolate`PGPASSWORD=${role.password}`),
    pulumi.interpolate`PGDATABASE=${role.database}`,
    // Unqualified tables land in `app`, where the app roles may use what db_admin creates.
    "PGOPTIONS=-c search_path=app,public",
  ];
}
