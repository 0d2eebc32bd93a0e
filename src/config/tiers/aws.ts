/**
 * Settings that only exist when a tier is placed on an AWS target: the `aws:` key of `stackport:storage`,
 * `stackport:database` and `stackport:observability`. The schemas keep environment-dependent values optional; the
 * `resolveAws*` functions fill them in from the environment (multi-AZ and 7-day backups in production, …), and
 * `awsSettingsIssues` refuses what must never reach production.
 */
import { z } from "zod";
import { CLOUDWATCH_DEFAULTS, LOG_RETENTION_DAYS } from "../../../components/observability/settings";
import type { Environment } from "../schema";

export { LOG_RETENTION_DAYS };

const emailAddress = z.email("must be an e-mail address");

/**
 * `stackport:observability.aws`: CloudWatch, when the tier is on an AWS target (log groups, metric alarms, an SNS
 * topic, a dashboard).
 */
export const awsObservabilitySchema = z.strictObject({
  /** Who gets alarm notifications (each confirms an SNS subscription e-mail once). */
  alarmEmails: z.array(emailAddress).default([]),
  /** Retention of every log group, in days: one of CloudWatch's periods. @default `90` in production, `30` elsewhere */
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .optional(),
  /** The custom metric the ingestion services publish after each successful run (seconds since the last success). */
  freshnessMetric: z
    .strictObject({
      /** CloudWatch namespace of the metric. */
      namespace: z.string().min(1).max(255).default(CLOUDWATCH_DEFAULTS.freshnessMetric.namespace),
      /** Metric name. */
      name: z.string().min(1).max(255).default(CLOUDWATCH_DEFAULTS.freshnessMetric.name),
      /** Alarm when the newest data is older than this. */
      maxAgeMinutes: z
        .number()
        .int()
        .min(5)
        .max(60 * 24 * 7)
        .default(CLOUDWATCH_DEFAULTS.freshnessMetric.maxAgeMinutes),
    })
    .default(CLOUDWATCH_DEFAULTS.freshnessMetric),
});

export type AwsObservabilityInput = z.input<typeof awsObservabilitySchema>;

export type AwsObservabilitySettings = Required<z.infer<typeof awsObservabilitySchema>>;

const production = (env: Environment) => env === "production";

/** Retention of every CloudWatch log group unless `stackport:observability.aws.logRetentionDays` says otherwise. */
export const defaultLogRetentionDays = (environment: Environment): number =>
  production(environment) ? 90 : 30;

export function resolveAwsObservability(
  environment: Environment,
  settings: z.infer<typeof awsObservabilitySchema> | undefined,
): AwsObservabilitySettings {
  const s = settings ?? awsObservabilitySchema.parse({});
  return { ...s, logRetentionDays: s.logRetentionDays ?? defaultLogRetentionDays(environment) };
}
