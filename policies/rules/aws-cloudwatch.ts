/** CloudWatch log groups: a retention period, so logs neither vanish nor pile up forever. */
import { resourceRule } from "./common";

export const LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup";

export const cloudwatchLogRetention = resourceRule(
  {
    name: "aws-cloudwatch-log-retention",
    description:
      "CloudWatch log groups must set a retention period of at least the configured number of days.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set `retentionInDays` (e.g. 30, 90, 365) on the log group.",
    area: "aws-cloudwatch",
    appliesTo: [LOG_GROUP],
    configSchema: {
      properties: {
        minDays: { type: "integer", minimum: 1, default: 1, description: "Shortest retention accepted." },
      },
    },
  },
  (props, args, report) => {
    const { minDays } = args.getConfig<{ minDays: number }>();
    const days = props.retentionInDays;
    if (typeof days !== "number" || days <= 0)
      report("retentionInDays is not set: logs are kept forever (CKV_AWS_66)");
    else if (days < minDays) report(`retentionInDays is ${days}, below ${minDays}`);
  },
);

export const cloudwatchRules = [cloudwatchLogRetention];
