/**
 * The synth command as users run it: the compiled CLI in a child process (built by `npm test` first).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../harness";

const CLI = join(ROOT, "bin", "src", "synth", "cli.js");

function synth(args: string[], cwd = ROOT) {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first (npm test does)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function stackDir(stackYaml: string) {
  const dir = mkdtempSync(join(tmpdir(), "stackport-synth-"));
  copyFileSync(join(ROOT, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  writeFileSync(join(dir, "Pulumi.bad.yaml"), stackYaml);
  return dir;
}

describe("npm run synth", () => {
  it("prints the local plan as a tree with a summary line", () => {
    const r = synth(["local"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^stack local \(stackport\)/);
    expect(r.stdout).toMatch(/stackport:docker:Database {2}database/);
    expect(r.stdout).toMatch(
      /│? +[├└]─ docker:index\/container:Container {2}database-server {2}name=local-database/,
    );
    expect(r.stdout).toMatch(/\n\d+ resources: .*docker:index\/container:Container/);
  });

  it("prints one JSON document with --json, secrets masked", () => {
    const r = synth(["staging", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.stack).toBe("staging");
    expect(Array.isArray(doc.violations)).toBe(true);
    const volume = doc.resources.find((x: { name: string }) => x.name === "database-data");
    expect(volume).toMatchObject({
      type: "docker:index/volume:Volume",
      parent: "database",
      protect: true,
      retainOnDelete: true,
    });
    for (const res of doc.resources) {
      expect(Object.keys(res).sort()).toEqual(
        ["dependsOn", "inputs", "name", "parent", "protect", "provider", "retainOnDelete", "type"].sort(),
      );
    }
    expect(r.stdout).toContain('"[secret]"');
    expect(r.stdout).not.toMatch(/mock-password/);
  });

  it("exits 2 with the config key and what is allowed on bad config, and no stack trace", () => {
    const dir = stackDir(
      "config:\n  stackport:environment: local\n  stackport:targets:\n    laptop: { kind: docker }\n  stackport:database:\n    on: nas\n",
    );
    const r = synth(["bad"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("stackport:database.on: unknown target 'nas'; targets of this stack: laptop");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("exits 1 on a mandatory policy violation and still prints the plan with the violation", () => {
    const dir = stackDir(
      [
        "config:",
        "  stackport:environment: staging",
        "  stackport:targets:",
        "    homelab: { kind: docker, host: ssh://deploy@homelab.lan }",
        "  stackport:safety: { protect: false }",
        "  stackport:database:",
        "    on: homelab",
        "",
      ].join("\n"),
    );
    mkdirSync(join(dir, "policies", "config"), { recursive: true });
    copyFileSync(
      join(ROOT, "policies", "config", "staging.json"),
      join(dir, "policies", "config", "bad.json"),
    );
    const r = synth(["bad", "--json"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("mandatory policy violations in stack 'bad'");
    const doc = JSON.parse(r.stdout);
    expect(doc.violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          policy: "stateful-protected",
          enforcementLevel: "mandatory",
          type: "docker:index/volume:Volume",
          name: "database-data",
        }),
      ]),
    );
  });

  it("names the stacks that exist when asked for one that does not", () => {
    const r = synth(["prod"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no stack file Pulumi\.prod\.yaml; stacks here: .*local.*staging/);
  });

  it("refuses a broken stack file with its name and line, exit 2, no stack trace", () => {
    const cases: [string, RegExp][] = [
      // A duplicate key: YAML keeps one of them silently in other tools; here it is an error at its line.
      [
        "config:\n  stackport:environment: local\n  stackport:environment: staging\n",
        /^stackport synth: Pulumi\.bad\.yaml:3:3: Map keys must be unique\n$/,
      ],
      [
        "config: [1, 2]\n",
        /^stackport synth: Pulumi\.bad\.yaml: 'config' must be a mapping of key: value\n$/,
      ],
      // A top-level value that looks like JSON but is not: the key is named, nothing crashes.
      [
        "config:\n  stackport:environment: local\n  stackport:targets: { laptop: { kind: docker } }\n  stackport:proxy: '[draft'\n",
        /stackport:proxy: expected an object \(key: value\), got a string \("\[draft"\)/,
      ],
    ];
    for (const [yaml, message] of cases) {
      const r = synth(["bad"], stackDir(yaml));
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(2);
    }
  });

  it("says when there is no Pulumi.yaml, exit 2, no stack trace", () => {
    const r = synth(["local"], mkdtempSync(join(tmpdir(), "stackport-synth-")));
    expect(r.stderr).toMatch(
      /^stackport synth: no Pulumi\.yaml in .*; run this from the project's directory\n$/,
    );
    expect(r.code).toBe(2);
  });

  it("reads a stack file given by its absolute path", () => {
    const dir = stackDir(
      "config:\n  stackport:environment: local\n  stackport:targets: { laptop: { kind: docker } }\n",
    );
    const r = synth([join(dir, "Pulumi.bad.yaml"), "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).stack).toBe("bad");
  });

  it("shows public routes and unchecked host keys on their components' lines of the plan", () => {
    const dir = stackDir(
      [
        "config:",
        "  stackport:environment: staging",
        "  stackport:targets:",
        "    homelab:",
        "      kind: docker",
        "      host: ssh://deploy@homelab.lan",
        "      sshOpts: [-o, StrictHostKeyChecking=no]",
        "      insecureHostKeys: true",
        "  stackport:storage: { on: homelab }",
        "  stackport:proxy:",
        "    on: homelab",
        "    routes:",
        "      s3: { host: s3.example.org, to: storage, public: true }",
        "      console: { host: console.example.org, to: storage-console, auth: basic }",
        "",
      ].join("\n"),
    );
    const r = synth(["bad"], dir);
    expect(r.stdout).toMatch(/stackport:docker:Proxy {2}proxy {2}public=s3\n/);
    expect(r.stdout).toMatch(/stackport:docker:Target {2}homelab {2}insecure-host-keys\n/);
  });

  it("prints usage on a bad invocation", () => {
    const r = synth([]);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^usage: npm run synth -- <stack> \[--json\]/);
  });
});

describe("npm run synth on an AWS stack", () => {
  it("shows the settings a reviewer checks first: region, subnets, RDS safety, ALB ports", () => {
    const r = synth(["production"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pulumi:providers:aws {2}cloud-aws {2}region=eu-west-1/);
    expect(r.stdout).toMatch(
      /aws:rds\/instance:Instance {2}database-instance .*multi-AZ .*backups=14d .*deletion-protection .*protected {2}retained/,
    );
    expect(r.stdout).toMatch(
      /aws:vpc\/securityGroupIngressRule:SecurityGroupIngressRule {2}proxy-in-443-\S+ {2}ports=443 {2}from=203\.0\.113\.0\/24/,
    );
  });
});
