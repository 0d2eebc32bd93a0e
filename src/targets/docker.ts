import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerTargetConfig } from "../config";
import { dockerLabels } from "../../components/shared/labels";
import { physicalName } from "../../components/shared/naming";
import { type Transform, transformed } from "../../components/shared/component";
import { parseSshHost, renderHostPrepScript } from "./hostPrep";

export interface DockerTargetArgs {
  /** The target's settings from `stackport:targets.<name>`. */
  config: DockerTargetConfig;
  /** Per-child escape hatches. */
  transform?: {
    provider?: Transform<docker.ProviderArgs>;
    edgeNetwork?: Transform<docker.NetworkArgs>;
    backendNetwork?: Transform<docker.NetworkArgs>;
    hostPreparation?: Transform<command.remote.CommandArgs>;
  };
}

/**
 * What a tier needs to place containers on a Docker target: the provider to pass to every child, and the names of
 * the two networks. `edge` carries proxied traffic; `backend` is where stateful services live.
 */
export interface DockerPlacement {
  targetName: string;
  provider: docker.Provider;
  edgeNetwork: pulumi.Output<string>;
  backendNetwork: pulumi.Output<string>;
  /** Directory on the Docker host for stackport's files. */
  dataRoot: string;
  /** True when the Docker daemon is reached over SSH. */
  remote: boolean;
}

/**
 * A Docker engine stackport deploys to: the local socket, or a homelab host over `ssh://`. Creates one explicit
 * provider (never the ambient default), the `edge` and `backend` networks, and — for SSH hosts — a host
 * preparation step that every container waits for.
 */
export class DockerTarget extends pulumi.ComponentResource {
  readonly placement: DockerPlacement;
  readonly hostPreparation?: command.remote.Command;

  constructor(name: string, args: DockerTargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("stackport:docker:Target", name, { config: args.config }, opts);
    const { config, transform } = args;
    const stack = pulumi.getStack();

    this.hostPreparation = config.host
      ? this.prepareHost(name, config, transform?.hostPreparation)
      : undefined;

    const [providerArgs, providerOpts] = transformed<docker.ProviderArgs>(
      transform?.provider,
      { ...(config.host && { host: config.host }), ...(config.sshOpts && { sshOpts: config.sshOpts }) },
      { parent: this, ...(this.hostPreparation && { dependsOn: [this.hostPreparation] }) },
    );
    const provider = new docker.Provider(`${name}-docker`, providerArgs, providerOpts);

    const network = (role: "edge" | "backend", internal: boolean, t?: Transform<docker.NetworkArgs>) => {
      const [netArgs, netOpts] = transformed<docker.NetworkArgs>(
        t,
        {
          name: physicalName([stack, role]),
          driver: "bridge",
          internal,
          labels: dockerLabels("network", { "stackport.network": role }),
        },
        { parent: this, provider },
      );
      return new docker.Network(`${name}-${role}`, netArgs, netOpts);
    };
    const edge = network("edge", false, transform?.edgeNetwork);
    const backend = network("backend", config.isolateBackend, transform?.backendNetwork);

    this.placement = {
      targetName: name,
      provider,
      edgeNetwork: edge.name,
      backendNetwork: backend.name,
      dataRoot: config.dataRoot,
      remote: config.host !== undefined,
    };
    this.registerOutputs({ edgeNetwork: edge.name, backendNetwork: backend.name });
  }

  private prepareHost(
    name: string,
    config: DockerTargetConfig,
    transform?: Transform<command.remote.CommandArgs>,
  ): command.remote.Command {
    const ssh = parseSshHost(config.host!);
    const script = renderHostPrepScript({ dataRoot: config.dataRoot, owner: config.dataOwner ?? ssh.user });
    const [args, opts] = transformed<command.remote.CommandArgs>(
      transform,
      {
        connection: { host: ssh.host, user: ssh.user, port: ssh.port },
        create: script,
        // The script is idempotent: re-run it when it changes.
        update: script,
      },
      { parent: this },
    );
    return new command.remote.Command(`${name}-prepare-host`, args, opts);
  }
}
