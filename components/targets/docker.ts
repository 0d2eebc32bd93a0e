import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type Transform, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import { dockerLabels } from "../shared/labels";
import type { DockerPlacement } from "../shared/placement";
import { physicalName } from "../shared/naming";
import {
  DOCKER_TARGET_DEFAULTS,
  parseSshHost,
  renderHostPrepScript,
  validateDockerTargetArgs,
} from "./hostPrep";

export interface DockerTargetArgs {
  /**
   * The Docker engine to deploy to: `ssh://user@host[:port]` for a remote host (the provider runs your `ssh`
   * client; key-based login, the user in the host's `docker` group). Changing it moves every container.
   * @default the local Docker socket
   * @example "ssh://deploy@homelab.lan"
   */
  host?: string;
  /**
   * Extra options for the `ssh` client the provider runs on this machine, from an allow-list (components/targets/
   * sshOpts.ts): `-i`, `-p`, `-l`, `-J`, `-4`, `-6`, `-C`, `-q`, `-v` and `-o` with options that neither run a
   * command nor weaken host-key checking (no `ProxyCommand`, `LocalCommand`, `-F`…).
   * @default []
   * @example ["-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=30"]
   */
  sshOpts?: string[];
  /**
   * Allow `StrictHostKeyChecking=no|off` and `UserKnownHostsFile=/dev/null` in `sshOpts`: the host's identity is
   * not checked, so whoever answers on the network gets the Docker socket (root on the host). Recorded in the
   * component's inputs, so a plan shows it.
   * @default false
   */
  insecureHostKeys?: boolean;
  /**
   * Absolute directory on the host for stackport's files (backups, imports); prepared over SSH, where host
   * preparation makes it owned by `dataOwner` with mode 0750. A directory of its own below `/srv/`, `/var/lib/`,
   * `/opt/`, `/data/`, `/home/<user>/` or `/mnt/`, without `..` (never `/` or a system directory).
   * @default "/srv/stackport"
   */
  dataRoot?: string;
  /** Owner (`user[:group]`) of the data directories on a remote host. @default the SSH user */
  dataOwner?: string;
  /** Make the `backend` network internal: no egress for the containers on it. @default false */
  isolateBackend?: boolean;
  /** Per-child escape hatches. @default none */
  transform?: {
    provider?: Transform<docker.ProviderArgs>;
    edgeNetwork?: Transform<docker.NetworkArgs>;
    backendNetwork?: Transform<docker.NetworkArgs>;
    hostPreparation?: Transform<command.remote.CommandArgs>;
  };
}

/**
 * A Docker engine stackport deploys to: the local socket, or a homelab host over `ssh://`. Creates one explicit
 * provider (never the ambient default), the `edge` and `backend` networks, and — for SSH hosts — a host
 * preparation step that every container waits for.
 * @example
 * const home = new DockerTarget("home", { host: "ssh://deploy@homelab.lan", isolateBackend: true });
 * const database = new DockerDatabase("database", { placement: home.placement });
 */
export class DockerTarget extends pulumi.ComponentResource {
  /** What a tier needs to run on this target: pass it as every tier component's `placement`. */
  readonly placement: DockerPlacement;
  readonly nodes: {
    provider: docker.Provider;
    edgeNetwork: docker.Network;
    backendNetwork: docker.Network;
    /** Only for an `ssh://` host: checks Docker and creates the data directories before anything else. */
    hostPreparation?: command.remote.Command;
  };

  constructor(name: string, args: DockerTargetArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs(`stackport:docker:Target '${name}'`, validateDockerTargetArgs(args));
    const config = {
      ...(args.host !== undefined && { host: args.host }),
      ...(args.sshOpts !== undefined && { sshOpts: args.sshOpts }),
      dataRoot: args.dataRoot ?? DOCKER_TARGET_DEFAULTS.dataRoot,
      ...(args.dataOwner !== undefined && { dataOwner: args.dataOwner }),
      isolateBackend: args.isolateBackend ?? DOCKER_TARGET_DEFAULTS.isolateBackend,
      // Only when granted: a plan then shows the target whose host keys go unchecked.
      ...(args.insecureHostKeys && { insecureHostKeys: true }),
    };
    super("stackport:docker:Target", name, config, opts);
    const { transform } = args;
    const stack = pulumi.getStack();

    const hostPreparation = config.host
      ? this.prepareHost(name, config.host, config.dataOwner, config.dataRoot, transform?.hostPreparation)
      : undefined;

    const [providerArgs, providerOpts] = transformed<docker.ProviderArgs>(
      transform?.provider,
      { ...(config.host && { host: config.host }), ...(config.sshOpts && { sshOpts: config.sshOpts }) },
      { parent: this, ...(hostPreparation && { dependsOn: [hostPreparation] }) },
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

    this.nodes = {
      provider,
      edgeNetwork: edge,
      backendNetwork: backend,
      ...(hostPreparation && { hostPreparation }),
    };
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
    host: string,
    dataOwner: string | undefined,
    dataRoot: string,
    transform?: Transform<command.remote.CommandArgs>,
  ): command.remote.Command {
    const ssh = parseSshHost(host);
    const script = renderHostPrepScript({ dataRoot, owner: dataOwner ?? ssh.user });
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
