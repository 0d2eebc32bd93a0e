/**
 * The `aws` blocks of the tiers that run as services on AWS: one Fargate service
 * (`stackport:ingestion.services.<name>.aws`, `stackport:basemap.aws`) and the broker
 * (`stackport:ingestion.broker.aws`). Pure zod + pure defaulting: nothing here touches Pulumi. The prose version is
 * `docs/aws-services.md`.
 */
import { z } from "zod";
import { FARGATE_SIZING_DEFAULTS, type FargateSizingArgs } from "../../../components/shared/fargateSizing";
import type { Environment } from "../schema";

// ---------------------------------------------------------------------------------------------------------
// One Fargate service

export const awsServiceSchema = z.strictObject({
  /** Fargate CPU units (1024 = one vCPU): 256, 512, 1024, 2048 or 4096. */
  cpu: z.number().default(FARGATE_SIZING_DEFAULTS.cpu),
  /** Task memory in MiB; Fargate only accepts certain sizes per `cpu`. @default the smallest allowed for `cpu` */
  memoryMb: z.number().optional(),
  /** Fewest tasks the autoscaler keeps running. @default `2` in production, `1` elsewhere */
  minTasks: z.number().optional(),
  /** Most tasks the autoscaler starts. @default `10` in production, `2` elsewhere (never below `minTasks`) */
  maxTasks: z.number().optional(),
  /** Average CPU the autoscaler keeps the service at. */
  cpuTargetPercent: z.number().default(FARGATE_SIZING_DEFAULTS.cpuTargetPercent),
  /**
   * Create an ECR repository the CI pushes this service's image to; the task then runs
   * `<repository>:<tag of image>`. @default false (the image reference is used as is)
   */
  ecrRepository: z.boolean().default(false),
});
export type AwsServiceConfig = z.infer<typeof awsServiceSchema>;

/** Seed 003: 2–10 tasks in production (survives an AZ loss); 1–2 elsewhere (cheap, still rolls without downtime). */
const TASKS: Record<Environment, { min: number; max: number }> = {
  local: { min: 1, max: 2 },
  staging: { min: 1, max: 2 },
  production: { min: 2, max: 10 },
};

/**
 * A service's `aws` block as `FargateService` sizing, with the environment's task counts: none for a scheduled task
 * (the service's `schedule`), one by default for a service with `data` (one writer of its directory).
 */
export function awsServiceSizing(
  aws: AwsServiceConfig | undefined,
  environment: Environment,
  service: { scheduled?: boolean; single?: boolean } = {},
): FargateSizingArgs {
  const s = aws ?? awsServiceSchema.parse({});
  if (service.scheduled) return s;
  if (service.single) return { ...s, minTasks: s.minTasks ?? 1, maxTasks: s.maxTasks ?? 1 };
  const minTasks = s.minTasks ?? TASKS[environment].min;
  return { ...s, minTasks, maxTasks: s.maxTasks ?? Math.max(TASKS[environment].max, minTasks) };
}

// ---------------------------------------------------------------------------------------------------------
// Broker

/**
 * `elasticache` (default): a managed Valkey replication group — TLS in transit, an AUTH token, encryption at rest,
 * automatic failover in production; queued jobs survive a task replacement. `task` is not offered: a Fargate task
 * has no durable disk (a broker restart loses the queue), needs service discovery to be found and cannot be
 * failed over. See docs/aws-services.md.
 */
export const awsBrokerSchema = z.strictObject({
  /** How the broker runs on AWS: `elasticache`, a managed Valkey replication group, is the one mode offered. */
  mode: z.enum(["elasticache"]).default("elasticache"),
  /** ElastiCache node type. */
  nodeType: z
    .string()
    .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, "must be an ElastiCache node type like cache.t4g.micro")
    .default("cache.t4g.micro"),
  /** Valkey engine version. */
  engineVersion: z
    .string()
    .regex(/^\d+\.\d+$/, "must be a major.minor version like 8.0")
    .default("8.0"),
  /** A replica in another AZ with automatic failover. @default `true` in production, `false` elsewhere */
  failover: z.boolean().optional(),
});
export type AwsBrokerConfig = z.infer<typeof awsBrokerSchema>;
