/**
 * The `aws` blocks of the tiers that run as services on AWS: one Fargate service
 * (`stackport:ingestion.services.<name>.aws`, `stackport:basemap.aws`) and the broker
 * (`stackport:ingestion.broker.aws`). Pure zod + pure defaulting: nothing here touches Pulumi. The prose version is
 * `docs/aws-services.md`.
 */
import { z } from "zod";
import { ConfigError } from "../errors";
import type { Environment } from "../schema";

// ---------------------------------------------------------------------------------------------------------
// One Fargate service

/** Fargate task sizes: CPU units → the memory (MiB) Fargate accepts with it. */
export const FARGATE_MEMORY: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
};
export const FARGATE_CPU = Object.keys(FARGATE_MEMORY).map(Number);

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** Readable list of allowed memory sizes: "2048, 3072, …, 8192" for long ranges. */
export function describeMemory(cpu: number): string {
  const allowed = FARGATE_MEMORY[cpu] ?? [];
  return allowed.length <= 4
    ? allowed.join(", ")
    : `${allowed[0]}–${allowed[allowed.length - 1]} in steps of 1024`;
}

/** EventBridge schedule expression: `rate(5 minutes)` or a six-field `cron(...)`. */
const scheduleExpression = z
  .string()
  .regex(
    /^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$/,
    "must be an EventBridge expression like rate(15 minutes) or cron(0 3 * * ? *)",
  );

export const awsServiceSchema = z
  .strictObject({
    /** Fargate CPU units (1024 = one vCPU). */
    cpu: z
      .number()
      .refine((v) => FARGATE_CPU.includes(v), `must be one of ${FARGATE_CPU.join(", ")} (Fargate CPU units)`)
      .default(256),
    /** Task memory in MiB; Fargate only accepts certain sizes per `cpu`. @default the smallest allowed for `cpu` */
    memoryMb: z.number().int().optional(),
    /** @default 2 in production, 1 elsewhere */
    minTasks: z.number().int().min(1).max(100).optional(),
    /** @default 10 in production, 2 elsewhere (never below `minTasks`) */
    maxTasks: z.number().int().min(1).max(100).optional(),
    /** Average CPU the autoscaler keeps the service at. */
    cpuTargetPercent: z.number().int().min(10).max(90).default(60),
    /**
     * Run as an EventBridge-scheduled task instead of a long-running service (schedulers, batch jobs).
     * Such a task gets no load balancer and no autoscaling.
     */
    schedule: scheduleExpression.optional(),
    /**
     * Create an ECR repository the CI pushes this service's image to; the task then runs
     * `<repository>:<tag of image>`. @default false (the image reference is used as is)
     */
    ecrRepository: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    if (s.memoryMb !== undefined && !FARGATE_MEMORY[s.cpu]?.includes(s.memoryMb)) {
      ctx.addIssue({
        code: "custom",
        path: ["memoryMb"],
        message: `${s.memoryMb} MiB is not a Fargate size for cpu ${s.cpu}; allowed: ${describeMemory(s.cpu)}`,
      });
    }
    if (s.minTasks !== undefined && s.maxTasks !== undefined && s.minTasks > s.maxTasks) {
      ctx.addIssue({ code: "custom", path: ["maxTasks"], message: `must be ≥ minTasks (${s.minTasks})` });
    }
    if (s.schedule !== undefined) {
      for (const key of ["minTasks", "maxTasks"] as const) {
        if (s[key] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message:
              "a scheduled task runs once per schedule and does not scale; remove this key or 'schedule'",
          });
        }
      }
    }
  });
export type AwsServiceConfig = z.infer<typeof awsServiceSchema>;

/** A Fargate service's sizing with every environment default applied. */
export interface ResolvedAwsService {
  cpu: number;
  memoryMb: number;
  minTasks: number;
  maxTasks: number;
  cpuTargetPercent: number;
  schedule?: string;
  ecrRepository: boolean;
}

/** Seed 003: 2–10 tasks in production (survives an AZ loss); 1–2 elsewhere (cheap, still rolls without downtime). */
const TASKS: Record<Environment, { min: number; max: number }> = {
  local: { min: 1, max: 2 },
  staging: { min: 1, max: 2 },
  production: { min: 2, max: 10 },
};

/**
 * Applies the environment defaults to a service's `aws` block.
 * @param key the block's config key (`stackport:ingestion.services.api.aws`), for errors
 * @throws ConfigError naming `<key>.<field>` when the block is invalid (e.g. a memory size Fargate refuses)
 */
export function resolveAwsService(
  cfg: z.input<typeof awsServiceSchema> | undefined,
  environment: Environment,
  key: string,
): ResolvedAwsService {
  const parsed = awsServiceSchema.safeParse(cfg ?? {});
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({
        key: [key, ...i.path.map(String)].join("."),
        message: i.message,
      })),
    );
  }
  const s = parsed.data;
  const minTasks = s.minTasks ?? TASKS[environment].min;
  return {
    cpu: s.cpu,
    memoryMb: s.memoryMb ?? FARGATE_MEMORY[s.cpu]![0]!,
    minTasks,
    maxTasks: s.maxTasks ?? Math.max(TASKS[environment].max, minTasks),
    cpuTargetPercent: s.cpuTargetPercent,
    ...(s.schedule !== undefined && { schedule: s.schedule }),
    ecrRepository: s.ecrRepository,
  };
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
  /** A replica in another AZ with automatic failover. @default true in production, false elsewhere */
  failover: z.boolean().optional(),
});
export type AwsBrokerConfig = z.infer<typeof awsBrokerSchema>;
