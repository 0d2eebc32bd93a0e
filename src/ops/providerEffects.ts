/**
 * What a provider does with a change, per resource type, for the sign-off report's risk classification: which input
 * changes it applies in place, which restart or reboot what runs, which force a replacement (the schema's
 * `ForceNew`), and what data goes with the resource when it is deleted. Pure: a table and a lookup.
 *
 * The facts are read from the provider schemas @pulumi/aws and @pulumi/docker bridge (terraform-provider-aws,
 * terraform-provider-docker; each entry names its file) and the cloud's documentation. A type that is not here is
 * "unknown": the provider decides, and only a real preview (online sign-off) says what it will do.
 */

export type EffectKind =
  /** Applied to the running resource; nothing stops. */
  | "in-place"
  /** Applied in place, but what runs restarts (reboot, failover, new tasks): downtime or a blip. */
  | "restart"
  /** Deleted and created again (or created, then the old one deleted). */
  | "replace"
  /** Replaced unless something the plan cannot show says otherwise (an alias, a provider). */
  | "may-replace"
  /** Not in the table: the provider decides. */
  | "unknown";

export interface FieldEffect {
  kind: EffectKind;
  /** What happens, for people: "in place, with a reboot (or a failover with multiAz)". */
  detail: string;
  /** What it means for availability, when it stops something. */
  downtime?: string;
}

interface Restart {
  detail: string;
  downtime?: string;
}

/** RDS applies a modification at once only with applyImmediately; Multi-AZ turns the reboot into a failover. */
const rdsRestart =
  (what: string) =>
  (inputs: Record<string, unknown>): Restart => ({
    detail: `in place, ${inputs["multiAz"] === true ? "with a failover to the standby (multiAz)" : "with a reboot"}, ${inputs["applyImmediately"] === true ? "at once (applyImmediately)" : "in the next maintenance window (applyImmediately is not set)"}`,
    downtime:
      inputs["multiAz"] === true
        ? `${what}: the database fails over to its standby, typically 60–120 s without connections`
        : `${what}: the database reboots, unavailable for minutes`,
  });

interface TypeFacts {
  /** Inputs whose change forces a replacement; `"*"`: every input but those in `inPlace`. */
  replaceOn: string[] | "*";
  inPlace?: string[];
  /** Inputs applied in place that restart what runs, with what happens (given the resource's new inputs). */
  restartOn?: Record<string, Restart | ((inputs: Record<string, unknown>) => Restart)>;
  /** What deleting (or replacing) the resource loses; absent: nothing beyond the resource itself. */
  data?: string;
  /** What a replacement means for what runs. */
  onReplace?: string;
  /** Where the facts come from. */
  source: string;
}

const TF_AWS = "terraform-provider-aws internal/service";
const TF_DOCKER = "terraform-provider-docker internal/provider";
const RDS_MODIFY =
  "AWS RDS User Guide, Modifying an Amazon RDS DB instance (instance class: an outage, applied in the maintenance window unless ApplyImmediately) and Multi-AZ DB instance deployments (failover typically 60–120 s)";

const CONTAINER_IN_PLACE = [
  "restart",
  "maxRetryCount",
  "memory",
  "memoryReservation",
  "memorySwap",
  "cpuShares",
  "cpuSet",
  "cpuPeriod",
  "cpuQuota",
  "mustRun",
  "start",
  "attach",
  "logs",
  "wait",
  "waitTimeout",
  "destroyGraceSeconds",
  "removeVolumes",
  "rm",
];

