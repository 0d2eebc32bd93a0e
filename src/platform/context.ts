/**
 * What every tier builder shares: the resolved config, the targets (created on first use, so a declared but unused
 * target costs nothing) and the outputs gathered on the way. AWS components are loaded on first use too: a stack
 * without an AWS target never loads `@pulumi/aws`.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the AWS entry is required lazily, see above */
import type * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement, DockerPlacement } from "../../components/shared/placement";
import { DockerTarget } from "../../components/targets/docker";
import type { ResolvedConfig } from "../config";
import { tierPlacements } from "../config/cutover";
import { defaultLogRetentionDays } from "../config/tiers/aws";
import { awsTargetArgs, dockerTargetArgs } from "../config/tiers/targets";

export type Placement =
  { kind: "docker"; placement: DockerPlacement } | { kind: "aws"; placement: AwsPlacement };
export type TargetKind = Placement["kind"];

/** A builder per target kind: the table each tier picks its backend from. */
export type ByKind<Args extends unknown[], Result> = {
  [K in TargetKind]: (where: Extract<Placement, { kind: K }>, ...args: Args) => Result;
};

/** Runs the builder of `where`'s kind. */
export function onKind<Args extends unknown[], Result>(
  table: ByKind<Args, Result>,
  where: Placement,
  ...args: Args
): Result {
  return where.kind === "docker" ? table.docker(where, ...args) : table.aws(where, ...args);
}

/** The AWS components (`stackport/aws`), loaded on first use. */
export const awsComponents = (): typeof import("../../components/aws") =>
  require("../../components/aws") as typeof import("../../components/aws");

export interface BuildContext {
  cfg: ResolvedConfig;
  /** Retention of every CloudWatch log group: the observability tier's, else 90 days in production, 30 elsewhere. */
  logRetentionDays: number;
  /** The target named `name`, created on first use. */
  placeOn(name: string): Placement;
  /** The targets created so far. */
  targets: Record<string, pulumi.ComponentResource>;
  /** Stack outputs the tiers add (Grafana's password, the alarm topic, a cutover's verification). */
  extraOutputs: Record<string, unknown>;
}

export function buildContext(cfg: ResolvedConfig): BuildContext {
  const targets: Record<string, pulumi.ComponentResource> = {};
  const placements: Record<string, Placement> = {};
  const logRetentionDays =
    cfg.observability?.aws.logRetentionDays ?? defaultLogRetentionDays(cfg.environment);
  const create = (name: string): Placement => {
    const config = cfg.targets[name]!;
    if (config.kind === "docker") {
      const target = new DockerTarget(name, dockerTargetArgs(config));
      targets[name] = target;
      return { kind: "docker", placement: target.placement };
    }
    // checks.ts refuses placing anything but an external tier's connection on an external target.
    if (config.kind === "external")
      throw new Error(`internal: nothing is created on external target '${name}'`);
    const network = needsNetwork(cfg, name);
    const target = new (awsComponents().AwsTarget)(name, {
      ...awsTargetArgs(config, cfg.environment, logRetentionDays),
      ...(!network && { network: false }),
    });
    targets[name] = target;
    return { kind: "aws", placement: target.placement };
  };
  return {
    cfg,
    logRetentionDays,
    placeOn: (name) => (placements[name] ??= create(name)),
    targets,
    extraOutputs: {},
  };
}

/**
 * Whether an AWS target needs its VPC and ECS cluster: some tier whose AWS component runs in them (RDS, the ALB, ECS
 * services) is placed on it, on either side of a cutover. S3 buckets and CloudWatch need only the account, so a
 * target that holds nothing else creates no VPC, NAT gateway, flow logs or cluster.
 */
export function needsNetwork(cfg: ResolvedConfig, target: string): boolean {
  const database = tierPlacements(cfg).database?.targets ?? [];
  return database.includes(target) || [cfg.proxy, cfg.ingestion, cfg.basemap].some((t) => t?.on === target);
}

/** Drops the tiers a stack does not place. */
export const present = <T>(xs: (T | undefined | false)[]): T[] => xs.filter((x): x is T => Boolean(x));

/**
 * The tier's own component keeps its plain name and carries an alias from `<tier>-<target>`: the name a cutover's
 * destination side had. Ending a cutover (`on: <to>`, no `cutover`) is then a rename, not a replacement.
 */
export function primaryOptions(tier: string, on: string, target: string): pulumi.ComponentResourceOptions {
  return target === on ? { aliases: [{ name: `${tier}-${on}` }] } : {};
}
