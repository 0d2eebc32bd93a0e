/**
 * Prometheus alert rules for point-in-time recovery and the off-host copy, from the metrics the base-backup runner
 * and the off-host loop write (`BACKUP_METRICS`, served by the backups' metrics endpoint, job `backups`). The
 * observability tier adds this group to its rules file (`renderAlertRules`); proven with `promtool test rules`
 * (tests/artifacts/pitr-alerts.test.ts). Each "overdue" rule compares with the age the script publishes, so
 * changing a schedule moves its alert with it.
 */
import { BACKUP_METRICS } from "../backups/settings";

export const PITR_ALERTS = {
  walArchiveFailing: "StackportWalArchiveFailing",
  walArchiveStuck: "StackportWalArchiveStuck",
  baseBackupStale: "StackportBaseBackupStale",
  baseBackupFailing: "StackportBaseBackupFailing",
  offHostStale: "StackportOffHostBackupStale",
  offHostFailing: "StackportOffHostBackupFailing",
} as const;

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "warning" | "critical" };
  annotations: { summary: string; description: string };
}

const RUNBOOK = "docs/runbooks/point-in-time-recovery.md";

/** Overdue (counted from the loop's start before a first success) and "the last attempt failed". */
function scheduled(lastSuccess: string, lastFailure: string, started: string, maxAge: string) {
  return {
    stale: `time() - (${lastSuccess} > 0 or ${started} > 0) > ${maxAge}`,
    failing: `${lastFailure} > ${lastSuccess}`,
  };
}

/** The group `stackport-pitr-offhost`. */
export function pitrRuleGroup(): { name: string; rules: Rule[] } {
  const m = BACKUP_METRICS;
  const base = scheduled(m.baseLastSuccess, m.baseLastFailure, m.baseStarted, m.baseMaxAge);
  const off = scheduled(m.offHostLastSuccess, m.offHostLastFailure, m.offHostStarted, m.offHostMaxAge);
  const rules: Rule[] = [
    {
      alert: PITR_ALERTS.walArchiveFailing,
      // PostgreSQL retries every few seconds: one failure that the next attempt fixes is not worth a page.
      expr: `${m.walLastArchiveFailure} > ${m.walLastArchived}`,
      for: "10m",
      labels: { severity: "critical" },
      annotations: {
        summary: "WAL archiving failing",
        description: `PostgreSQL's archive_command has been failing for 10 minutes: point-in-time recovery stops at the last archived segment, and WAL piles up on the database volume until it is full. See the database container's log (${RUNBOOK}).`,
      },
    },
    {
      alert: PITR_ALERTS.walArchiveStuck,
      expr: `${m.walPendingAge} > ${m.walMaxPendingAge}`,
      labels: { severity: "critical" },
      annotations: {
        summary: "WAL segments waiting to be archived",
        description: `The oldest WAL segment not yet archived is {{ $value | humanizeDuration }} old: writes since then are in no backup. See the database container's log (${RUNBOOK}).`,
      },
    },
    {
      alert: PITR_ALERTS.baseBackupStale,
      expr: base.stale,
      labels: { severity: "critical" },
      annotations: {
        summary: "Base backup overdue",
        description: `No verified base backup for {{ $value | humanizeDuration }}, longer than its schedule allows: restores replay ever more WAL, and the archive cannot be pruned. See the base-backup runner's log (${RUNBOOK}).`,
      },
    },
    {
      alert: PITR_ALERTS.baseBackupFailing,
      expr: base.failing,
      labels: { severity: "warning" },
      annotations: {
        summary: "Base backup failing",
        description: `The last base backup failed; older base backups and the archive are kept and the runner retries in 15 minutes. See its log (${RUNBOOK}).`,
      },
    },
    {
      alert: PITR_ALERTS.offHostStale,
      expr: off.stale,
      labels: { severity: "critical" },
      annotations: {
        summary: "Off-host backup overdue",
        description: `Nothing was copied off the host for {{ $value | humanizeDuration }}, longer than its schedule allows: losing the host now loses everything since. See the off-host container's log (${RUNBOOK}).`,
      },
    },
    {
      alert: PITR_ALERTS.offHostFailing,
      expr: off.failing,
      labels: { severity: "warning" },
      annotations: {
        summary: "Off-host backup failing",
        description: `The last copy to the off-host repository failed (unreachable, full, wrong password or damaged); it is retried in 15 minutes. See the off-host container's log (${RUNBOOK}).`,
      },
    },
  ];
  return { name: "stackport-pitr-offhost", rules };
}
