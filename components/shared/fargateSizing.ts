/**
 * How big a Fargate task is and how many run (the sizes Fargate accepts, the defaults), and everything a
 * `FargateService` would refuse. Pure, shared by every component that runs one (ingestion services, Martin), and
 * by programs that check their config without loading `@pulumi/aws`.
 */
import { containerIssues } from "./containerDefinitions";
import { type ArgsIssue, argPath } from "./errors";

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
export const SCHEDULE_EXPRESSION =
  /^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$/;

/** A Fargate service's size and count. */
export interface FargateSizingArgs {
  /** CPU units (1024 = one vCPU): 256, 512, 1024, 2048 or 4096. @default 256 */
  cpu?: number;
  /** Task memory in MiB; Fargate accepts only certain sizes per `cpu` (`FARGATE_MEMORY`). @default the smallest for `cpu` */
  memoryMb?: number;
  /** Tasks always running. @default 1 */
  minTasks?: number;
  /** Autoscaling ceiling (CPU target tracking); equal to `minTasks` turns autoscaling off. @default 2, never below `minTasks` */
  maxTasks?: number;
  /** Average CPU the autoscaler keeps the service at, 10–90. @default 60 */
  cpuTargetPercent?: number;
  /**
   * Run as an EventBridge-scheduled task instead of a long-running service (schedulers, batch jobs): no load
   * balancer, no autoscaling, no task counts. @default a long-running service
   * @example "cron(0 3 * * ? *)"
   */
  schedule?: string;
  /** Create an ECR repository CI pushes the image to; the task runs `<repository>:<tag of image>`. @default false */
  ecrRepository?: boolean;
}

/**
 * A service's sizing with its service-level `schedule` (both backends take it there) as `sizing.schedule`, which it
 * replaces. Undefined when there is neither.
 */
export function withSchedule(
  sizing: FargateSizingArgs | undefined,
  schedule: string | undefined,
): FargateSizingArgs | undefined {
  return schedule === undefined ? sizing : { ...sizing, schedule };
}

/** A sizing with its defaults applied. */
export interface FargateSizing {
  cpu: number;
  memoryMb: number;
  minTasks: number;
  maxTasks: number;
  cpuTargetPercent: number;
  schedule?: string;
  ecrRepository: boolean;
}

export const FARGATE_SIZING_DEFAULTS = { cpu: 256, minTasks: 1, maxTasks: 2, cpuTargetPercent: 60 } as const;

/** The sizing with its defaults applied (assumes `validateFargateSizing` found nothing). */
export function resolveFargateSizing(args: FargateSizingArgs = {}): FargateSizing {
  const d = FARGATE_SIZING_DEFAULTS;
  const cpu = args.cpu ?? d.cpu;
  const minTasks = args.minTasks ?? d.minTasks;
  return {
    cpu,
    memoryMb: args.memoryMb ?? FARGATE_MEMORY[cpu]![0]!,
    minTasks,
    maxTasks: args.maxTasks ?? Math.max(d.maxTasks, minTasks),
    cpuTargetPercent: args.cpuTargetPercent ?? d.cpuTargetPercent,
    ...(args.schedule !== undefined && { schedule: args.schedule }),
    ecrRepository: args.ecrRepository ?? false,
  };
}

/** What Fargate would refuse in a sizing, each at `<prefix>.<field>` (or `<field>` for an empty prefix). */
export function validateFargateSizing(args: FargateSizingArgs, prefix = "sizing"): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const issue = (field: string, message: string) =>
    issues.push({ path: prefix ? argPath(prefix, field) : field, message });
  const cpu = args.cpu ?? FARGATE_SIZING_DEFAULTS.cpu;
  if (!FARGATE_CPU.includes(cpu))
    issue("cpu", `must be one of ${FARGATE_CPU.join(", ")} (Fargate CPU units)`);
  else if (args.memoryMb !== undefined && !FARGATE_MEMORY[cpu]!.includes(args.memoryMb)) {
    issue(
      "memoryMb",
      `${args.memoryMb} MiB is not a Fargate size for cpu ${cpu}; allowed: ${describeMemory(cpu)}`,
    );
  }
  const whole = (n: number | undefined, min: number, max: number) =>
    n === undefined || (Number.isInteger(n) && n >= min && n <= max);
  if (!whole(args.minTasks, 1, 100)) issue("minTasks", "must be a whole number from 1 to 100");
  if (!whole(args.maxTasks, 1, 100)) issue("maxTasks", "must be a whole number from 1 to 100");
  else if (args.minTasks !== undefined && args.maxTasks !== undefined && args.minTasks > args.maxTasks) {
    issue("maxTasks", `must be ≥ minTasks (${args.minTasks})`);
  }
  if (!whole(args.cpuTargetPercent, 10, 90))
    issue("cpuTargetPercent", "must be a whole number from 10 to 90");
  if (args.schedule !== undefined) {
    if (!SCHEDULE_EXPRESSION.test(args.schedule)) {
      issue("schedule", "must be an EventBridge expression like rate(15 minutes) or cron(0 3 * * ? *)");
    }
    for (const key of ["minTasks", "maxTasks"] as const) {
      if (args[key] !== undefined) {
        issue(
          key,
          "a scheduled task runs once per schedule and does not scale; remove this key or 'schedule'",
        );
      }
    }
  }
  return issues;
}

