/**
 * `stackport:targets` — the named places tiers are placed `on`: a Docker engine (the local socket or a host over
 * `ssh://`) or an AWS account and region. The schema, and the mapping from a target's config to the args of its
 * component (`DockerTarget`, `AwsTarget`), where the stack's environment picks the AWS network's defaults.
 */
import { z } from "zod";
import type { AwsTargetArgs } from "../../../components/targets/aws";
import { AWS_TARGET_DEFAULTS, type NatMode } from "../../../components/targets/awsNetwork";
import type { DockerTargetArgs } from "../../../components/targets/docker";
import { DOCKER_TARGET_DEFAULTS } from "../../../components/targets/hostPrep";
import { configKey } from "../keys";
import { type Environment, ipv4, keyName } from "../schema";

/** A Docker engine: the local socket, or a homelab host over `ssh://`. */
export const dockerTargetSchema = z.strictObject({
  kind: z.literal("docker"),
  /**
   * `ssh://user@host[:port]` for a homelab host reached over SSH; absent for the local Docker socket.
   * @default the local Docker socket (`DOCKER_HOST` if set)
   */
  host: z.string().optional(),
  /**
   * Extra options for the `ssh` client the Docker provider runs on this machine, from an allow-list: `-i`, `-p`,
   * `-l`, `-J`, `-4`, `-6`, `-C`, `-q`, `-v`, and `-o` with AddressFamily, BatchMode, Compression, ConnectTimeout,
   * ConnectionAttempts, ControlMaster, ControlPath, ControlPersist, HostKeyAlias, IdentitiesOnly, IdentityFile,
   * LogLevel, Port, ProxyJump, ServerAliveCountMax, ServerAliveInterval, StrictHostKeyChecking, TCPKeepAlive, User,
   * UserKnownHostsFile. Options that run a local command (`ProxyCommand`, `LocalCommand`, `KnownHostsCommand`, `-F`)
   * are refused; `StrictHostKeyChecking=no` and `UserKnownHostsFile=/dev/null` need `insecureHostKeys`.
   * @example ["-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=30"]
   */
  sshOpts: z.array(z.string()).optional(),
  /**
   * Let `sshOpts` turn off host-key checking (`StrictHostKeyChecking=no`, `UserKnownHostsFile=/dev/null`): whoever
   * answers at the host's address gets the Docker socket, which is root on the host. Shown in the plan.
   * @default `true` in `local` for an `ssh://` host, `false` elsewhere
   */
  insecureHostKeys: z.boolean().optional(),
  /**
   * Directory on the host for stackport's files (`backups/`, `imports/`), prepared over SSH for remote hosts: made
   * owned by `dataOwner` with mode 0750, so it must be a directory of its own below `/srv/`, `/var/lib/`, `/opt/`,
   * `/data/`, `/home/<user>/` or `/mnt/`, without `..` segments.
   */
  dataRoot: z.string().default(DOCKER_TARGET_DEFAULTS.dataRoot),
  /** Owner (`user[:group]`) given to the data directories on a remote host. @default the SSH user */
  dataOwner: z.string().optional(),
  /** Make the `backend` network internal (no egress, no published ports for backend-only containers). */
  isolateBackend: z.boolean().default(DOCKER_TARGET_DEFAULTS.isolateBackend),
  /**
   * The host's addresses by name, for services' published ports to bind to one of them (`ports: [{ bind: lan }]`)
   * instead of loopback. `loopback` and `all` are reserved names.
   * @example { lan: 192.168.1.20 }
   */
  addresses: z
    .record(
      keyName.refine((n) => n !== "loopback" && n !== "all", "'loopback' and 'all' are reserved bind names"),
      ipv4,
    )
    .optional(),
});

const vpcDefaults = AWS_TARGET_DEFAULTS.vpc;