/** Keyed by Pulumi type token. */
export const PROVIDER_FACTS: Record<string, TypeFacts> = {
  "docker:index/container:Container": {
    replaceOn: "*",
    inPlace: CONTAINER_IN_PLACE,
    onReplace:
      "the container is removed, then created again (pulumi-docker sets deleteBeforeReplace): the service restarts",
    source: `${TF_DOCKER}/resource_docker_container.go (every other argument ForceNew); pulumi-docker resources.go (DeleteBeforeReplace)`,
  },
  "docker:index/volume:Volume": {
    replaceOn: "*",
    data: "its files",
    source: `${TF_DOCKER}/resource_docker_volume.go (name, driver, driverOpts, labels: ForceNew)`,
  },
  "docker:index/network:Network": {
    replaceOn: "*",
    onReplace: "containers on it are detached and must be recreated",
    source: `${TF_DOCKER}/resource_docker_network.go (every argument ForceNew)`,
  },
  "aws:rds/instance:Instance": {
    replaceOn: [
      "availabilityZone",
      "characterSetName",
      "customIamInstanceProfile",
      "dbName",
      "engine",
      "identifier",
      "identifierPrefix",
      "kmsKeyId",
      "ncharCharacterSetName",
      "restoreToPointInTime",
      "snapshotIdentifier",
      "storageEncrypted",
      "timezone",
      "username",
    ],
    restartOn: {
      instanceClass: rdsRestart("new instance class"),
      engineVersion: {
        detail: "in place; the engine upgrade restarts the instance",
        downtime: "the database is unavailable during the upgrade",
      },
      parameterGroupName: {
        detail: "in place; static parameters take effect after a reboot",
        downtime: "a reboot when a static parameter changes",
      },
    },
    data: "the database (a final snapshot is kept unless skipFinalSnapshot)",
    source: `${TF_AWS}/rds/instance.go (schema ForceNew); ${RDS_MODIFY}`,
  },
  "aws:rds/cluster:Cluster": {
    replaceOn: [
      "availabilityZones",
      "clusterIdentifier",
      "databaseName",
      "engine",
      "kmsKeyId",
      "masterUsername",
      "snapshotIdentifier",
      "storageEncrypted",
    ],
    data: "the cluster's databases",
    source: `${TF_AWS}/rds/cluster.go (schema ForceNew)`,
  },
  "aws:s3/bucket:Bucket": {
    replaceOn: ["bucket", "bucketPrefix", "objectLockEnabled"],
    data: "its objects, every version",
    source: `${TF_AWS}/s3/bucket.go (schema ForceNew)`,
  },
  "aws:s3/bucketV2:BucketV2": {
    replaceOn: ["bucket", "bucketPrefix", "objectLockEnabled"],
    data: "its objects, every version",
    source: `${TF_AWS}/s3/bucket.go (schema ForceNew)`,
  },
  "aws:cloudwatch/logGroup:LogGroup": {
    replaceOn: ["name", "namePrefix", "logGroupClass"],
    data: "its log events (DeleteLogGroup deletes them permanently)",
    source: `${TF_AWS}/logs/group.go (schema ForceNew); CloudWatch Logs API reference, DeleteLogGroup`,
  },
  "aws:secretsmanager/secret:Secret": {
    replaceOn: ["name", "namePrefix"],
    data: "its value (recoverable for recoveryWindowInDays, default 30; 0 deletes it at once)",
    source: `${TF_AWS}/secretsmanager/secret.go (schema ForceNew); Secrets Manager API reference, DeleteSecret`,
  },
  "aws:rds/snapshot:Snapshot": { replaceOn: "*", data: "the snapshot", source: `${TF_AWS}/rds/snapshot.go` },
  "aws:rds/clusterSnapshot:ClusterSnapshot": {
    replaceOn: "*",
    data: "the snapshot",
    source: `${TF_AWS}/rds/cluster_snapshot.go`,
  },
  "aws:ebs/snapshot:Snapshot": {
    replaceOn: "*",
    data: "the snapshot",
    source: `${TF_AWS}/ec2/ebs_snapshot.go`,
  },
  "aws:ebs/volume:Volume": {
    replaceOn: ["availabilityZone", "encrypted", "kmsKeyId", "snapshotId", "outpostArn"],
    data: "its blocks",
    source: `${TF_AWS}/ec2/ebs_volume.go (schema ForceNew)`,
  },
  "aws:efs/fileSystem:FileSystem": {
    replaceOn: ["creationToken", "encrypted", "kmsKeyId", "performanceMode", "availabilityZoneName"],
    data: "its files",
    source: `${TF_AWS}/efs/file_system.go (schema ForceNew)`,
  },
  "aws:ecr/repository:Repository": {
    replaceOn: ["name"],
    data: "its images",
    source: `${TF_AWS}/ecr/repository.go (schema ForceNew)`,
  },
  "aws:ecs/taskDefinition:TaskDefinition": {
    replaceOn: "*",
    inPlace: ["tags", "skipDestroy", "trackLatest"],
    onReplace: "a new revision is registered; services using it roll to it",
    source: `${TF_AWS}/ecs/task_definition.go (every argument but tags ForceNew: revisions are immutable)`,
  },
  "aws:ecs/service:Service": {
    replaceOn: ["name", "cluster", "iamRole", "schedulingStrategy"],
    restartOn: {
      taskDefinition: {
        detail: "in place; a rolling deployment starts new tasks before stopping old ones",
      },
    },
    source: `${TF_AWS}/ecs/service.go (schema ForceNew); ECS Developer Guide, rolling update deployments`,
  },
  "aws:acm/certificate:Certificate": {
    replaceOn: [
      "domainName",
      "subjectAlternativeNames",
      "validationMethod",
      "validationOptions",
      "options",
      "keyAlgorithm",
    ],
    onReplace:
      "a new certificate is requested and validated before the old one is deleted (create before delete): listeners switch to it",
    source: `${TF_AWS}/acm/certificate.go (schema ForceNew)`,
  },
  "aws:acm/certificateValidation:CertificateValidation": {
    replaceOn: "*",
    onReplace: "waits for the new certificate's validation; nothing is served from it",
    source: `${TF_AWS}/acm/certificate_validation.go (no update: every argument ForceNew)`,
  },
  "aws:lb/loadBalancer:LoadBalancer": {
    replaceOn: ["name", "namePrefix", "internal", "loadBalancerType", "customerOwnedIpv4Pool"],
    source: `${TF_AWS}/elbv2/load_balancer.go (schema ForceNew)`,
  },
  "aws:cloudwatch/metricAlarm:MetricAlarm": {
    replaceOn: ["name"],
    source: `${TF_AWS}/cloudwatch/metric_alarm.go (alarm name ForceNew)`,
  },
  "aws:cloudwatch/dashboard:Dashboard": {
    replaceOn: ["dashboardName"],
    source: `${TF_AWS}/cloudwatch/dashboard.go (schema ForceNew)`,
  },
  "aws:iam/role:Role": {
    replaceOn: ["name", "namePrefix", "path"],
    source: `${TF_AWS}/iam/role.go (schema ForceNew)`,
  },
  "aws:iam/rolePolicy:RolePolicy": {
    replaceOn: ["name", "namePrefix", "role"],
    source: `${TF_AWS}/iam/role_policy.go (schema ForceNew)`,
  },
};

