import { DockerTarget } from "../../components/targets/docker";
import {
  dataRootProblem,
  parseSshHost,
  renderHostPrepScript,
  validateDockerTargetArgs,
} from "../../components/targets/hostPrep";
import { sshOptsIssues } from "../../components/targets/sshOpts";
import { one, record } from "../harness";

describe("parseSshHost", () => {
  it("reads user, host and port with OpenSSH defaults", () => {
    expect(parseSshHost("ssh://deploy@homelab.lan:2222")).toEqual({
      user: "deploy",
      host: "homelab.lan",
      port: 2222,
    });
    expect(parseSshHost("ssh://homelab.lan")).toEqual({ user: "root", host: "homelab.lan", port: 22 });
  });
});

describe("renderHostPrepScript", () => {
  const script = renderHostPrepScript({ dataRoot: "/srv/stack port's", owner: "deploy:docker" });
  it("checks Docker before touching the filesystem and quotes every value", () => {
    expect(script.indexOf("docker info")).toBeLessThan(script.indexOf("mkdir"));
    expect(script).toContain(`DATA_ROOT='/srv/stack port'"'"'s'`);
    expect(script).toContain(`OWNER='deploy:docker'`);
  });
});

describe("DockerTarget", () => {
  it("local socket: one explicit provider and two labelled networks, no host preparation", async () => {
    const { recorder } = await record(() => new DockerTarget("laptop"), { stack: "local" });
    expect(recorder.resources.map((r) => `${r.type} ${r.name}`).sort()).toEqual([
      "docker:index/network:Network laptop-backend",
      "docker:index/network:Network laptop-edge",
      "pulumi:providers:docker laptop-docker",
      "stackport:docker:Target laptop",
    ]);
    expect(one(recorder, "laptop-docker").inputs["host"]).toBeUndefined();
    const backend = one(recorder, "laptop-backend");
    expect(backend.inputs["name"]).toBe("local-backend");
    expect(backend.provider).toBe("laptop-docker");
    expect(backend.inputs["labels"]).toEqual(
      expect.arrayContaining([{ label: "stackport.stack", value: "local" }]),
    );
  });

  it("ssh host: prepares the host first and the provider waits for it", async () => {
    const { recorder } = await record(
      () =>
        new DockerTarget("homelab", {
          host: "ssh://deploy@homelab.lan",
          sshOpts: ["-o", "StrictHostKeyChecking=accept-new"],
          isolateBackend: true,
        }),
      { stack: "staging" },
    );
    const prep = one(recorder, "homelab-prepare-host");
    expect(prep.type).toBe("command:remote:Command");
    expect(String(prep.inputs["create"])).toContain("docker info");
    const provider = one(recorder, "homelab-docker");
    expect(provider.inputs["host"]).toBe("ssh://deploy@homelab.lan");
    expect(provider.dependsOn).toContain("homelab-prepare-host");
    expect(one(recorder, "homelab-backend").inputs["internal"]).toBe(true);
  });

  it("refuses bad args naming each arg path, before registering anything", () => {
    expect(
      () => new DockerTarget("nas", { host: "nas.lan", dataRoot: "srv/data", dataOwner: "Deploy" }),
    ).toThrow(
      [
        "Invalid args for stackport:docker:Target 'nas' (3 problems):",
        "  - host: must look like ssh://user@host or ssh://user@host:port",
        "  - dataRoot: must be an absolute path without spaces, got 'srv/data'",
        "  - dataOwner: must be user or user:group",
      ].join("\n"),
    );
  });
});

