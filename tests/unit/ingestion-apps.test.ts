/**
 * What real applications need from the ingestion tier on Docker (#12): application secrets (stack and generated),
 * published ports bound to one address, read-only host paths and shared volumes, the reviewed Docker socket
 * exemption — the component's recorded inputs, its refusals, and the config that maps onto it (keys with no effect on
 * the placed target refused with their key).
 */
import * as pulumi from "@pulumi/pulumi";
import {
  DOCKER_SOCKET_REASON_LABEL,
  DockerIngestion,
  type DockerIngestionArgs,
} from "../../components/ingestion/dockerIngestion";
import type { DockerServiceArgs } from "../../components/ingestion/settings";
import { isArgsError } from "../../components/shared/errors";
import { type ConfigIssue, resolveConfig } from "../../src/config";
import { OFFLINE_SECRET_PLACEHOLDER } from "../../src/config/keys";
import {
  type IngestionConfig,
  checkIngestion,
  dockerIngestionArgs,
  ecsIngestionArgs,
  ingestionSchema,
  resolveIngestion,
} from "../../src/config/tiers/ingestion";
import type { TargetConfig } from "../../src/config/tiers/targets";
import { fieldEffect } from "../../src/ops/providerEffects";
import { safetyDowngrades } from "../../src/ops/safety";
import { keySettings } from "../../src/synth/render";
import { SECRET_MASK } from "../../src/synth/recorder";
import { isSecret, one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const IMAGE = "ghcr.io/example/ingest:1.4.2";
const STACK_SECRET = "oauth-s3cr3t-7d41c2";
const CONTAINER = "docker:index/container:Container";

function ingestion(args: Omit<DockerIngestionArgs, "placement">) {
  return new DockerIngestion("ingestion", { broker: false, ...args, placement: testPlacement() });
}

/** What the component refuses, as the message of its ArgsError (nothing registered). */
async function refusal(args: Omit<DockerIngestionArgs, "placement">): Promise<string> {
  const { recorder, result } = await record(() => {
    try {
      ingestion(args);
      return "accepted";
    } catch (e) {
      if (!isArgsError(e)) throw e;
      return e.message;
    }
  });
  // The test target registered; nothing of the tier did.
  expect(recorder.resources.filter((r) => r.name.startsWith("ingestion"))).toEqual([]);
  return result;
}

describe("application secrets on Docker", () => {
  const secretsArgs = (value: string): Omit<DockerIngestionArgs, "placement"> => ({
    secrets: {
      "oauth-client-secret": { value: pulumi.output(value) },
      "jwt-signing-key": { generate: { length: 64 } },
    },
    services: {
      api: {
        image: IMAGE,
        secrets: { OAUTH_CLIENT_SECRET: "oauth-client-secret", JWT_SECRET: "jwt-signing-key" },
      },
      worker: { image: IMAGE, command: ["worker"], secrets: { JWT_SECRET: "jwt-signing-key" } },
      // Only a stack secret, handed over as a plain Output: the component alone must make it a secret.
      hooks: { image: IMAGE, secrets: { OAUTH_CLIENT_SECRET: "oauth-client-secret" } },
      plain: { image: IMAGE, environment: { TZ: "UTC" } },
    },
  });

  test("each reaches its services' environment as a Pulumi secret, never plain in any recorded input", async () => {
    const { recorder, result } = await record(() => ingestion(secretsArgs(STACK_SECRET)));
    // One random password per generated secret, shared by the services that name it.
    expect(
      recorder.byType("random:index/randomPassword:RandomPassword").map((r) => [r.name, r.inputs]),
    ).toEqual([["ingestion-secret-jwt-signing-key", { length: 64, special: false }]]);
    const generated = await valueOf(result.nodes.secrets["jwt-signing-key"]!.result);
    expect(generated).toBe("mock-password-ingestion-secret-jwt-signing-key");
    for (const svc of ["api", "worker", "hooks"]) {
      const container = result.nodes.containers[svc]![0]!;
      expect(await isSecret(container.envs)).toBe(true);
      expect(one(recorder, `ingestion-${svc}-1`).inputs["envs"]).toBe(SECRET_MASK);
      if (svc !== "hooks") expect(await valueOf(container.envs)).toContain(`JWT_SECRET=${generated}`);
    }
    expect(await valueOf(result.nodes.containers["hooks"]![0]!.envs)).toEqual([
      `OAUTH_CLIENT_SECRET=${STACK_SECRET}`,
    ]);
    expect(await valueOf(result.nodes.containers["api"]![0]!.envs)).toContain(
      `OAUTH_CLIENT_SECRET=${STACK_SECRET}`,
    );
    // A service that names no secret gets none (its plain environment stays readable).
    expect(one(recorder, "ingestion-plain-1").inputs["envs"]).toEqual(["TZ=UTC"]);
    // Nowhere in plain text: not in a command, a label, the component's inputs, any recorded input.
    const recorded = JSON.stringify(recorder.resources);
    expect(recorded).not.toContain(STACK_SECRET);
    expect(recorded).not.toContain(generated);
    expect(one(recorder, "ingestion").inputs["secrets"]).toEqual({
      "oauth-client-secret": "stack secret",
      "jwt-signing-key": "generated",
    });
  });

  test("a new value changes the environment of exactly the containers that use it, which replaces them", async () => {
    const envsOf = async (value: string) => {
      const { result } = await record(() => ingestion(secretsArgs(value)));
      const out: Record<string, unknown> = {};
      for (const svc of ["api", "worker", "plain"])
        out[svc] = await valueOf(result.nodes.containers[svc]![0]!.envs);
      return out;
    };
    const before = await envsOf(STACK_SECRET);
    const after = await envsOf("rotated-value-0b9e");
    expect(after["api"]).not.toEqual(before["api"]);
    expect(after["worker"]).toEqual(before["worker"]);
    expect(after["plain"]).toEqual(before["plain"]);
    // pulumi-docker's envs is ForceNew (src/ops/providerEffects.ts, from terraform-provider-docker).
    expect(fieldEffect(CONTAINER, "envs").kind).toBe("replace");
  });

  test("refused before anything registers: an unknown secret, a variable set twice, a connection's variable", async () => {
    const message = await refusal({
      secrets: { jwt: { generate: {} }, bad: { generate: { length: 8 } } },
      services: {
        api: {
          image: IMAGE,
          environment: { MODE: "x" },
          secrets: { MODE: "jwt", DATABASE_URL: "jwt", TOKEN: "nope" },
        },
      },
    });
    expect(message).toContain("secrets.bad.generate.length: must be a whole number from 16 to 512");
    expect(message).toContain("services.api.secrets.MODE: MODE is also in environment");
    expect(message).toContain(
      "services.api.secrets.DATABASE_URL: DATABASE_URL is set by the service's connections",
    );
    expect(message).toContain(
      "services.api.secrets.TOKEN: 'nope' is not one of the tier's secrets; it has: bad, jwt",
    );
  });
});

describe("published ports on Docker", () => {
  test("bind where configured: loopback by default, a named address, UDP; the container's ports input says so", async () => {
    const { recorder } = await record(() =>
      ingestion({
        services: {
          mqtt: {
            image: IMAGE,
            ports: [{ port: 1883 }, { port: 8883, publishedPort: 18883, hostIp: "192.168.1.20" }],
          },
          dns: { image: IMAGE, ports: [{ port: 53, protocol: "udp", hostIp: "192.168.1.20" }] },
        },
      }),
    );
    expect(one(recorder, "ingestion-mqtt-1").inputs["ports"]).toEqual([
      { internal: 1883, external: 1883, ip: "127.0.0.1", protocol: "tcp" },
      { internal: 8883, external: 18883, ip: "192.168.1.20", protocol: "tcp" },
    ]);
    expect(one(recorder, "ingestion-dns-1").inputs["ports"]).toEqual([
      { internal: 53, external: 53, ip: "192.168.1.20", protocol: "udp" },
    ]);
  });

  test("a host port taken twice, a port on several replicas, a bad address: refused with their arg paths", async () => {
    const message = await refusal({
      services: {
        a: { image: IMAGE, ports: [{ port: 1883 }] },
        b: { image: IMAGE, ports: [{ port: 9000, publishedPort: 1883, hostIp: "0.0.0.0" }] },
        c: { image: IMAGE, replicas: 2, ports: [{ port: 53, protocol: "udp", hostIp: "10.0.0.300" }] },
      },
    });
    expect(message).toContain(
      "services.b.ports[0]: host port 0.0.0.0:1883/tcp is already published by services.a.ports[0]",
    );
    expect(message).toContain("services.c.ports: needs replicas: 1 (it has 2)");
    expect(message).toContain("services.c.ports[0].hostIp: must be an IPv4 address");
    // The same number over UDP is another port.
    await record(() =>
      ingestion({
        services: {
          a: { image: IMAGE, ports: [{ port: 53 }] },
          b: { image: IMAGE, ports: [{ port: 53, protocol: "udp" }] },
        },
      }),
    );
  });
});

describe("mounts and the Docker socket", () => {
  const services: Record<string, DockerServiceArgs> = {
    broker: {
      image: IMAGE,
      mounts: [
        { hostPath: "/srv/emqx/acl.conf", path: "/opt/emqx/etc/acl.conf" },
        { volume: "uploads", path: "/data/uploads", readOnly: true },
      ],
    },
    api: { image: IMAGE, mounts: [{ volume: "uploads", path: "/app/uploads" }] },
    portainer: { image: IMAGE, dockerSocket: { reason: "Portainer manages this host (reviewed in ops#42)" } },
  };

  test("a host path is read-only; a shared volume is one protected volume mounted by each; the socket carries its reason", async () => {
    const { recorder } = await record(() =>
      ingestion({ services, volumes: { uploads: {} }, safety: { protect: true, retainOnDelete: true } }),
    );
    const volume = one(recorder, "ingestion-shared-uploads");
    expect(volume).toMatchObject({
      type: "docker:index/volume:Volume",
      protect: true,
      retainOnDelete: true,
      inputs: { name: "test-ingestion-shared-uploads" },
    });
    expect(one(recorder, "ingestion-broker-1").inputs["volumes"]).toEqual([
      { hostPath: "/srv/emqx/acl.conf", containerPath: "/opt/emqx/etc/acl.conf", readOnly: true },
      { volumeName: "test-ingestion-shared-uploads", containerPath: "/data/uploads", readOnly: true },
    ]);
    expect(one(recorder, "ingestion-api-1").inputs["volumes"]).toEqual([
      { volumeName: "test-ingestion-shared-uploads", containerPath: "/app/uploads", readOnly: false },
    ]);
    const portainer = one(recorder, "ingestion-portainer-1").inputs;
    expect(portainer["volumes"]).toEqual([
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: false },
    ]);
    expect(portainer["labels"]).toContainEqual({
      label: DOCKER_SOCKET_REASON_LABEL,
      value: "Portainer manages this host (reviewed in ops#42)",
    });
    // Without the exemption no service has the socket or the label.
    expect(JSON.stringify(one(recorder, "ingestion-api-1").inputs)).not.toContain("docker.sock");
  });

  test("paths must be absolute without '..'; the socket only by exemption; a volume must be the tier's", async () => {
    const message = await refusal({
      volumes: { uploads: {} },
      services: {
        a: {
          image: IMAGE,
          mounts: [
            { hostPath: "/srv/app/../../etc/shadow", path: "/etc/app" },
            { hostPath: "srv/app.conf", path: "relative" },
            { hostPath: "/var/run/docker.sock", path: "/var/run/docker.sock" },
            { volume: "missing", path: "/data" },
            { volume: "uploads", path: "/data/./x" },
          ],
          dockerSocket: { reason: "because" },
        },
      },
    });
    expect(message).toContain(
      "services.a.mounts[0].hostPath: must be an absolute path on the Docker host without '..'",
    );
    expect(message).toContain("services.a.mounts[1].hostPath: must be an absolute path");
    expect(message).toContain("services.a.mounts[1].path: must be an absolute path in the container");
    expect(message).toContain(
      "services.a.mounts[2].hostPath: is the Docker socket (root on the host); use dockerSocket",
    );
    expect(message).toContain(
      "services.a.mounts[3].volume: 'missing' is not one of the tier's volumes; it has: uploads",
    );
    expect(message).toContain("services.a.mounts[4].path: must be an absolute path");
    expect(message).toContain("services.a.dockerSocket.reason: must say why");
  });
});

