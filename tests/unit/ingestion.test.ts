/**
 * The ingestion tier: its config (schema refusals with the config key, cross-tier checks, what it tells the proxy
 * and Prometheus), each service's environment (only the connections it declares), the broker's shell snippets
 * (shellcheck), and `DockerIngestion` under the mock runtime.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { DockerDatabase } from "../../components/database/dockerDatabase";
import {
  BROKER_HEALTH_SCRIPT,
  DockerIngestion,
  brokerStartScript,
  serviceHealthTest,
} from "../../components/ingestion/dockerIngestion";
import { serviceEnv } from "../../components/ingestion/serviceEnv";
import { isArgsError } from "../../components/shared/errors";
import { DockerObjectStorage } from "../../components/storage/dockerObjectStorage";
import type { StorageConnection } from "../../components/storage/contract";
import { type ConfigIssue, configKey, resolveConfig } from "../../src/config";
import {
  type IngestionConfig,
  type TierContext,
  checkIngestion,
  dockerIngestionArgs,
  ingestionRoutes,
  ingestionScrapeTargets,
  ingestionSchema,
  ingestionUpstreams,
} from "../../src/config/tiers/ingestion";
import { SECRET_MASK } from "../../src/synth/recorder";
import { isSecret, one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";
import { shellcheck } from "../support/tools";

const IMAGE = "ghcr.io/example/ingest:1.4.2";

/** Parses `stackport:ingestion`; issues carry the full config key, as resolveConfig reports them. */
function parse(raw: Record<string, unknown>): { config?: IngestionConfig; issues: ConfigIssue[] } {
  const r = ingestionSchema.safeParse({ on: "home", ...raw });
  if (r.success) return { config: r.data, issues: [] };
  return {
    issues: r.error.issues.map((i: z.core.$ZodIssue) => ({
      key: configKey(["ingestion", ...i.path]),
      message: i.message,
    })),
  };
}
const parsed = (raw: Record<string, unknown>) => {
  const { config, issues } = parse(raw);
  if (!config) throw new Error(JSON.stringify(issues));
  return config;
};

const context = (over: Partial<TierContext> = {}): TierContext => ({
  environment: "local",
  targets: { home: { kind: "docker", dataRoot: "/srv/stackport", isolateBackend: false } },
  storage: { buckets: { raw: {}, derived: {}, tiles: {} } },
  database: {},
  proxy: { routes: {} },
  ...over,
});
const check = (services: Record<string, unknown>, over: Partial<TierContext> = {}, extra = {}) =>
  checkIngestion({ ...context(over), ingestion: parsed({ services, ...extra }) });

