/**
 * RDS instances: encrypted, private, backed up, multi-AZ and deletion-protected. The rules read the instance's own
 * inputs, never the stack's environment (one line of the stack file); a stack that accepts a single-AZ or
 * unprotected instance says so in its own `policies/config/<stack>.json`.
 */
import { resourceRule } from "./common";

export const RDS_INSTANCE = "aws:rds/instance:Instance";

export const rdsEncrypted = resourceRule(
  {
    name: "aws-rds-encrypted",
    description: "RDS instances must encrypt their storage.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `storageEncrypted: true` (and `kmsKeyId` for a customer-managed key). Changing it replaces the instance: restore from a snapshot.",
    area: "aws-rds",
    appliesTo: [RDS_INSTANCE],
  },
  (props, _args, report) => {
    // Read replicas inherit encryption from their source.
    if (props.replicateSourceDb) return;
    if (props.storageEncrypted !== true) report("storageEncrypted is not true (CKV_AWS_16)");
  },
);

export const rdsNotPublic = resourceRule(
  {
    name: "aws-rds-not-public",
    description: "RDS instances must not be publicly accessible.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `publiclyAccessible: false` and reach the database from the VPC (ECS tasks, a bastion, or SSM).",
    area: "aws-rds",
    appliesTo: [RDS_INSTANCE],
  },
  (props, _args, report) => {
    if (props.publiclyAccessible === true) report("publiclyAccessible is true (CKV_AWS_17)");
  },
);

export const rdsBackupRetention = resourceRule(
  {
    name: "aws-rds-backup-retention",
    description: "RDS instances must keep automated backups for at least the configured number of days.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set `backupRetentionPeriod` to at least `minDays` (1–35).",
    area: "aws-rds",
    appliesTo: [RDS_INSTANCE],
    configSchema: {
      properties: {
        minDays: {
          type: "integer",
          minimum: 1,
          maximum: 35,
          default: 7,
          description: "Fewest days of automated backups.",
        },
      },
    },
  },
  (props, args, report) => {
    const { minDays } = args.getConfig<{ minDays: number }>();
    const days = props.backupRetentionPeriod ?? 0;
    if (typeof days !== "number" || days < minDays)
      report(`backupRetentionPeriod is ${days}, below ${minDays} day(s)`);
  },
);

export const rdsMultiAz = resourceRule(
  {
    name: "aws-rds-multi-az",
    description: "RDS instances must be multi-AZ.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `multiAz: true` (the database tier does so when environment is production). A stack that accepts one zone (staging) sets this rule to advisory in its `policies/config/<stack>.json`.",
    area: "aws-rds",
    appliesTo: [RDS_INSTANCE],
  },
  (props, _args, report) => {
    if (props.multiAz !== true) report("multiAz is not true (CKV_AWS_157)");
  },
);

export const rdsDeletionProtection = resourceRule(
  {
    name: "aws-rds-deletion-protection",
    description:
      "RDS instances must have deletion protection, a final snapshot, and keep their automated backups.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `deletionProtection: true`, leave `skipFinalSnapshot` false with a `finalSnapshotIdentifier`, and `deleteAutomatedBackups` false.",
    area: "aws-rds",
    appliesTo: [RDS_INSTANCE],
  },
  (props, _args, report) => {
    if (props.deletionProtection !== true) report("deletionProtection is not true (CKV_AWS_293)");
    if (props.skipFinalSnapshot === true)
      report("skipFinalSnapshot is true: deleting it would leave no snapshot");
    if (props.deleteAutomatedBackups === true)
      report("deleteAutomatedBackups is true: deleting it would delete its automated backups too");
  },
);

export const rdsRules = [rdsEncrypted, rdsNotPublic, rdsBackupRetention, rdsMultiAz, rdsDeletionProtection];