// ---------------------------------------------------------------------------------------------------------
// Config

const home: TargetConfig = {
  kind: "docker",
  dataRoot: "/srv/stackport",
  isolateBackend: false,
  addresses: { lan: "192.168.1.20" },
};
const cloud = { kind: "aws", region: "eu-west-1" } as TargetConfig;
const tier = (raw: Record<string, unknown>, on = "home"): IngestionConfig =>
  ingestionSchema.parse({ on, broker: false, ...raw });
const check = (
  raw: Record<string, unknown>,
  over: { targets?: Record<string, TargetConfig>; secrets?: Record<string, string> } = {},
) =>
  checkIngestion({
    environment: "staging",
    targets: { home, cloud },
    database: {},
    proxy: { routes: {} },
    ingestion: tier(raw, raw["on"] as string | undefined),
    ...over,
  });
const keys = (issues: ConfigIssue[]) => issues.map((i) => i.key).sort();

describe("ingestion config for #12", () => {
  test("bind maps to the host address: loopback by default, a named LAN address, all interfaces only when said", () => {
    const cfg = tier({
      services: {
        mqtt: {
          image: IMAGE,
          ports: [{ port: 1883 }, { port: 8883, bind: "lan" }, { port: 8083, bind: "all" }],
        },
      },
    });
    const args = dockerIngestionArgs(resolveIngestion(cfg, { targets: { home } }), ["mqtt"], {
      protect: true,
      retainOnDelete: true,
    });
    expect(args.services!["mqtt"]!.ports).toEqual([
      { port: 1883, hostIp: "127.0.0.1" },
      { port: 8883, hostIp: "192.168.1.20" },
      { port: 8083, hostIp: "0.0.0.0" },
    ]);
    expect(check({ services: { mqtt: { image: IMAGE, ports: [{ port: 1883, bind: "wifi" }] } } })).toEqual([
      {
        key: "stackport:ingestion.services.mqtt.ports[0].bind",
        message: expect.stringMatching(
          /'wifi' is not an address of target 'home'; allowed: loopback, lan, all/,
        ),
      },
    ]);
  });

  test("a key with no effect on the placed target is refused with its key", () => {
    const onAws = check({
      on: "cloud",
      services: {
        api: {
          image: IMAGE,
          replicas: 2,
          memoryMb: 256,
          cpus: 1,
          restart: "always",
          egress: true,
          mounts: [{ volume: "shared", path: "/data" }],
          dockerSocket: { reason: "manages the host's containers" },
          ports: [{ port: 1883, bind: "lan", allowFrom: ["10.0.0.0/8"] }],
        },
      },
      volumes: { shared: {} },
      broker: { image: "redis:8.2-alpine", persistence: false, memoryMb: 64 },
    });
    const api = "stackport:ingestion.services.api";
    expect(keys(onAws)).toEqual(
      [
        "stackport:ingestion.broker.image",
        "stackport:ingestion.broker.memoryMb",
        "stackport:ingestion.broker.persistence",
        `${api}.cpus`,
        `${api}.dockerSocket`,
        `${api}.egress`,
        `${api}.memoryMb`,
        `${api}.mounts`,
        `${api}.ports[0].bind`,
        `${api}.replicas`,
        `${api}.restart`,
        "stackport:ingestion.volumes",
      ].sort(),
    );
    expect(onAws.find((i) => i.key === `${api}.replicas`)!.message).toMatch(
      /^has no effect here: target 'cloud' is AWS, and replicas is a Docker setting/,
    );
    const onDocker = check({
      services: {
        api: { image: IMAGE, aws: { cpu: 512 }, ports: [{ port: 1883, allowFrom: ["10.0.0.0/8"] }] },
      },
      broker: { aws: { nodeType: "cache.t4g.small" } },
    });
    expect(keys(onDocker)).toEqual([
      "stackport:ingestion.broker.aws",
      "stackport:ingestion.services.api.aws",
      "stackport:ingestion.services.api.ports[0].allowFrom",
    ]);
    // On AWS a published port needs its allow-list (the component's rule, named by config key).
    expect(check({ on: "cloud", services: { mqtt: { image: IMAGE, ports: [{ port: 1883 }] } } })).toEqual([
      {
        key: "stackport:ingestion.services.mqtt.ports[0].allowFrom",
        message: expect.stringContaining("is required on AWS"),
      },
    ]);
  });

  test("secrets: named in one map, used, and a stack secret is a secret", () => {
    const issues = check(
      {
        services: { api: { image: IMAGE, secrets: { A: "jwt", B: "oauth", C: "nowhere" } } },
        generatedSecrets: { jwt: {}, oauth: {}, unused: { length: 32 } },
      },
      { secrets: { oauth: "x" } },
    );
    expect(issues.map((i) => [i.key, i.message])).toEqual([
      [
        "stackport:ingestion.generatedSecrets.oauth",
        "'oauth' is also a stack secret (stackport:secrets.oauth); a secret comes from one place, rename one",
      ],
      [
        "stackport:ingestion.services.api.secrets.C",
        expect.stringMatching(
          /^unknown secret 'nowhere'; set it with pulumi config set --secret --path 'stackport:secrets.nowhere'/,
        ),
      ],
      ["stackport:ingestion.generatedSecrets.unused", expect.stringMatching(/^no service uses it/)],
    ]);
  });

  test("mapped to both components: a stack secret as a Pulumi secret, a generated one by length; ports and schedule", async () => {
    const cfg = tier({
      on: "cloud",
      services: {
        api: {
          image: IMAGE,
          secrets: { OAUTH: "oauth", JWT: "jwt" },
          ports: [{ port: 1883, protocol: "tcp", allowFrom: ["10.0.0.0/8"] }],
        },
        nightly: { image: IMAGE, schedule: "cron(0 3 * * ? *)" },
      },
      generatedSecrets: { jwt: { length: 64 } },
    });
    const resolved = resolveIngestion(cfg, {
      targets: { cloud },
      secrets: { oauth: STACK_SECRET, other: "y" },
    });
    expect(resolved.stackSecrets).toEqual({ oauth: STACK_SECRET });
    const args = ecsIngestionArgs(resolved, ["api", "nightly"], {
      environment: "production",
      logRetentionDays: 30,
      safety: { protect: true, retainOnDelete: true },
    });
    expect(args.secrets!["jwt"]).toEqual({ generate: { length: 64 } });
    const value = args.secrets!["oauth"]!.value as pulumi.Output<string>;
    expect(await isSecret(value)).toBe(true);
    expect(await valueOf(value)).toBe(STACK_SECRET);
    expect(args.services!["api"]).toMatchObject({
      secrets: { OAUTH: "oauth", JWT: "jwt" },
      ports: [{ port: 1883, protocol: "tcp", allowFrom: ["10.0.0.0/8"] }],
    });
    expect(args.services!["nightly"]!.schedule).toBe("cron(0 3 * * ? *)");
    expect(args.services!["nightly"]!.sizing).not.toHaveProperty("minTasks");
  });
});

