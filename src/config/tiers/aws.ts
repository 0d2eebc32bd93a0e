/**
 * Settings that only exist when a tier is placed on an AWS target: the `aws:` key of `stackport:storage`,
 * `stackport:database` and `stackport:observability`. The schemas keep environment-dependent values optional; the
 * `resolveAws*` functions fill them in from the environment (multi-AZ and 7-day backups in production, …), and
 * `awsSettingsIssues` refuses what must never reach production.
 */
import { z } from "zod";
import type { ConfigIssue } from "../errors";
import type { Environment } from "../schema";

const kmsKeyArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/,
    "must be a KMS key or alias ARN (arn:aws:kms:<region>:<account>:key/<id>)",
  );

export const awsStorageSchema = z.strictObject({
  /** Customer-managed KMS key for SSE-KMS (with S3 Bucket Keys). @default SSE-S3 (AES256) */
  kmsKeyArn: kmsKeyArn.optional(),
  /** Let `pulumi destroy` delete non-empty buckets. Refused in production. @default false */
  forceDestroy: z.boolean().default(false),
  /**
   * Extra text mixed into the hash that makes bucket names globally unique. Set it (e.g. to your domain) only if a
   * name is taken by another AWS account. Changing it renames — replaces — every bucket.
   */
  nameSeed: z.string().min(1).max(100).optional(),
});

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export const awsDatabaseSchema = z
  .strictObject({
    /** PostgreSQL engine version: a major (`17`, minor upgrades automatic) or `major.minor`. Major upgrades are manual. */
    engineVersion: z
      .string()
      .regex(/^\d{2}(\.\d+)?$/, "must be a PostgreSQL version like 17 or 17.4")
      .default("17"),
    instanceClass: z
      .string()
      .regex(/^db\.[a-z0-9-]+\.[a-z0-9]+$/, "must be an RDS instance class like db.t4g.medium")
      .default("db.t4g.medium"),
    allocatedStorageGb: z.number().int().min(20).max(65536).default(20),
    /** Storage autoscaling ceiling. */
    maxAllocatedStorageGb: z.number().int().min(20).max(65536).default(100),
    /** @default true in production, false elsewhere */
    multiAz: z.boolean().optional(),
    /** Days of automated backups (0 turns them off; refused in production). @default 1 in local, 7 elsewhere */
    backupRetentionDays: z.number().int().min(0).max(35).optional(),
    /** Performance Insights (7 days, free tier). @default true in production, false elsewhere */
    performanceInsights: z.boolean().optional(),
  })
  .refine((d) => d.maxAllocatedStorageGb >= d.allocatedStorageGb, {
    path: ["maxAllocatedStorageGb"],
    message: "must be at least allocatedStorageGb",
  });

const emailAddress = z.email("must be an e-mail address");

export const awsObservabilitySchema = z.strictObject({
  /** Who gets alarm notifications (each confirms an SNS subscription e-mail once). */
  alarmEmails: z.array(emailAddress).default([]),
  /** Retention of every log group. @default 90 in production, 30 elsewhere */
  logRetentionDays: z
    .number()
    .refine((d) => (LOG_RETENTION_DAYS as readonly number[]).includes(d), {
      message: `must be one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .optional(),
  /** The custom metric the ingestion services publish after each successful run (seconds since the last success). */
  freshnessMetric: z
    .strictObject({
      namespace: z.string().min(1).max(255).default("stackport/Ingest"),
      name: z.string().min(1).max(255).default("LastSuccessAgeSeconds"),
      /** Alarm when the newest data is older than this. */
      maxAgeMinutes: z
        .number()
        .int()
        .min(5)
        .max(60 * 24 * 7)
        .default(90),
    })
    .default({ namespace: "stackport/Ingest", name: "LastSuccessAgeSeconds", maxAgeMinutes: 90 }),
});

export type AwsStorageInput = z.input<typeof awsStorageSchema>;
export type AwsDatabaseInput = z.input<typeof awsDatabaseSchema>;
export type AwsObservabilityInput = z.input<typeof awsObservabilitySchema>;

export type AwsStorageSettings = z.infer<typeof awsStorageSchema>;
export type AwsDatabaseSettings = Required<z.infer<typeof awsDatabaseSchema>> & {
  /** The PostgreSQL major version (`17` from `17.4`): the parameter group family is `postgres<major>`. */
  major: number;
};
export type AwsObservabilitySettings = Required<z.infer<typeof awsObservabilitySchema>>;

const production = (env: Environment) => env === "production";

/** Defaults for `stackport:storage.aws` (the schema's own defaults; no environment-dependent values). */
export function resolveAwsStorage(settings: AwsStorageSettings | undefined): AwsStorageSettings {
  return settings ?? awsStorageSchema.parse({});
}

export function resolveAwsDatabase(
  environment: Environment,
  settings: z.infer<typeof awsDatabaseSchema> | undefined,
): AwsDatabaseSettings {
  const s = settings ?? awsDatabaseSchema.parse({});
  return {
    ...s,
    multiAz: s.multiAz ?? production(environment),
    backupRetentionDays: s.backupRetentionDays ?? (environment === "local" ? 1 : 7),
    performanceInsights: s.performanceInsights ?? production(environment),
    major: Number(s.engineVersion.split(".")[0]),
  };
}

export function resolveAwsObservability(
  environment: Environment,
  settings: z.infer<typeof awsObservabilitySchema> | undefined,
): AwsObservabilitySettings {
  const s = settings ?? awsObservabilitySchema.parse({});
  return { ...s, logRetentionDays: s.logRetentionDays ?? (production(environment) ? 90 : 30) };
}

/**
 * Environment rules the schemas cannot express. `paths` are the config paths of each tier's `aws` key
 * (`["storage", "aws"]`), so messages name the exact key.
 */
export function awsSettingsIssues(
  environment: Environment,
  tiers: {
    storage?: AwsStorageSettings;
    database?: z.infer<typeof awsDatabaseSchema>;
  },
  configKey: (path: PropertyKey[]) => string,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (production(environment) && tiers.storage?.forceDestroy) {
    issues.push({
      key: configKey(["storage", "aws", "forceDestroy"]),
      message:
        "is refused in production: it lets `pulumi destroy` delete buckets with data; empty them deliberately instead",
    });
  }
  if (production(environment) && tiers.database?.backupRetentionDays === 0) {
    issues.push({
      key: configKey(["database", "aws", "backupRetentionDays"]),
      message: "0 turns automated backups off, which production never does; use 1–35 (default 7)",
    });
  }
  return issues;
}
