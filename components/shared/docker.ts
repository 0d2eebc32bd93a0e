/**
 * Building blocks every Docker-backed tier uses, so container conventions (pinned image pull, labels, loopback
 * port binding, network attachment, one-shot jobs that fail the update on a non-zero exit) live in one place.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerPlacement } from "./placement";
import { lastPassHealthcheck } from "./shell";
import { NOT_STATEFUL_LABEL, dockerLabels } from "./labels";
import { physicalName } from "./naming";
import { type StatefulSafety, type Transform, statefulOptions, transformed } from "./component";

/** A host port binding as the config resolves it (address defaults to loopback). */
export interface HostBinding {
  port: number;
  address: string;
}

/** Pulls a pinned image once per target; `keepLocally` so destroying one stack never deletes a shared image. */
export function pullImage(
  name: string,
  image: string,
  parent: pulumi.Resource,
  placement: DockerPlacement,
): docker.RemoteImage {
  return new docker.RemoteImage(
    name,
    { name: image, keepLocally: true },
    { parent, provider: placement.provider },
  );
}

interface NamedVolumeArgs {
  placement: DockerPlacement;
  tier: string;
  /** The physical name's parts after the stack: `<stack>-<parts…>`. */
  parts: string[];
  role?: string;
  transform?: Transform<docker.VolumeArgs> | undefined;
}

/** A named volume: physical name `<stack>-<parts…>`, the standard labels plus `labels`, and the given options. */
function namedVolume(
  name: string,
  args: NamedVolumeArgs,
  labels: Record<string, string>,
  opts: pulumi.CustomResourceOptions,
): docker.Volume {
  const [volumeArgs, volumeOpts] = transformed<docker.VolumeArgs>(
    args.transform,
    {
      name: physicalName([pulumi.getStack(), ...args.parts]),
      labels: dockerLabels(args.tier, { ...(args.role && { "stackport.role": args.role }), ...labels }),
    },
    opts,
  );
  return new docker.Volume(name, volumeArgs, volumeOpts);
}

/** A named volume that holds a tier's data, with the stack's protect/retainOnDelete set on the volume itself. */
export function statefulVolume(
  name: string,
  parent: pulumi.Resource,
  args: NamedVolumeArgs & { safety: StatefulSafety },
): docker.Volume {
  return namedVolume(
    name,
    args,
    {},
    statefulOptions(parent, args.safety, { provider: args.placement.provider }),
  );
}

/**
 * A named volume that holds only what is made again on demand (a cache): labelled `stackport.stateful=false` and
 * never protected, so removing it costs time, never data.
 */
export function cacheVolume(name: string, parent: pulumi.Resource, args: NamedVolumeArgs): docker.Volume {
  return namedVolume(
    name,
    args,
    { [NOT_STATEFUL_LABEL]: "false" },
    { parent, provider: args.placement.provider },
  );
}

/** A container health probe every 10 s (5 s timeout); `wait: true` holds dependents until it passes. */
export function healthProbe(tests: string[], opts: { startPeriod: string; retries?: number }) {
  return { tests, interval: "10s", timeout: "5s", retries: opts.retries ?? 6, startPeriod: opts.startPeriod };
}

/** Docker `ports` for an internal port published on the host, or none. Never defaults to 0.0.0.0. */
export function publishedPorts(internal: number, binding: HostBinding | undefined) {
  return binding ? [{ internal, external: binding.port, ip: binding.address, protocol: "tcp" }] : [];
}

/** Network attachments: the backend network with a stable DNS alias, plus the edge network when routed. */
export function attachNetworks(placement: DockerPlacement, alias: string, opts: { edge?: boolean } = {}) {
  return [
    { name: placement.backendNetwork, aliases: [alias] },
    ...(opts.edge ? [{ name: placement.edgeNetwork, aliases: [alias] }] : []),
  ];
}

/** The container name on the Docker host: `<stack>-<tier>[-<role>]`, unique per host across stacks. */
export function containerName(...parts: string[]): string {
  return physicalName([pulumi.getStack(), ...parts]);
}