const ECR_IMAGE = /^([a-z0-9][a-z0-9._-]*(?:\/[a-z0-9][a-z0-9._-]*)*):([A-Za-z0-9_][A-Za-z0-9._-]{0,127})$/;

/** The tag to pull from the created ECR repository: the image must be `name:tag` without a registry. */
export function ecrTag(image: string): string | undefined {
  const m = ECR_IMAGE.exec(image);
  const firstPart = image.split("/")[0]!;
  return !m || (image.includes("/") && /[.:]|^localhost$/.test(firstPart)) ? undefined : m[2]!;
}

/** The parts of `FargateServiceArgs` the checks read (structural, so this module needs no provider types). */
export interface FargateServiceShape {
  sizing?: FargateSizingArgs | undefined;
  container: {
    image: string;
    port?: number | undefined;
    environment?: Record<string, unknown> | undefined;
    healthPath?: string | undefined;
  };
  secretValues?: Record<string, unknown> | undefined;
  secretRefs?: Record<string, unknown> | undefined;
  targetGroup?: unknown;
  publishedPorts?: unknown[] | undefined;
  data?: unknown;
  serviceConnect?: { servers?: unknown[] | undefined } | undefined;
}

/**
 * Everything a `FargateService` would refuse, each at its arg path, without registering anything: tier components
 * check each of their services with it before their own `super()`.
 */
export function validateFargateServiceArgs(args: FargateServiceShape): ArgsIssue[] {
  const { container } = args;
  const sizing = args.sizing ?? {};
  const secretNames = [...Object.keys(args.secretValues ?? {}), ...Object.keys(args.secretRefs ?? {})];
  const issues = [
    ...validateFargateSizing(sizing),
    ...containerIssues({
      secrets: Object.fromEntries(secretNames.map((n) => [n, { secretArn: "" }])),
      environment: Object.fromEntries(Object.keys(container.environment ?? {}).map((n) => [n, ""])),
      ...(container.healthPath !== undefined && { healthPath: container.healthPath }),
    }).map((i) => ({ ...i, path: `container.${i.path}` })),
  ];
  if (sizing.ecrRepository && ecrTag(container.image) === undefined) {
    issues.push({
      path: "container.image",
      message: `with ecrRepository the image must be 'name:tag' without a registry (the tag is pulled from the created repository); got '${container.image}'`,
    });
  }
  if (sizing.schedule !== undefined && args.targetGroup) {
    issues.push({ path: "sizing.schedule", message: "a scheduled task cannot be routed; remove its route" });
  }
  if (sizing.schedule !== undefined && args.publishedPorts?.length) {
    issues.push({
      path: "sizing.schedule",
      message:
        "a scheduled task cannot take published ports (nothing listens between runs); remove its ports",
    });
  }
  if (sizing.schedule !== undefined && args.serviceConnect) {
    issues.push({
      path: "sizing.schedule",
      message:
        "a scheduled task cannot join ECS Service Connect (EventBridge starts standalone tasks, Service Connect is configured on services)",
    });
  }
  if (args.data) {
    for (const key of ["minTasks", "maxTasks"] as const) {
      if ((sizing[key] ?? 1) > 1) {
        issues.push({
          path: argPath("sizing", key),
          message: `a service with a data directory runs one task (two would write one directory at once); got ${sizing[key]}. Keep shared state in the database or a bucket`,
        });
      }
    }
  }
  if (args.targetGroup && container.port === undefined) {
    issues.push({ path: "container.port", message: "a routed service needs a port" });
  }
  return issues;
}
