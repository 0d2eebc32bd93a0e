/**
 * A PostgreSQL database on a Docker target has something in the same stack that backs it up: a container that runs
 * `pg_dump` (stackport's backup runner), `pg_basebackup`, pgBackRest or WAL-G. The rule looks for that container
 * (its command and the scripts uploaded into it), not for a label or a config key. RDS keeps automated backups
 * instead, checked by `aws-rds-backup-retention`.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props are untyped JSON */
import type { PolicyResource } from "@pulumi/policy";
import { SECRET_MASK, asArray, isUnknownValueError, stackRule } from "./common";
import { CONTAINER, DATABASE_COMPONENT } from "./docker";

const BACKUP_TOOL = /\b(pg_dump|pg_dumpall|pg_basebackup|pgbackrest|wal-g)\b/;

/**
 * Whether a long-running container runs a backup tool: `true`, `false`, or `undefined` when its scripts are not
 * visible. One-shot jobs (`mustRun: false`: a cutover's backfill that pipes pg_dump into psql) back nothing up.
 */
function runsBackups(c: PolicyResource): boolean | undefined {
  try {
    if (c.props.mustRun === false) return false;
    const texts: unknown[] = [...asArray(c.props.command), ...asArray(c.props.entrypoints)];
    const uploads = c.props.uploads;
    if (uploads === SECRET_MASK) return texts.some((t) => BACKUP_TOOL.test(String(t))) || undefined;
    for (const u of asArray<any>(uploads)) texts.push(u?.content);
    return texts.some((t) => typeof t === "string" && BACKUP_TOOL.test(t));
  } catch (e) {
    if (isUnknownValueError(e)) return undefined;
    throw e;
  }
}

export const dockerDatabaseBackups = stackRule(
  {
    name: "docker-database-backups",
    description: "A PostgreSQL database on a Docker target must have a backup runner in the same stack.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Configure `stackport:backups` (intervalHours, retentionDays, destination): it adds the runner that dumps the database on a schedule. A stack whose data is disposable lowers this rule in its own `policies/config/<stack>.json`.",
    area: "backups",
    appliesTo: [DATABASE_COMPONENT, CONTAINER],
  },
  (args, report) => {
    const databases = args.resources.filter((r) => r.type === DATABASE_COMPONENT);
    if (databases.length === 0) return;
    const verdicts = args.resources.filter((r) => r.type === CONTAINER).map(runsBackups);
    if (verdicts.includes(true)) return;
    // A hidden script (a secret, or unknown at preview) is reported too, not passed: a violation, worded as such.
    const hidden = verdicts.filter((v) => v === undefined).length;
    const note = hidden ? ` (${hidden} container(s) have scripts not visible here)` : "";
    for (const db of databases) {
      report(
        `database ${db.name} has no backup runner in the stack: no container runs pg_dump (or pg_basebackup, pgBackRest, WAL-G)${note}; configure stackport:backups`,
        db.urn,
      );
    }
  },
);

export const backupRules = [dockerDatabaseBackups];