describe("stack-level rules (resolveConfig)", () => {
  const stack = (extra: Record<string, unknown>) => ({
    environment: "staging",
    targets: { home: { kind: "docker", addresses: { lan: "192.168.1.20" } } },
    proxy: { on: "home", domain: "platform.home.lan", tls: { mode: "internal" } },
    ...extra,
  });
  const issuesOf = (raw: Record<string, unknown>, secretKeys: string[] = []) => {
    try {
      resolveConfig(raw, secretKeys);
      return [];
    } catch (e) {
      return (e as { issues: ConfigIssue[] }).issues;
    }
  };
  const mqtt = (ports: unknown[]) => ({
    ingestion: { on: "home", broker: false, services: { mqtt: { image: IMAGE, ports } } },
  });

  test("aws.schedule says where it moved", () => {
    const issues = issuesOf(
      stack({
        ingestion: { on: "home", services: { job: { image: IMAGE, aws: { schedule: "rate(1 hour)" } } } },
      }),
    );
    expect(issues).toEqual([
      {
        key: "stackport:ingestion.services.job.aws.schedule",
        message: expect.stringMatching(/^moved to stackport:ingestion\.services\.job\.schedule/),
      },
    ]);
  });

  test("a plain stack secret is refused with how to set it; offline, a plain value next to secure ones too", () => {
    const used = {
      ingestion: {
        on: "home",
        broker: false,
        services: { api: { image: IMAGE, secrets: { A: "a", B: "b" } } },
      },
    };
    const plain = issuesOf(stack({ secrets: { a: "hunter2", b: "x" }, ...used }));
    expect(plain.map((i) => i.key)).toEqual(["stackport:secrets.a", "stackport:secrets.b"]);
    expect(plain[0]!.message).toContain("pulumi config set --secret --path 'stackport:secrets.a' <value>");
    expect(plain[0]!.message).not.toContain("hunter2");
    expect(issuesOf(stack({ secrets: { a: "real-value", b: "other" }, ...used }), ["secrets"])).toEqual([]);
    const mixed = issuesOf(stack({ secrets: { a: OFFLINE_SECRET_PLACEHOLDER, b: "plain" }, ...used }), [
      "secrets",
    ]);
    expect(mixed.map((i) => i.key)).toEqual(["stackport:secrets.b"]);
  });

  test("a service's host port clashes with the proxy's, naming both keys; another address or protocol does not", () => {
    expect(issuesOf(stack(mqtt([{ port: 443, bind: "all" }])))).toEqual([
      {
        key: "stackport:ingestion.services.mqtt.ports[0]",
        message:
          "port 443 on target 'home' is already taken by stackport:proxy.httpsPort; choose another port",
      },
    ]);
    expect(issuesOf(stack(mqtt([{ port: 443, protocol: "udp", bind: "all" }, { port: 8443 }])))).toEqual([]);
  });
});

