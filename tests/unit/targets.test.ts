import { DockerTarget } from "../../components/targets/docker";
import { parseSshHost, renderHostPrepScript } from "../../components/targets/hostPrep";
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
        "  - dataRoot: must be an absolute path without spaces",
        "  - dataOwner: must be user or user:group",
      ].join("\n"),
    );
  });
});
