/**
 * EFS: data directories of ECS services live on file systems encrypted at rest, with AWS Backup on. (Protection and
 * retention are the `stateful-protected` rule's; encryption in transit is the task definition's
 * `transitEncryption: ENABLED`, set by `FargateService` on every EFS volume.)
 */
import { resourceRule } from "./common";

export const EFS_FILE_SYSTEM = "aws:efs/fileSystem:FileSystem";
export const EFS_BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy";

export const efsEncrypted = resourceRule(
  {
    name: "aws-efs-encrypted",
    description: "EFS file systems must be encrypted at rest.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `encrypted: true` (and `kmsKeyId` for a customer-managed key). It cannot be changed on an existing file system: create an encrypted one and copy the data (AWS DataSync), then switch the access points.",
    area: "aws-efs",
    appliesTo: [EFS_FILE_SYSTEM],
  },
  (props, _args, report) => {
    if (props.encrypted !== true)
      report("encrypted is not true: the data is stored unencrypted (CKV_AWS_42)");
  },
);

export const efsBackupEnabled = resourceRule(
  {
    name: "aws-efs-backup",
    description: "An EFS backup policy must keep automatic backups (AWS Backup) enabled.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps:
      "Set `backupPolicy: { status: \"ENABLED\" }` on the file system's `aws.efs.BackupPolicy` (stackport's ingestion tier does for every data file system).",
    area: "aws-efs",
    appliesTo: [EFS_BACKUP_POLICY],
  },
  (props, _args, report) => {
    const status = (props.backupPolicy as { status?: unknown } | undefined)?.status;
    if (status !== "ENABLED")
      report(`backupPolicy.status is ${String(status)}, not ENABLED: no automatic backups`);
  },
);

export const efsRules = [efsEncrypted, efsBackupEnabled];