/** An AWS account and region: a VPC, an ECS cluster and one security group per tier. */
export const awsTargetSchema = z.strictObject({
  kind: z.literal("aws"),
  /** AWS region, e.g. `eu-west-1`. */
  region: z.string(),
  /** Role to assume for every AWS call of this target. */
  assumeRoleArn: z.string().optional(),
  /** The VPC: a public and a private subnet in each availability zone. */
  vpc: z
    .strictObject({
      /** The VPC's IPv4 block, /16 to /24, cut into 16 subnets. Changing it replaces the whole network. */
      cidr: z.string().default(vpcDefaults.cidr),
      /** Availability zones, 2 to 6. */
      availabilityZones: z.number().default(vpcDefaults.availabilityZones),
      /**
       * NAT gateways: `single` (one shared), `perAz` (one per AZ: egress survives an AZ outage) or `none`.
       * @default `single`; `perAz` in production
       */
      natGateways: z.enum(["none", "single", "perAz"]).optional(),
      /** VPC flow logs to CloudWatch Logs. @default `true` in production, `false` elsewhere */
      flowLogs: z.boolean().optional(),
    })
    .default({ cidr: vpcDefaults.cidr, availabilityZones: vpcDefaults.availabilityZones }),
});

/**
 * A system stackport does not run (Supabase, a database or buckets managed elsewhere): the `from` side of a cutover
 * of the storage or database tier, whose connection the tier's `external` block gives. stackport creates nothing
 * on it and places nothing else there.
 */
export const externalTargetSchema = z.strictObject({
  kind: z.literal("external"),
  /** What it is, for plans and reviewers. @example "Supabase project abcd (eu-central-1)" */
  description: z.string().max(200).optional(),
});

export const targetSchema = z.discriminatedUnion("kind", [
  dockerTargetSchema,
  awsTargetSchema,
  externalTargetSchema,
]);
export type DockerTargetConfig = z.infer<typeof dockerTargetSchema>;
export type AwsTargetConfig = z.infer<typeof awsTargetSchema>;
export type ExternalTargetConfig = z.infer<typeof externalTargetSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;

/** The config key of a target's arg path: `targetKey("nas", "vpc.cidr")` → `stackport:targets.nas.vpc.cidr`. */
export const targetKey = (name: string, path: string) =>
  path ? `${configKey(["targets", name])}.${path}` : configKey(["targets", name]);

/**
 * The environment's defaults of a target: in `local`, a disposable VM reached over SSH may skip host-key checks
 * without saying so; everywhere else that takes `insecureHostKeys: true`.
 */
export function resolveTarget(config: TargetConfig, environment: Environment): TargetConfig {
  if (config.kind !== "docker" || config.insecureHostKeys !== undefined) return config;
  return environment === "local" && config.host !== undefined
    ? { ...config, insecureHostKeys: true }
    : config;
}

/** A Docker target's config (resolved: `resolveTarget`) as `DockerTarget` args. */
export function dockerTargetArgs(config: DockerTargetConfig): DockerTargetArgs {
  return {
    ...(config.host !== undefined && { host: config.host }),
    ...(config.sshOpts !== undefined && { sshOpts: config.sshOpts }),
    ...(config.insecureHostKeys && { insecureHostKeys: true }),
    dataRoot: config.dataRoot,
    ...(config.dataOwner !== undefined && { dataOwner: config.dataOwner }),
    isolateBackend: config.isolateBackend,
  };
}

/** Production keeps egress per AZ (an AZ outage leaves the others online); elsewhere one NAT costs less. */
const natDefault = (environment: Environment): NatMode => (environment === "production" ? "perAz" : "single");

/**
 * An AWS target's config as `AwsTarget` args: NAT per AZ and flow logs in production unless the config says
 * otherwise; the flow-log group keeps the stack's log retention.
 */
export function awsTargetArgs(
  config: AwsTargetConfig,
  environment: Environment,
  logRetentionDays: number,
): AwsTargetArgs {
  return {
    region: config.region,
    ...(config.assumeRoleArn !== undefined && { assumeRoleArn: config.assumeRoleArn }),
    vpc: {
      cidr: config.vpc.cidr,
      availabilityZones: config.vpc.availabilityZones,
      natGateways: config.vpc.natGateways ?? natDefault(environment),
      flowLogs: config.vpc.flowLogs ?? environment === "production",
    },
    flowLogRetentionDays: logRetentionDays,
  };
}
