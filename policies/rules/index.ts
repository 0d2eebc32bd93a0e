/** Every stackport rule, in documentation order. The only list `policies/index.ts` and the synth evaluator use. */
import { albRules } from "./aws-alb";
import { cloudwatchRules } from "./aws-cloudwatch";
import { ecsRules } from "./aws-ecs";
import { efsRules } from "./aws-efs";
import { iamRules } from "./aws-iam";
import { monitoringRules } from "./aws-monitoring";
import { networkRules } from "./aws-network";
import { rdsRules } from "./aws-rds";
import { s3Rules } from "./aws-s3";
import { backupRules } from "./backups";
import type { StackportRule } from "./common";
import { dockerRules } from "./docker";
import { exposureRules } from "./exposure";
import { labelRules } from "./labels";
import { stackRules } from "./stack";
import { statefulRules } from "./stateful";

export type { StackportRule, StackportResourceRule, StackportStackRule, RuleMeta } from "./common";

export const allRules: StackportRule[] = [
  ...dockerRules,
  ...exposureRules,
  ...backupRules,
  ...statefulRules,
  ...stackRules,
  ...labelRules,
  ...s3Rules,
  ...rdsRules,
  ...albRules,
  ...networkRules,
  ...monitoringRules,
  ...ecsRules,
  ...efsRules,
  ...cloudwatchRules,
  ...iamRules,
];
