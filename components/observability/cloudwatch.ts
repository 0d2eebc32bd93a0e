import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement } from "../shared/placement";
import { awsName } from "../shared/awsNames";
import { type Transform, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import { standardLabels } from "../shared/labels";
import { alarmSpecs } from "./alarms";
import type { AlarmSpec, DatabaseAlarmInputs } from "./contract";
import { renderDashboard } from "./dashboard";
import {
  CLOUDWATCH_DEFAULTS,
  type FreshnessMetricArgs,
  validateCloudWatchObservabilityArgs,
} from "./settings";

export interface CloudWatchObservabilityArgs {
  /** The AWS target (`AwsTarget.placement`). */
  placement: AwsPlacement;
  /** Who gets alarm notifications (each confirms an SNS subscription e-mail once). @default [] */
  alarmEmails?: string[];
  /**
   * Retention of every log group, one of CloudWatch's periods (`LOG_RETENTION_DAYS`). Exposed as
   * `logRetentionDays` for the tiers that create log groups. @default 30
   */
  logRetentionDays?: number;
  /** The freshness alarm's custom metric. @default { namespace: "stackport/Ingest", name: "LastSuccessAgeSeconds", maxAgeMinutes: 90 } */
  freshnessMetric?: FreshnessMetricArgs;
  /** The RDS instance to watch, when the database tier is on AWS (`RdsDatabase.metrics`). @default none */
  database?: DatabaseAlarmInputs;
  /** Alarms other tiers ask for (ECS CPU/memory, ALB 5xx/unhealthy hosts). Keys must be unique. @default none */
  extraAlarms?: AlarmSpec[];
  /** Per-child escape hatches. @default none */
  transform?: {
    topic?: Transform<aws.sns.TopicArgs>;
    alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
    dashboard?: Transform<aws.cloudwatch.DashboardArgs>;
  };
}

/**
 * Observability on AWS: an SNS topic with one e-mail subscription per `alarmEmails` entry (each recipient confirms
 * once), one metric alarm per `AlarmSpec` (alarm and recovery both notify), and a dashboard graphing every alarm's
 * metric. Log groups belong to the services that write them; their retention is `logRetentionDays`.
 *
 * The topic is not KMS-encrypted: CloudWatch alarms cannot publish to a topic encrypted with the AWS-managed SNS
 * key, and a customer key is not configurable yet.
 * @example
 * new CloudWatchObservability("observability", {
 *   placement: cloud.placement,
 *   alarmEmails: ["ops@example.org"],
 *   database: database.metrics,
 *   extraAlarms: ingestion.alarmSpecs,
 * });
 */
export class CloudWatchObservability extends pulumi.ComponentResource {
  /** Where alarms notify; other tiers may publish to it too. */
  readonly topicArn: pulumi.Output<string>;
  /** Retention every tier's log groups use. */
  readonly logRetentionDays: number;
  readonly alarmNames: Record<string, pulumi.Output<string>>;
  readonly nodes: {
    topic: aws.sns.Topic;
    subscriptions: Record<string, aws.sns.TopicSubscription>;
    alarms: Record<string, aws.cloudwatch.MetricAlarm>;
    dashboard: aws.cloudwatch.Dashboard;
  };

  constructor(name: string, args: CloudWatchObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate (values, duplicate alarm keys) before anything is registered.
    assertValidArgs(`stackport:aws:Observability '${name}'`, validateCloudWatchObservabilityArgs(args));
    const config = {
      alarmEmails: args.alarmEmails ?? [],
      logRetentionDays: args.logRetentionDays ?? CLOUDWATCH_DEFAULTS.logRetentionDays,
      freshnessMetric: { ...CLOUDWATCH_DEFAULTS.freshnessMetric, ...args.freshnessMetric },
    };
    const specs = alarmSpecs({
      ...(args.database && { database: args.database }),
      freshness: config.freshnessMetric,
      ...(args.extraAlarms && { extra: args.extraAlarms }),
    });
    super("stackport:aws:Observability", name, { config }, opts);
    const { placement, transform } = args;
    const child = { parent: this, provider: placement.provider };
    const tags = standardLabels("observability");

    const [topicArgs, topicOpts] = transformed<aws.sns.TopicArgs>(
      transform?.topic,
      { name: awsName(["alerts"], 256), displayName: `stackport ${pulumi.getStack()} alerts`, tags },
      { ...child },
    );
    const topic = new aws.sns.Topic(`${name}-alerts`, topicArgs, topicOpts);

    const subscriptions = Object.fromEntries(
      [...new Set(config.alarmEmails)].map((email) => [
        email,
        new aws.sns.TopicSubscription(
          `${name}-email-${email}`,
          { topic: topic.arn, protocol: "email", endpoint: email },
          child,
        ),
      ]),
    );

    const alarms = Object.fromEntries(
      specs.map((spec) => {
        const [alarmArgs, alarmOpts] = transformed<aws.cloudwatch.MetricAlarmArgs>(
          transform?.alarm,
          {
            name: awsName([spec.key], 255),
            alarmDescription: spec.description,
            namespace: spec.namespace,
            metricName: spec.metricName,
            ...(spec.dimensions && { dimensions: spec.dimensions }),
            statistic: spec.statistic,
            period: spec.periodSeconds,
            evaluationPeriods: spec.evaluationPeriods,
            datapointsToAlarm: spec.datapointsToAlarm ?? spec.evaluationPeriods,
            threshold: spec.threshold,
            comparisonOperator: spec.comparisonOperator,
            treatMissingData: spec.treatMissingData,
            alarmActions: [topic.arn],
            okActions: [topic.arn],
            tags,
          },
          { ...child },
        );
        return [spec.key, new aws.cloudwatch.MetricAlarm(`${name}-${spec.key}`, alarmArgs, alarmOpts)];
      }),
    );

    const [dashboardArgs, dashboardOpts] = transformed<aws.cloudwatch.DashboardArgs>(
      transform?.dashboard,
      {
        dashboardName: awsName(["platform"], 255),
        // Dimension values may be Outputs (ALB arnSuffix): resolve them, then render the JSON (no resources here).
        dashboardBody: pulumi.output(specs).apply((resolved) =>
          renderDashboard({
            title: `stackport ${pulumi.getStack()}`,
            region: placement.region,
            alarms: resolved as AlarmSpec<string>[],
          }),
        ),
      },
      { ...child },
    );
    const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, dashboardArgs, dashboardOpts);

    this.topicArn = topic.arn;
    this.logRetentionDays = config.logRetentionDays;
    this.alarmNames = Object.fromEntries(Object.entries(alarms).map(([k, a]) => [k, a.name]));
    this.nodes = { topic, subscriptions, alarms, dashboard };
    this.registerOutputs({ topicArn: topic.arn, dashboard: dashboard.dashboardName });
  }
}
