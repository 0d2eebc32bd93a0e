/**
 * Data directories on ECS: one encrypted EFS file system per tier (stateful: protected and retained per the stack's
 * safety, backed up by AWS Backup's default plan, refusing clients without TLS), a mount target in each private subnet behind its own security
 * group (NFS 2049 from the services group only), and one access point per service: its own root directory, owned by
 * and always accessed as a fixed POSIX user, so one service can never read another's files.
 */
import * as aws from "./aws";
import type * as pulumi from "@pulumi/pulumi";
import { awsName } from "./awsNames";
import { type StatefulSafety, statefulOptions } from "./component";
import type { EfsMount } from "./fargateService";
import { standardLabels } from "./labels";
import type { AwsPlacement } from "./placement";

const NFS_PORT = 2049;
const AZ_LETTERS = "abcdef";
/**
 * The identity every file operation through an access point runs as (EFS overrides the container's own user), so the
 * image's user does not matter. 1000 is the first non-system user of most images.
 */
export const DATA_POSIX_USER = { uid: 1000, gid: 1000 } as const;

export interface DataFileSystem {
  fileSystem: aws.efs.FileSystem;
  securityGroup: aws.ec2.SecurityGroup;
  mountTargets: aws.efs.MountTarget[];
  accessPoints: Record<string, aws.efs.AccessPoint>;
  /** What each service's `FargateService` mounts (`data`), by service, with the container path given. */
  mounts: Record<string, EfsMount>;
}

/** The file system of `tier` with an access point per service (service → container path). */
export function createDataFileSystem(
  parent: pulumi.Resource,
  name: string,
  args: { placement: AwsPlacement; tier: string; safety: StatefulSafety; paths: Record<string, string> },
): DataFileSystem {
  const { placement, tier } = args;
  const child = { parent, provider: placement.provider };
  const tags = standardLabels(tier);
  const fileSystem = new aws.efs.FileSystem(
    `${name}-data`,
    {
      encrypted: true,
      performanceMode: "generalPurpose",
      // Pay for what is read and written, not for provisioned throughput.
      throughputMode: "elastic",
      tags: { ...tags, Name: awsName([tier, "data"]) },
    },
    statefulOptions(parent, args.safety, { provider: placement.provider }),
  );
  // No client without TLS: replaces EFS's default policy (open to anyone who can reach a mount target); the tasks'
  // own access comes from their task roles (IAM authorization at mount, `efsClientPolicy`).
  new aws.efs.FileSystemPolicy(
    `${name}-data-policy`,
    {
      fileSystemId: fileSystem.id,
      policy: fileSystem.arn.apply((arn) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "DenyInsecureTransport",
              Effect: "Deny",
              Principal: { AWS: "*" },
              Action: "*",
              Resource: arn,
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
          ],
        }),
      ),
    },
    child,
  );
  // AWS Backup's default plan (daily, 35 days) for this file system.
  new aws.efs.BackupPolicy(
    `${name}-data-backup`,
    { fileSystemId: fileSystem.id, backupPolicy: { status: "ENABLED" } },
    child,
  );
  const securityGroup = new aws.ec2.SecurityGroup(
    `${name}-data-sg`,
    {
      vpcId: placement.vpcId,
      description: `stackport ${tier} data (EFS): NFS from the services only`,
      revokeRulesOnDelete: true,
      tags: { ...tags, Name: awsName([tier, "data"]) },
    },
    child,
  );
  new aws.vpc.SecurityGroupIngressRule(
    `${name}-data-from-services`,
    {
      securityGroupId: securityGroup.id,
      ipProtocol: "tcp",
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
      referencedSecurityGroupId: placement.securityGroups.services,
      description: "NFS from the services",
      tags,
    },
    child,
  );
  new aws.vpc.SecurityGroupEgressRule(
    `${name}-services-to-data`,
    {
      securityGroupId: placement.securityGroups.services,
      ipProtocol: "tcp",
      fromPort: NFS_PORT,
      toPort: NFS_PORT,
      referencedSecurityGroupId: securityGroup.id,
      description: "NFS to the data file system",
      tags,
    },
    child,
  );
  // Named by AZ letter: the target's private subnets are in AZ order (a, b, …) and only ever grow.
  const mountTargets = placement.privateSubnetIds.map(
    (subnetId, i) =>
      new aws.efs.MountTarget(
        `${name}-data-mount-${AZ_LETTERS[i]}`,
        { fileSystemId: fileSystem.id, subnetId, securityGroups: [securityGroup.id] },
        child,
      ),
  );
  const accessPoints: Record<string, aws.efs.AccessPoint> = {};
  const mounts: Record<string, EfsMount> = {};
  for (const svc of Object.keys(args.paths).sort()) {
    const accessPoint = new aws.efs.AccessPoint(
      `${name}-data-${svc}`,
      {
        fileSystemId: fileSystem.id,
        posixUser: { uid: DATA_POSIX_USER.uid, gid: DATA_POSIX_USER.gid },
        rootDirectory: {
          path: `/${svc}`,
          // EFS creates the directory on first mount with this owner and mode.
          creationInfo: {
            ownerUid: DATA_POSIX_USER.uid,
            ownerGid: DATA_POSIX_USER.gid,
            permissions: "0750",
          },
        },
        tags: { ...tags, "stackport.service": svc },
      },
      // A task mounts through a mount target: the access point is usable once they exist.
      { ...child, dependsOn: mountTargets },
    );
    accessPoints[svc] = accessPoint;
    mounts[svc] = {
      fileSystemId: fileSystem.id,
      fileSystemArn: fileSystem.arn,
      accessPointId: accessPoint.id,
      accessPointArn: accessPoint.arn,
      path: args.paths[svc]!,
    };
  }
  return { fileSystem, securityGroup, mountTargets, accessPoints, mounts };
}