describe("ingestion schema", () => {
  test("Docker-only keys stay unset in the config (so a key set on AWS can be refused); the component defaults them", async () => {
    const cfg = parsed({ services: { api: { image: IMAGE } } });
    expect(cfg.broker).toEqual({});
    expect(cfg.services["api"]).toEqual({ image: IMAGE, environment: {}, connections: { broker: false } });
    // One replica, 512 MB, half a CPU, unless-stopped, no egress, a persistent Redis 8: the component's defaults.
    const { recorder } = await record(
      () =>
        new DockerIngestion("ingestion", {
          ...dockerIngestionArgs(cfg, ["api"], { protect: false, retainOnDelete: false }),
          placement: testPlacement(),
        }),
    );
    expect(one(recorder, "ingestion-api-1").inputs).toMatchObject({
      memory: 512,
      cpus: "0.5",
      restart: "unless-stopped",
      labels: expect.arrayContaining([{ label: "stackport.egress", value: "false" }]),
    });
    expect(recorder.byName("ingestion-api-2")).toBeUndefined();
    expect(one(recorder, "ingestion-broker-image").inputs["name"]).toBe("redis:8.2-alpine");
    expect(one(recorder, "ingestion-broker").inputs["memory"]).toBe(256);
    expect(recorder.byName("ingestion-broker-data")).toBeDefined();
  });

  test("db_admin is never a service's role, and the message says what to use", () => {
    const { issues } = parse({ services: { api: { image: IMAGE, connections: { database: "db_admin" } } } });
    expect(issues).toEqual([
      {
        key: "stackport:ingestion.services.api.connections.database",
        message: expect.stringMatching(/db_admin is the migrations role.*use app_writer or app_reader/),
      },
    ]);
    expect(
      parse({ services: { api: { image: IMAGE, connections: { database: "root" } } } }).issues[0]!.message,
    ).toBe(
      "must be one of app_writer, app_reader, or { name: <a key of stackport:database.databases>, role: writer | reader }",
    );
  });

  test("secret-looking variables and connection variables are refused in plain environment", () => {
    const environment = { LOG_LEVEL: "info", API_KEY: "x", DB_PASSWORD: "x", AUTH_TOKEN: "x" };
    const { issues } = parse({ services: { api: { image: IMAGE, environment } } });
    expect(issues.map((i) => i.key).sort()).toEqual(
      ["API_KEY", "AUTH_TOKEN", "DB_PASSWORD"].map(
        (k) => `stackport:ingestion.services.api.environment.${k}`,
      ),
    );
    expect(issues.find((i) => i.key.endsWith("API_KEY"))!.message).toMatch(
      /Map it in the service's secrets instead \(secrets: \{ API_KEY: <name> \}\).*pulumi config set --secret --path 'stackport:secrets.<name>'/,
    );
    // A connection's own variable is the component's rule, reported by the stack check with the config key.
    expect(check({ api: { image: IMAGE, environment: { DATABASE_URL: "x" } } })).toEqual([
      {
        key: "stackport:ingestion.services.api.environment.DATABASE_URL",
        message: expect.stringMatching(/set by the service's connections/),
      },
    ]);
  });

  test("images must be pinned, replicas 1..20, restart policy from Docker's list, health needs a path or command", () => {
    const service = {
      image: "example/api:latest",
      replicas: 21,
      restart: "sometimes",
      health: { port: 8000 },
    };
    const keys = parse({ services: { api: service } }).issues.map((i) => i.key);
    expect(keys.sort()).toEqual(
      ["image", "replicas", "restart"].map((k) => `stackport:ingestion.services.api.${k}`),
    );
    expect(check({ api: { image: IMAGE, health: { port: 8000 } } })).toEqual([
      { key: "stackport:ingestion.services.api.health", message: "needs a 'path' or a 'command'" },
    ]);
  });
});

describe("checkIngestion", () => {
  test("a valid platform has no issues", () => {
    expect(
      check({
        api: {
          image: IMAGE,
          port: 8000,
          health: { path: "/health" },
          connections: { database: "app_writer", storage: ["raw"], broker: true },
          route: { path: "/api", auth: "apiKey" },
        },
        worker: { image: IMAGE, replicas: 3, connections: { broker: true } },
      }),
    ).toEqual([]);
  });

  test("each problem names its config key", () => {
    const issues = check(
      {
        storage: { image: IMAGE },
        api: { image: IMAGE, route: { path: "/api" }, health: { path: "/health" } },
        files: { image: IMAGE, connections: { storage: ["raw", "nope"] } },
        poller: { image: IMAGE, egress: true, connections: { broker: true } },
        trig: { image: IMAGE, port: 8000, route: { stripPrefix: true } },
      },
      {},
      { broker: false },
    );
    const byKey = Object.fromEntries(
      issues.map((i) => [i.key.replace("stackport:ingestion.services.", ""), i.message]),
    );
    expect(Object.keys(byKey).sort()).toEqual([
      "api.health.port",
      "api.port",
      "files.connections.storage[1]",
      "poller.connections.broker",
      "storage",
    ]);
    expect(byKey["files.connections.storage[1]"]).toBe(
      "unknown bucket 'nope'; stackport:storage.buckets has: raw, derived, tiles",
    );
    expect(byKey["api.port"]).toBe("a routed service needs a port");
    expect(byKey["storage"]).toMatch(/another tier's service/);
  });

  test("a service's route follows the proxy's route rules, reported at the service's key", () => {
    const problems = () => {
      try {
        resolveConfig({
          environment: "local",
          targets: { home: { kind: "docker" } },
          proxy: { on: "home" },
          ingestion: {
            on: "home",
            services: { trig: { image: IMAGE, port: 8000, route: { stripPrefix: true } } },
          },
        });
      } catch (e) {
        return (e as { issues: ConfigIssue[] }).issues;
      }
      return [];
    };
    expect(problems()).toEqual([
      { key: "stackport:ingestion.services.trig.route.stripPrefix", message: "needs a 'path' to strip" },
    ]);
  });

  test("connections need their tier; routes need the proxy; isolated targets refuse egress", () => {
    const issues = check(
      {
        api: {
          image: IMAGE,
          port: 8000,
          egress: true,
          connections: { database: "app_reader", storage: ["raw"] },
          route: {},
        },
      },
      {
        storage: undefined,
        database: undefined,
        proxy: undefined,
        targets: { home: { kind: "docker", dataRoot: "/srv", isolateBackend: true } },
      },
    );
    expect(issues.map((i) => i.key).sort()).toEqual(
      ["connections.database", "connections.storage", "egress", "route"].map(
        (k) => `stackport:ingestion.services.api.${k}`,
      ),
    );
  });

  test("a service's own data: an absolute path, one replica; on AWS too (EFS)", () => {
    expect(parse({ services: { kuma: { image: IMAGE, data: { path: "app/data" } } } }).issues).toEqual([
      {
        key: "stackport:ingestion.services.kuma.data.path",
        message: "must be an absolute path in the container, e.g. /app/data",
      },
    ]);
    expect(check({ kuma: { image: IMAGE, data: { path: "/app/data" } } })).toEqual([]);
    const twoWriters = check({ kuma: { image: IMAGE, replicas: 2, data: { path: "/app/data" } } });
    expect(twoWriters.map((i) => [i.key, i.message])).toEqual([
      [
        "stackport:ingestion.services.kuma.data",
        "needs replicas: 1 (it has 2): replicas would write one directory at once; keep shared state in the database or a bucket",
      ],
    ]);
    const onAws = check(
      { kuma: { image: IMAGE, data: { path: "/app/data" } } },
      { targets: { home: { kind: "aws", region: "eu-west-1" } as TierContext["targets"][string] } },
    );
    expect(onAws).toEqual([]);
  });

  test("a service may not take a replica's alias or an existing proxy route's name", () => {
    const issues = check(
      {
        api: { image: IMAGE, port: 8000, replicas: 2, route: {} },
        "api-2": { image: IMAGE },
        "api-3": { image: IMAGE },
      },
      { proxy: { routes: { api: {} } } },
    );
    expect(issues.map((i) => i.key)).toEqual([
      "stackport:ingestion.services.api.route",
      "stackport:ingestion.services.api-2",
    ]);
  });
});

describe("what ingestion tells the proxy and Prometheus", () => {
  const cfg = {
    ingestion: parsed({
      services: {
        api: {
          image: IMAGE,
          port: 8000,
          health: { path: "/health" },
          route: { path: "/api", auth: "apiKey" },
        },
        admin: { image: IMAGE, port: 8001, health: { path: "/health", port: 9999 } },
        worker: { image: IMAGE, replicas: 3, metrics: { port: 9100 } },
        beat: { image: IMAGE, metrics: { port: 9100, path: "/prom" } },
      },
    }),
  };

  test("routes: one per routed service, named after it and pointing at it", () => {
    expect(ingestionRoutes(cfg)).toEqual({
      api: { path: "/api", stripPrefix: false, auth: "apiKey", to: "api" },
    });
  });

  test("upstreams: services with a port; the health path only when it is on the service port", () => {
    expect(ingestionUpstreams(cfg)).toEqual({
      api: { tier: "ingestion", host: "api", port: 8000, healthPath: "/health" },
      admin: { tier: "ingestion", host: "admin", port: 8001 },
    });
  });

  test("scrape targets: one job per service with metrics, one address per replica", () => {
    expect(ingestionScrapeTargets(cfg)).toEqual([
      {
        job: "ingestion-worker",
        tier: "ingestion",
        addresses: ["worker-1:9100", "worker-2:9100", "worker-3:9100"],
        metricsPath: "/metrics",
      },
      { job: "ingestion-beat", tier: "ingestion", addresses: ["beat-1:9100"], metricsPath: "/prom" },
    ]);
  });
});

describe("broker and health commands", () => {
  test("start and health snippets pass shellcheck; the password is expanded from the environment, never written", () => {
    for (const script of [
      brokerStartScript({ persistence: true, memoryMb: 256 }),
      brokerStartScript({ persistence: false, memoryMb: 256 }),
      BROKER_HEALTH_SCRIPT,
    ]) {
      const r = shellcheck(`#!/bin/sh\n${script}\n`);
      expect({ code: r.code, output: r.output }).toEqual({ code: 0, output: "" });
    }
    expect(brokerStartScript({ persistence: true, memoryMb: 256 })).toContain(
      '"$server" - --appendonly yes --maxmemory 204mb --maxmemory-policy noeviction <<EOF\nrequirepass $BROKER_PASSWORD\nEOF',
    );
    expect(brokerStartScript({ persistence: false, memoryMb: 256 })).toContain("--appendonly no --save ''");
  });

  test("service health: explicit command wins; default is wget on the health port", () => {
    expect(serviceHealthTest({ port: 8000, health: { path: "/health" } })).toEqual([
      "CMD-SHELL",
      "wget -qO /dev/null http://127.0.0.1:8000/health || exit 1",
    ]);
    expect(
      serviceHealthTest({ port: 8000, health: { command: ["CMD", "python", "-c", "print(1)"] } }),
    ).toEqual(["CMD", "python", "-c", "print(1)"]);
    expect(serviceHealthTest({ port: 8000 })).toBeUndefined();
  });
});

// -------------------------------------------------------------------------------------------------------------

const platformConfig = (environment: string) =>
  resolveConfig({
    environment,
    targets: { home: { kind: "docker" } },
    storage: { on: "home" },
    database: { on: "home" },
  });

const servicesConfig = {
  services: {
    api: {
      image: IMAGE,
      port: 8000,
      health: { path: "/health" },
      metrics: { port: 8000 },
      connections: { database: "app_writer", storage: ["raw"], broker: true },
      route: { path: "/api" },
    },
    worker: {
      image: IMAGE,
      command: ["celery", "-A", "app", "worker"],
      replicas: 2,
      connections: { broker: true },
    },
    reader: { image: IMAGE, egress: true, connections: { database: "app_reader" } },
    plain: { image: IMAGE, environment: { TZ: "UTC" } },
  },
};

/** Places storage, database and ingestion on one test target; returns the tier. */
function ingestionPlatform(environment: string, raw: Record<string, unknown> = servicesConfig) {
  const cfg = platformConfig(environment);
  const placement = testPlacement();
  const storage = new DockerObjectStorage("storage", { placement, safety: cfg.safety });
  const database = new DockerDatabase("database", { placement, safety: cfg.safety });
  const ingestion = parsed(raw);
  return new DockerIngestion("ingestion", {
    ...dockerIngestionArgs(ingestion, Object.keys(ingestion.services), cfg.safety),
    placement,
    database: database.connection,
    storage: storage.connection,
  });
}

describe("per-service storage credentials (serviceStorage)", () => {
  const services = {
    services: {
      files: { image: IMAGE, connections: { storage: ["raw"] } },
      thumbs: { image: IMAGE, connections: { storage: ["tiles"] } },
    },
  };
  const build = (serviceStorage: (s: DockerObjectStorage) => Record<string, StorageConnection>) => {
    const cfg = platformConfig("local");
    const placement = testPlacement();
    const storage = new DockerObjectStorage("storage", {
      placement,
      safety: cfg.safety,
      consumers: { files: { buckets: { raw: "readwrite" } }, thumbs: { buckets: { tiles: "readwrite" } } },
    });
    const ingestion = parsed(services);
    return new DockerIngestion("ingestion", {
      ...dockerIngestionArgs(ingestion, Object.keys(ingestion.services), cfg.safety),
      placement,
      serviceStorage: serviceStorage(storage),
    });
  };

  test("each service gets its own user's credentials", async () => {
    const { result } = await record(() =>
      build((s) => ({ files: s.connectionFor("files"), thumbs: s.connectionFor("thumbs") })),
    );
    const envOf = async (svc: string) =>
      (await valueOf(pulumi.output(result.nodes.containers[svc]![0]!.envs))) as string[];
    expect(await envOf("files")).toContain("STORAGE_ACCESS_KEY_ID=stackport-files");
    expect(await envOf("thumbs")).toContain("STORAGE_ACCESS_KEY_ID=stackport-thumbs");
    expect((await envOf("files")).join("\n")).not.toMatch(/stackport-root|STORAGE_BUCKET_TILES/);
  });

  test("a service's own connection must hold every bucket it declares, and name a service", () => {
    expect(() =>
      build((s) => ({
        files: s.connectionFor("thumbs"),
        thumbs: s.connectionFor("thumbs"),
        ghost: s.connectionFor("files"),
      })),
    ).toThrow(
      "  - serviceStorage.ghost: 'ghost' is not a service\n  - services.files.connections.storage[0]: the storage connection has no bucket 'raw'",
    );
  });
});

describe("serviceEnv", () => {
  test("a service gets exactly the connections it declares", async () => {
    const { result } = await record(() => {
      const cfg = platformConfig("local");
      const placement = testPlacement();
      const storage = new DockerObjectStorage("storage", { placement, safety: cfg.safety });
      const database = new DockerDatabase("database", { placement, safety: cfg.safety });
      const available = {
        database: database.connection,
        storage: storage.connection,
        brokerUrl: pulumi.secret("redis://:pw@broker:6379/0"),
      };
      const env = (connections: Record<string, unknown>) =>
        serviceEnv(
          "svc",
          parsed({ services: { svc: { image: IMAGE, environment: { TZ: "UTC" }, connections } } }).services[
            "svc"
          ]!,
          available,
        );
      return {
        none: env({}),
        reader: env({ database: "app_reader" }),
        files: env({ storage: ["raw", "tiles"] }),
        broker: env({ broker: true }),
      };
    });
    const resolve = (envs: pulumi.Input<string>[]) => Promise.all(envs.map((e) => valueOf(pulumi.output(e))));
    expect(await resolve(result.none)).toEqual(["TZ=UTC"]);

    const reader = await resolve(result.reader);
    expect(reader).toEqual([
      "TZ=UTC",
      expect.stringMatching(
        /^DATABASE_URL=postgresql:\/\/app_reader:mock-password-database-app-reader-password@database:5432\/platform$/,
      ),
    ]);
    expect(await isSecret(pulumi.output(result.reader[1]!))).toBe(true);

    const files = await resolve(result.files);
    expect(files.map((e) => e!.split("=")[0])).toEqual([
      "TZ",
      "STORAGE_ENDPOINT",
      "STORAGE_REGION",
      "STORAGE_FORCE_PATH_STYLE",
      "STORAGE_ACCESS_KEY_ID",
      "STORAGE_SECRET_ACCESS_KEY",
      "STORAGE_BUCKET_RAW",
      "STORAGE_BUCKET_TILES",
    ]);
    expect(files).not.toContain(expect.stringMatching(/DATABASE_URL|BROKER_URL|DERIVED/));
    expect(await isSecret(pulumi.output(result.files[5]!))).toBe(true);

    expect(await resolve(result.broker)).toEqual(["TZ=UTC", "BROKER_URL=redis://:pw@broker:6379/0"]);
    expect(await isSecret(pulumi.output(result.broker[1]!))).toBe(true);
  });

  test("db_admin cannot be asked for even bypassing the types; a missing connection names the arg path", () => {
    const service = { environment: {}, connections: { broker: false, database: "db_admin" as never } };
    expect(() => serviceEnv("api", service, {})).toThrow(
      "services.api.connections.database: 'db_admin' is not a service role (allowed: app_writer, app_reader)",
    );
    expect(() =>
      serviceEnv("api", { environment: {}, connections: { broker: false, storage: ["raw"] } }, {}),
    ).toThrow("services.api.connections.storage: no storage connection was given");
  });
});

describe("DockerIngestion under the mock runtime", () => {
  test("registers the broker and one container per replica, with stable names", async () => {
    const { recorder } = await record(() => ingestionPlatform("staging"));
    const mine = recorder.resources.filter((r) => r.name === "ingestion" || r.parent === "ingestion");
    expect(mine.map((r) => [r.name, r.type]).sort()).toEqual(
      [
        ["ingestion", "stackport:docker:Ingestion"],
        ["ingestion-broker-image", "docker:index/remoteImage:RemoteImage"],
        ["ingestion-broker-password", "random:index/randomPassword:RandomPassword"],
        ["ingestion-broker-data", "docker:index/volume:Volume"],
        ["ingestion-broker", "docker:index/container:Container"],
        ["ingestion-api-image", "docker:index/remoteImage:RemoteImage"],
        ["ingestion-api-1", "docker:index/container:Container"],
        ["ingestion-reader-image", "docker:index/remoteImage:RemoteImage"],
        ["ingestion-reader-1", "docker:index/container:Container"],
        ["ingestion-plain-image", "docker:index/remoteImage:RemoteImage"],
        ["ingestion-plain-1", "docker:index/container:Container"],
        ["ingestion-worker-image", "docker:index/remoteImage:RemoteImage"],
        ["ingestion-worker-1", "docker:index/container:Container"],
        ["ingestion-worker-2", "docker:index/container:Container"],
      ].sort(),
    );
    const worker2 = one(recorder, "ingestion-worker-2");
    expect(worker2.inputs["name"]).toBe("test-ingestion-worker-2");
    expect(worker2.inputs["command"]).toEqual(["celery", "-A", "app", "worker"]);
    expect(worker2.inputs["memory"]).toBe(512);
    expect(worker2.inputs["cpus"]).toBe("0.5");
    expect(worker2.inputs["labels"]).toEqual(
      expect.arrayContaining([
        { label: "stackport.tier", value: "ingestion" },
        { label: "stackport.service", value: "worker" },
      ]),
    );
    expect(worker2.dependsOn).toContain("ingestion-broker");
  });

  test("only routed services join the edge network; every replica has the shared and its own alias", async () => {
    const { recorder } = await record(() => ingestionPlatform("staging"));
    const networks = (name: string) =>
      (one(recorder, name).inputs["networksAdvanced"] as { name: string; aliases: string[] }[]).map(
        (n) => `${n.name}:${n.aliases.join(",")}`,
      );
    expect(networks("ingestion-api-1")).toEqual(["test-backend:api,api-1", "test-edge:api,api-1"]);
    expect(networks("ingestion-worker-2")).toEqual(["test-backend:worker,worker-2"]);
    // egress alone never puts a service on the edge network
    expect(networks("ingestion-reader-1")).toEqual(["test-backend:reader,reader-1"]);
    expect(networks("ingestion-broker")).toEqual(["test-backend:broker"]);
  });

  test("credentials are masked secrets; a service without a connection gets none of its variables", async () => {
    const { recorder } = await record(() => ingestionPlatform("staging"));
    const envs = (name: string) => one(recorder, name).inputs["envs"] as string[];
    // Pulumi sends a list holding any secret as one secret: the whole envs list is masked.
    for (const name of ["ingestion-api-1", "ingestion-worker-1", "ingestion-reader-1", "ingestion-broker"]) {
      expect(envs(name)).toBe(SECRET_MASK);
    }
    // A service that declares no connection gets its plain settings and nothing else (so nothing is secret).
    expect(envs("ingestion-plain-1")).toEqual(["TZ=UTC"]);
    expect(JSON.stringify(recorder.resources)).not.toContain("mock-password");

    const api = one(recorder, "ingestion-api-1");
    expect(api.inputs["healthcheck"]).toMatchObject({
      tests: ["CMD-SHELL", "wget -qO /dev/null http://127.0.0.1:8000/health || exit 1"],
    });
    expect(api.inputs["wait"]).toBe(true);
    expect(one(recorder, "ingestion-worker-1").inputs["healthcheck"]).toBeUndefined();
  });

  test("the broker volume is protected in staging, not in local; no volume without persistence", async () => {
    const staging = await record(() => ingestionPlatform("staging"));
    expect(one(staging.recorder, "ingestion-broker-data")).toMatchObject({
      protect: true,
      retainOnDelete: true,
    });
    const broker = one(staging.recorder, "ingestion-broker");
    expect(broker.inputs["volumes"]).toEqual([
      { volumeName: "test-ingestion-broker", containerPath: "/data" },
    ]);
    expect(broker.inputs["command"]).toEqual([
      "sh",
      "-c",
      brokerStartScript({ persistence: true, memoryMb: 256 }),
    ]);

    const local = await record(() => ingestionPlatform("local"));
    expect(one(local.recorder, "ingestion-broker-data")).toMatchObject({
      protect: false,
      retainOnDelete: false,
    });

    const memoryOnly = await record(() =>
      ingestionPlatform("staging", { ...servicesConfig, broker: { persistence: false } }),
    );
    expect(memoryOnly.recorder.byName("ingestion-broker-data")).toBeUndefined();
    expect(one(memoryOnly.recorder, "ingestion-broker").inputs["volumes"]).toBeUndefined();
  });

  test("a service with data gets its own volume, protected like the broker's, at its path", async () => {
    const withData = {
      services: { kuma: { image: IMAGE, port: 3001, data: { path: "/app/data" } }, plain: { image: IMAGE } },
    };
    const staging = await record(() => ingestionPlatform("staging", withData));
    expect(one(staging.recorder, "ingestion-kuma-data")).toMatchObject({
      type: "docker:index/volume:Volume",
      parent: "ingestion",
      protect: true,
      retainOnDelete: true,
      inputs: { name: "test-ingestion-kuma" },
    });
    expect(one(staging.recorder, "ingestion-kuma-1").inputs["volumes"]).toEqual([
      { volumeName: "test-ingestion-kuma", containerPath: "/app/data" },
    ]);
    expect(one(staging.recorder, "ingestion-plain-1").inputs["volumes"]).toBeUndefined();
    expect(staging.recorder.byName("ingestion-plain-data")).toBeUndefined();

    const local = await record(() => ingestionPlatform("local", withData));
    expect(one(local.recorder, "ingestion-kuma-data")).toMatchObject({
      protect: false,
      retainOnDelete: false,
    });
  });

  test("broker disabled: no broker children; outputs list addresses and upstreams per service", async () => {
    const { recorder, result } = await record(() =>
      ingestionPlatform("local", {
        broker: false,
        services: { api: { image: IMAGE, port: 8000, replicas: 2 } },
      }),
    );
    expect(recorder.resources.filter((r) => r.name.startsWith("ingestion-broker"))).toEqual([]);
    expect(result.addresses).toEqual({ api: { host: "api", port: 8000, replicas: ["api-1", "api-2"] } });
    // What a program hands its proxy: the service by name, health-checked at the proxy's default path.
    expect(result.upstreams).toEqual({
      api: expect.objectContaining({ tier: "ingestion", host: "api", port: 8000 }),
    });
    expect(result.brokerUrl).toBeUndefined();
  });

  test("a declared connection whose tier is missing fails before the tier registers anything", async () => {
    const { recorder, result } = await record(() => {
      const placement = testPlacement();
      try {
        const ingestion = parsed(servicesConfig);
        new DockerIngestion("ingestion", {
          ...dockerIngestionArgs(ingestion, Object.keys(ingestion.services), {
            protect: true,
            retainOnDelete: true,
          }),
          placement,
        });
        return undefined;
      } catch (e) {
        return e;
      }
    });
    expect(isArgsError(result)).toBe(true);
    expect((result as Error).message).toContain(
      "services.api.connections.database: no database connection was given",
    );
    expect(recorder.resources.filter((r) => r.name.startsWith("ingestion"))).toEqual([]);
  });
});