/** What deleting a resource of this type loses, or undefined when it holds no data. */
export const dataOf = (type: string): string | undefined => PROVIDER_FACTS[type]?.data;

/** The source of the facts used for a type, for the report's footnote. */
export const factsSource = (type: string): string | undefined => PROVIDER_FACTS[type]?.source;

/** Engine-level fields (`diffPlans`' parenthesised names): the engine, not the provider, decides these. */
const ENGINE_FIELDS: Record<string, FieldEffect> = {
  "(protect)": { kind: "in-place", detail: "engine state only: nothing is called" },
  "(retainOnDelete)": { kind: "in-place", detail: "engine state only: nothing is called" },
  "(parent)": {
    kind: "may-replace",
    detail: "a new parent is a new URN: replaced (create, then delete) unless the program sets an alias",
  },
  "(provider)": {
    kind: "may-replace",
    detail: "moved to another provider: the engine replaces it unless the providers are the same",
  },
};

const RANK: Record<EffectKind, number> = {
  "in-place": 0,
  restart: 1,
  unknown: 2,
  "may-replace": 3,
  replace: 4,
};

/** The effect of one changed input, given the resource's new inputs (some effects depend on them). */
export function fieldEffect(type: string, field: string, inputs: Record<string, unknown> = {}): FieldEffect {
  const engine = ENGINE_FIELDS[field];
  if (engine) return engine;
  const facts = PROVIDER_FACTS[type];
  if (!facts) return { kind: "unknown", detail: "not in the provider table: the provider decides" };
  const replaces =
    facts.replaceOn === "*" ? !(facts.inPlace ?? []).includes(field) : facts.replaceOn.includes(field);
  if (replaces) return { kind: "replace", detail: facts.onReplace ?? "forces a replacement" };
  const restart = facts.restartOn?.[field];
  if (restart) return { kind: "restart", ...(typeof restart === "function" ? restart(inputs) : restart) };
  return { kind: "in-place", detail: "in place" };
}

/** The effect of a change to these fields: the strongest of theirs, with the fields that cause it. */
export function changeEffect(
  type: string,
  fields: string[],
  inputs: Record<string, unknown> = {},
): FieldEffect & { because: string[] } {
  const effects = fields.map((f) => ({ f, e: fieldEffect(type, f, inputs) }));
  if (effects.length === 0) return { kind: "in-place", detail: "in place", because: [] };
  const worst = Math.max(...effects.map(({ e }) => RANK[e.kind]));
  const top = effects.filter(({ e }) => RANK[e.kind] === worst);
  return { ...top[0]!.e, because: top.map(({ f }) => f) };
}
