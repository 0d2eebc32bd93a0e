/**
 * Every taggable resource carries the standard labels (Docker) or tags (AWS): `stackport.stack`,
 * `stackport.tier`, `stackport.managed-by` — what tells an operator, a cost report or a cleanup script whose
 * resource it is. AWS tags may come from the provider's `defaultTags` as well as the resource's own `tags`.
 */
import { awsTags, dockerLabels, resourceRule, STANDARD_LABELS } from "./common";

export const DOCKER_LABELLED = [
  "docker:index/container:Container",
  "docker:index/volume:Volume",
  "docker:index/network:Network",
];

/** AWS resources stackport creates that accept `tags` (providers.md §3.2). */
export const AWS_TAGGABLE = [
  "aws:s3/bucket:Bucket",
  "aws:rds/instance:Instance",
  "aws:rds/cluster:Cluster",
  "aws:rds/subnetGroup:SubnetGroup",
  "aws:rds/parameterGroup:ParameterGroup",
  "aws:ecs/cluster:Cluster",
  "aws:ecs/taskDefinition:TaskDefinition",
  "aws:ecs/service:Service",
  "aws:lb/loadBalancer:LoadBalancer",
  "aws:alb/loadBalancer:LoadBalancer",
  "aws:lb/targetGroup:TargetGroup",
  "aws:alb/targetGroup:TargetGroup",
  "aws:lb/listener:Listener",
  "aws:alb/listener:Listener",
  "aws:acm/certificate:Certificate",
  "aws:ec2/vpc:Vpc",
  "aws:ec2/subnet:Subnet",
  "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/natGateway:NatGateway",
  "aws:ec2/eip:Eip",
  "aws:ec2/routeTable:RouteTable",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  "aws:ec2/vpcEndpoint:VpcEndpoint",
  "aws:cloudwatch/logGroup:LogGroup",
  "aws:cloudwatch/metricAlarm:MetricAlarm",
  "aws:secretsmanager/secret:Secret",
  "aws:route53/zone:Zone",
  "aws:route53/healthCheck:HealthCheck",
  "aws:iam/role:Role",
  "aws:iam/policy:Policy",
  "aws:ecr/repository:Repository",
  "aws:sns/topic:Topic",
  "aws:kms/key:Key",
  "aws:elasticache/replicationGroup:ReplicationGroup",
  "aws:efs/fileSystem:FileSystem",
];

export const labelsStandard = resourceRule(
  {
    name: "labels-standard",
    description:
      "Every taggable resource must carry the stackport.stack, stackport.tier and stackport.managed-by labels or tags.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps:
      "Build labels with `dockerLabels(tier)` / tags with `standardLabels(tier)` from components/shared/labels.ts, or set them as the AWS provider's `defaultTags`.",
    area: "labels",
    appliesTo: [...DOCKER_LABELLED, ...AWS_TAGGABLE],
  },
  (props, args, report) => {
    let present: Map<string, string>;
    if (args.type.startsWith("docker:")) {
      present = dockerLabels(props.labels);
    } else {
      present = awsTags(props.tags);
      for (const [k, v] of awsTags(args.provider?.props?.defaultTags?.tags))
        if (!present.has(k)) present.set(k, v);
    }
    const missing = STANDARD_LABELS.filter((k) => !present.get(k));
    if (missing.length)
      report(`missing ${args.type.startsWith("docker:") ? "labels" : "tags"}: ${missing.join(", ")}`);
    const managedBy = present.get("stackport.managed-by");
    if (managedBy && managedBy !== "stackport")
      report(`stackport.managed-by is "${managedBy}", expected "stackport"`);
  },
);

export const labelRules = [labelsStandard];