describe("the Docker socket exemption in the plan and the sign-off report", () => {
  const portainer = (reason?: string) => ({
    type: CONTAINER,
    name: "ingestion-portainer-1",
    inputs: {
      labels: [
        { label: "stackport.tier", value: "ingestion" },
        ...(reason ? [{ label: DOCKER_SOCKET_REASON_LABEL, value: reason }] : []),
      ],
      volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: false }],
    },
  });
  const REASON = "Portainer manages this host (reviewed in ops#42)";

  test("the plan's tree shows the reason next to the container", () => {
    const settings = keySettings({
      ...portainer(REASON),
      urn: "urn",
      parent: "ingestion",
      custom: true,
      provider: null,
      protect: false,
      retainOnDelete: false,
      dependsOn: [],
    });
    expect(settings).toContain(`docker-socket=${JSON.stringify(REASON)}`);
  });

  test("sign-off lists a container that gains the socket as a safety downgrade with its reason, once", () => {
    const base = { resources: [portainer()] };
    expect(safetyDowngrades({ resources: [] }, { resources: [portainer(REASON)] })).toEqual([
      {
        subject: `ingestion-portainer-1 (${CONTAINER})`,
        change: `mounts the Docker socket (root on the host) by a reviewed exemption: ${REASON}`,
      },
    ]);
    expect(safetyDowngrades(base, { resources: [portainer(REASON)] })).toHaveLength(1);
    // Unchanged since the base: nothing new to approve.
    expect(safetyDowngrades({ resources: [portainer(REASON)] }, { resources: [portainer(REASON)] })).toEqual(
      [],
    );
  });
});

describe("other tiers' aws blocks", () => {
  test("an aws block on a Docker-placed tier is refused with its key", () => {
    let issues: ConfigIssue[] = [];
    try {
      resolveConfig({
        environment: "local",
        targets: { laptop: { kind: "docker" } },
        basemap: { on: "laptop", pmtiles: [], aws: { cpu: 512 } },
      });
    } catch (e) {
      issues = (e as { issues: ConfigIssue[] }).issues;
    }
    expect(issues).toContainEqual({
      key: "stackport:basemap.aws",
      message:
        "has no effect here: target 'laptop' is Docker, and the aws block configures the tier on AWS; remove it",
    });
  });
});