describe("dataRoot: host preparation chowns and chmods it as root", () => {
  it.each([
    [
      "/",
      /directory of its own below \/srv\/, \/var\/lib\/, \/opt\/, \/data\/, \/home\/<user>\/, \/mnt\/; got '\/'/,
    ],
    ["/srv/../etc", /no '\.\.' or '\.' segments/],
    ["/srv/./stackport", /no '\.\.' or '\.' segments/],
    ["/srv//stackport", /no '\/\/'/],
    ["/srv/stackport/", /no trailing/],
    ["/etc", /below \/srv\//],
    ["/etc/stackport", /below \/srv\//],
    ["/srv", /below \/srv\//],
    ["/home/deploy", /below .*\/home\/<user>\//],
    ["/var/lib/docker/volumes", /belongs to the container runtime/],
    ["srv/stackport", /absolute path/],
    ["/srv/stack port", /absolute path without spaces/],
  ])("refuses %j", (dataRoot, message) => {
    expect(dataRootProblem(dataRoot)).toMatch(message);
  });

  it.each([
    "/srv/stackport",
    "/var/lib/stackport",
    "/opt/stackport/data",
    "/data/stackport",
    "/home/deploy/stackport",
    "/mnt/disk1/stackport",
  ])("accepts %j", (dataRoot) => expect(dataRootProblem(dataRoot)).toBeUndefined());

  it("is refused by DockerTarget before anything is registered, naming the arg", () => {
    expect(() => new DockerTarget("nas", { host: "ssh://deploy@nas.lan", dataRoot: "/srv/../etc" })).toThrow(
      /Invalid args for stackport:docker:Target 'nas' \(1 problem\):\n {2}- dataRoot: must be a plain absolute path/,
    );
  });
});

describe("sshOpts: an allow-list of what the provider's ssh client may be told", () => {
  const problems = (opts: string[], insecure = false) =>
    sshOptsIssues(opts, insecure).map((i) => `${i.path}: ${i.message}`);

  it("accepts the options the shipped stacks and the docs use, in both spellings", () => {
    expect(
      problems([
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-oServerAliveInterval=30",
        "-o",
        "IdentitiesOnly yes",
        "-i",
        "~/.ssh/id_ed25519",
        "-p2222",
        "-J",
        "admin@bastion.lan:22",
        "-4",
        "-C",
      ]),
    ).toEqual([]);
  });

  it.each([
    [
      ["-oProxyCommand=sh -c 'touch /tmp/pwned'"],
      "sshOpts[0]: 'ProxyCommand' is not allowed: it runs a local command",
    ],
    [["-o", "ProxyCommand nc %h %p"], "sshOpts[1]: 'ProxyCommand' is not allowed"],
    [["-o", "proxycommand=x"], "sshOpts[1]: 'proxycommand' is not allowed"],
    [["-o", "LocalCommand=id", "-o", "PermitLocalCommand=yes"], "sshOpts[1]: 'LocalCommand' is not allowed"],
    [["-oKnownHostsCommand=/bin/true"], "sshOpts[0]: 'KnownHostsCommand' is not allowed"],
    [["-F", "/tmp/evil_config"], "sshOpts[0]: '-F' is not allowed"],
    [["-F/tmp/evil_config"], "sshOpts[0]: '-F' is not allowed"],
    [["-A"], "sshOpts[0]: '-A' is not allowed: it lends your SSH agent"],
    [["-o", "ForwardAgent=yes"], "sshOpts[1]: 'ForwardAgent' is not allowed"],
    [
      ["-o", "SendEnv=AWS_SECRET_ACCESS_KEY"],
      "sshOpts[1]: 'SendEnv' is not an allowed ssh option; allowed: flags -i -p -l -J",
    ],
    [["-4C"], "sshOpts[0]: '-4C' is not an allowed ssh option (give each flag as its own item)"],
    [["-o"], "sshOpts[0]: '-o' needs a value after it"],
    [
      ["-o", "StrictHostKeyChecking=no"],
      "sshOpts[1]: 'StrictHostKeyChecking=no' stops ssh from checking the host's identity",
    ],
    [
      ["-oUserKnownHostsFile=/dev/null"],
      "sshOpts[0]: 'UserKnownHostsFile=/dev/null' stops ssh from checking",
    ],
    [["-o", "ServerAliveInterval=30;id"], "sshOpts[1]: '30;id' is not a valid value for ServerAliveInterval"],
    [["-J", "-oProxyCommand=x"], "sshOpts[1]: '-oProxyCommand=x' is not a valid value for ProxyJump"],
    [["-o", "constructor=x"], "sshOpts[1]: 'constructor' is not an allowed ssh option"],
  ])("refuses %j", (opts, message) => {
    expect(problems(opts)[0]).toContain(message);
  });

  it("allows turning host-key checks off only with insecureHostKeys", () => {
    const opts = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"];
    expect(problems(opts)).toHaveLength(2);
    expect(problems(opts, true)).toEqual([]);
    // The flag relaxes host keys only: a command is refused whatever it says.
    expect(problems(["-oProxyCommand=x"], true)).toHaveLength(1);
  });

  it("is checked by DockerTarget, and a granted insecureHostKeys is in its recorded inputs", async () => {
    expect(validateDockerTargetArgs({ sshOpts: ["-oProxyCommand=x"] })[0]!.path).toBe("sshOpts[0]");
    expect(
      () => new DockerTarget("h", { host: "ssh://deploy@h.lan", sshOpts: ["-oProxyCommand=x"] }),
    ).toThrow(/- sshOpts\[0\]: 'ProxyCommand' is not allowed/);
    const { recorder } = await record(
      () =>
        new DockerTarget("h", {
          host: "ssh://deploy@h.lan",
          sshOpts: ["-o", "StrictHostKeyChecking=no"],
          insecureHostKeys: true,
        }),
      { stack: "staging" },
    );
    expect(one(recorder, "h").inputs["insecureHostKeys"]).toBe(true);
    const { recorder: safe } = await record(() => new DockerTarget("h", { host: "ssh://deploy@h.lan" }), {
      stack: "staging",
    });
    expect(one(safe, "h").inputs["insecureHostKeys"]).toBeUndefined();
  });
});