export interface OneShotArgs {
  tier: string;
  /** Short role used in the container name (`bootstrap`). */
  role: string;
  placement: DockerPlacement;
  image: pulumi.Input<string>;
  /** Shell script run by `/bin/sh` in the container; uploaded, so a change replaces the job and re-runs it. */
  script: pulumi.Input<string>;
  envs: pulumi.Input<pulumi.Input<string>[]>;
  /** Human description used in the failure message (`bucket bootstrap`). */
  purpose: string;
  dependsOn: pulumi.Input<pulumi.Resource>[];
  transform?: Transform<docker.ContainerArgs>;
}

export const ONE_SHOT_SCRIPT_PATH = "/stackport/run.sh";

/**
 * A job container that runs a script once and exits — re-run whenever its script or environment changes.
 * `mustRun: false` because an exited job is its success state (pulumi-docker v5 would otherwise restart it), and
 * not `rm`, which would make every refresh re-create it. The provider does not fail on a non-zero exit, so the
 * returned `exitCode` check does.
 */
export function oneShotJob(name: string, parent: pulumi.Resource, args: OneShotArgs) {
  const [containerArgs, opts] = transformed<docker.ContainerArgs>(
    args.transform,
    {
      name: containerName(args.tier, args.role),
      image: args.image,
      entrypoints: ["/bin/sh"],
      command: [ONE_SHOT_SCRIPT_PATH],
      uploads: [{ file: ONE_SHOT_SCRIPT_PATH, content: args.script, executable: true }],
      envs: args.envs,
      networksAdvanced: [{ name: args.placement.backendNetwork }],
      mustRun: false,
      restart: "no",
      attach: true,
      logs: true,
      labels: dockerLabels(args.tier, { "stackport.role": "job" }),
    },
    { parent, provider: args.placement.provider, dependsOn: args.dependsOn },
  );
  const job = new docker.Container(name, containerArgs, opts);
  const succeeded = pulumi.all([job.exitCode, job.containerLogs]).apply(([code, logs]) => {
    if (code !== undefined && code !== null && code !== 0) {
      throw new Error(`stackport: ${args.purpose} failed (exit code ${code}):\n${logs ?? "(no output)"}`);
    }
    return true;
  });
  return { job, succeeded };
}

export interface PassLoopArgs {
  tier: string;
  /** Short role used in the container name and labels (`sync`). */
  role: string;
  placement: DockerPlacement;
  image: pulumi.Input<string>;
  /** Where the script is uploaded; the script must use `LAST_PASS_HEALTH` (components/shared/shell.ts). */
  scriptPath: string;
  script: string;
  envs: pulumi.Input<pulumi.Input<string>[]>;
  volumes?: docker.ContainerArgs["volumes"];
  memoryMb: number;
  dependsOn: pulumi.Input<pulumi.Resource>[];
  transform?: Transform<docker.ContainerArgs>;
}

/**
 * A container that runs a loop script working in passes (a bucket sync, an object mirror) for as long as it is in
 * the program: Docker restarts it after a crash or a reboot, and it is unhealthy once a pass has failed.
 */
export function passLoopContainer(
  name: string,
  parent: pulumi.Resource,
  args: PassLoopArgs,
): docker.Container {
  const [containerArgs, opts] = transformed<docker.ContainerArgs>(
    args.transform,
    {
      name: containerName(args.tier, args.role),
      image: args.image,
      entrypoints: ["/bin/sh"],
      command: [args.scriptPath],
      uploads: [{ file: args.scriptPath, content: args.script, executable: true }],
      envs: args.envs,
      ...(args.volumes && { volumes: args.volumes }),
      networksAdvanced: [{ name: args.placement.backendNetwork }],
      restart: "unless-stopped",
      healthcheck: lastPassHealthcheck(args.scriptPath),
      memory: args.memoryMb,
      labels: dockerLabels(args.tier, { "stackport.role": args.role }),
    },
    { parent, provider: args.placement.provider, dependsOn: args.dependsOn },
  );
  return new docker.Container(name, containerArgs, opts);
}
