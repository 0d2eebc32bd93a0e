/**
 * Someone sees what happens on AWS: every VPC records its traffic (flow logs), and every alarm reaches a person (an
 * action, on an SNS topic that has at least one subscription). Stack rules: each looks for the resource that must
 * accompany another, matched by the dependency the program gives it (a flow log on its VPC, a subscription on its
 * topic, an alarm on the topic it notifies) — known at preview, when ids and ARNs are not.
 */
import type { PolicyResource } from "@pulumi/policy";
import { CannotCheck, isUnknownValueError, stackRule } from "./common";

export const VPC = "aws:ec2/vpc:Vpc";
export const FLOW_LOG = "aws:ec2/flowLog:FlowLog";
export const METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
export const SNS_TOPIC = "aws:sns/topic:Topic";
export const SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription";

const dependsOn = (r: PolicyResource, on: PolicyResource) =>
  r.dependencies.some((d) => d.urn === on.urn) ||
  Object.values(r.propertyDependencies ?? {}).some((ds) => ds.some((d) => d.urn === on.urn));

export const vpcFlowLogs = stackRule(
  {
    name: "aws-vpc-flow-logs",
    description: "Every VPC must have a flow log, so its traffic can be audited after an incident.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `vpc.flowLogs: true` on the AWS target (`stackport:targets`). A stack that accepts a VPC without flow logs lowers this rule in its own `policies/config/<stack>.json`.",
    area: "aws-network",
    appliesTo: [VPC, FLOW_LOG],
  },
  (args, report) => {
    const flowLogs = args.resources.filter((r) => r.type === FLOW_LOG);
    for (const vpc of args.resources.filter((r) => r.type === VPC)) {
      if (flowLogs.some((f) => dependsOn(f, vpc))) continue;
      report(
        `VPC ${vpc.name} has no flow log: its traffic is not recorded (CKV2_AWS_11); set vpc.flowLogs: true on the target`,
        vpc.urn,
      );
    }
  },
);

/** The number of actions an alarm lists; unknown entries count (an ARN is unknown at preview), an unknown list does not. */
function actionCount(alarm: PolicyResource): number {
  try {
    const actions = alarm.props.alarmActions;
    return Array.isArray(actions) ? actions.length : 0;
  } catch (e) {
    if (isUnknownValueError(e)) throw new CannotCheck(`alarmActions of ${alarm.name}: ${e.message}`);
    throw e;
  }
}

export const alarmsNotify = stackRule(
  {
    name: "aws-alarms-notify",
    description:
      "Every metric alarm must notify someone: an action, on an SNS topic that has a subscription.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "List at least one address in `stackport:observability.aws.alarmEmails` (each recipient confirms the subscription e-mail), or subscribe another endpoint to the alerts topic.",
    area: "aws-cloudwatch",
    appliesTo: [METRIC_ALARM, SNS_TOPIC, SNS_SUBSCRIPTION],
  },
  (args, report) => {
    const alarms = args.resources.filter((r) => r.type === METRIC_ALARM);
    const subscriptions = args.resources.filter((r) => r.type === SNS_SUBSCRIPTION);
    const alarmsByTopic = new Map<PolicyResource, PolicyResource[]>();
    for (const alarm of alarms) {
      if (actionCount(alarm) === 0) {
        report(`alarm ${alarm.name} has no alarmActions: it changes state and tells nobody`, alarm.urn);
        continue;
      }
      for (const topic of args.resources.filter((r) => r.type === SNS_TOPIC && dependsOn(alarm, r)))
        alarmsByTopic.set(topic, [...(alarmsByTopic.get(topic) ?? []), alarm]);
    }
    for (const [topic, notifying] of alarmsByTopic) {
      if (subscriptions.some((s) => dependsOn(s, topic))) continue;
      report(
        `SNS topic ${topic.name} receives ${notifying.length} alarm(s) but has no subscription: nobody is notified; set stackport:observability.aws.alarmEmails`,
        topic.urn,
      );
    }
  },
);

export const monitoringRules = [vpcFlowLogs, alarmsNotify];
