/**
 * The broker's start and health scripts, run for real against Debian's Redis through stand-ins for the two images'
 * entrypoints (tests/support/brokerImages.ts): Redis 8's, which appends `--loadmodule` for each module it ships
 * (a real module, compiled here), and Valkey's, which appends `$VALKEY_EXTRA_FLAGS`. In both the server starts,
 * requires the password, has the tier's limits, and the password reaches neither the server's arguments nor
 * redis-cli's (what a Docker host's `ps` shows every user).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BROKER_HEALTH_SCRIPT, brokerStartScript } from "../../components/ingestion/dockerIngestion";
import {
  STUB_MODULE_NAME,
  VALKEY_ENTRYPOINT,
  compileStubModule,
  redis8Entrypoint,
} from "../support/brokerImages";
import { type RunningLoop, runLoop } from "../support/loop";
import { freePort, requireTool, tempFile } from "../support/tools";

const PASSWORD = "Q7xkP2vR9mT4wL8nB3cF6hJ1sD5gA0eZyUoIiYtR";

let redisServer: string;
let redisCli: string;
let modulesDir: string;
const dirs: string[] = [];

beforeAll(() => {
  redisServer = requireTool("redis-server", "redis-server");
  redisCli = requireTool("redis-cli", "redis-tools");
  const base = mkdtempSync(join(tmpdir(), "stackport-broker-modules-"));
  dirs.push(base);
  modulesDir = join(base, "modules");
  compileStubModule(modulesDir);
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A broker image stand-in: its entrypoint, and the server and CLI under the image's names. */
interface Image {
  server: "redis-server" | "valkey-server";
  cli: "redis-cli" | "valkey-cli";
  entrypoint: () => string;
  env?: Record<string, string>;
}

interface Broker {
  port: number;
  dir: string;
  loop: RunningLoop;
  env: (password: string) => NodeJS.ProcessEnv;
  cli: (args: string[], auth?: string) => string;
  /** Every argument list each stand-in was called with, one line per call. */
  args: (tool: string) => string;
}

/**
 * Starts `script` as the container's command would, with PATH leading to the image's stand-ins. The server
 * and CLI wrappers record their arguments and run the real tools; the server's wrapper APPENDS the test's port
 * and data directory (as an entrypoint may), so `-` keeps whatever position the start script and entrypoint gave it.
 */
async function startBroker(image: Image, script: string): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), "stackport-broker-"));
  dirs.push(dir);
  const port = await freePort();
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "data"));
  const tool = (name: string, body: string) => {
    const path = join(dir, "bin", name);
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$*" >> "${join(dir, `${name}.args`)}"\n${body}\n`);
    chmodSync(path, 0o755);
  };
  writeFileSync(join(dir, "bin", "docker-entrypoint.sh"), image.entrypoint());
  chmodSync(join(dir, "bin", "docker-entrypoint.sh"), 0o755);
  tool(image.server, `exec ${redisServer} "$@" --port ${port} --dir ${join(dir, "data")}`);
  tool(image.cli, `exec ${redisCli} -p ${port} "$@"`);
  const env = (password: string): NodeJS.ProcessEnv => ({
    ...process.env,
    ...image.env,
    PATH: `${join(dir, "bin")}:${process.env["PATH"]}`,
    BROKER_PASSWORD: password,
  });
  const loop = runLoop(tempFile("broker.sh", script), [], env(PASSWORD));
  const broker: Broker = {
    port,
    dir,
    loop,
    env,
    cli: (args, auth) =>
      spawnSync(redisCli, ["-p", String(port), ...args], {
        encoding: "utf8",
        env: auth === undefined ? {} : { REDISCLI_AUTH: auth },
      }).stdout.trim(),
    args: (name) => readFileSync(join(dir, `${name}.args`), "utf8"),
  };
  return broker;
}

function stopBroker(broker: Broker | undefined): void {
  if (!broker) return;
  spawnSync(redisCli, ["-p", String(broker.port), "shutdown", "nosave"], {
    env: { REDISCLI_AUTH: PASSWORD },
  });
  broker.loop.dispose();
}

const config = (broker: Broker, key: string) => broker.cli(["config", "get", key], PASSWORD).split("\n")[1];

const IMAGES: [string, Image][] = [
  [
    "redis:8 (modules appended)",
    { server: "redis-server", cli: "redis-cli", entrypoint: () => redis8Entrypoint(modulesDir) },
  ],
  [
    "valkey:8.1 (VALKEY_EXTRA_FLAGS appended)",
    {
      server: "valkey-server",
      cli: "valkey-cli",
      entrypoint: () => VALKEY_ENTRYPOINT,
      env: { VALKEY_EXTRA_FLAGS: "--hz 25" },
    },
  ],
];

describe.each(IMAGES)("the broker on %s", (_name, image) => {
  let broker: Broker | undefined;

  beforeAll(async () => {
    broker = await startBroker(image, brokerStartScript({ persistence: true, memoryMb: 256 }));
    await broker.loop.waitFor("Ready to accept connections");
  });

  afterAll(() => stopBroker(broker));

  test("starts, requires the password, with the limits the tier sets and what the entrypoint appended", () => {
    const b = broker!;
    expect(b.cli(["ping"])).toContain("NOAUTH");
    expect(b.cli(["ping"], PASSWORD)).toBe("PONG");
    expect(config(b, "maxmemory")).toBe(String(204 * 1024 * 1024));
    expect(config(b, "maxmemory-policy")).toBe("noeviction");
    expect(config(b, "appendonly")).toBe("yes");
    if (image.server === "redis-server") {
      expect(b.cli(["module", "list"], PASSWORD)).toContain(STUB_MODULE_NAME);
    } else {
      expect(config(b, "hz")).toBe("25");
    }
  });

  test("the health check passes with the password and fails without it", () => {
    const health = (password: string) =>
      spawnSync("sh", ["-c", BROKER_HEALTH_SCRIPT], { env: broker!.env(password) }).status;
    expect(health(PASSWORD)).toBe(0);
    expect(health("wrong-password")).toBe(1);
  });

  test("the password is in no process's arguments; `-` (configuration on stdin) is the server's first", () => {
    const b = broker!;
    const server = b.args(image.server);
    expect(server.startsWith("- --appendonly yes --maxmemory 204mb --maxmemory-policy noeviction")).toBe(
      true,
    );
    for (const recorded of [server, b.args(image.cli)]) expect(recorded).not.toContain(PASSWORD);
  });
});

describe("the Redis 8 stand-in reproduces what broke the broker", () => {
  let broker: Broker | undefined;
  afterAll(() => stopBroker(broker));

  test("`-` last, as the start script had it, is no longer last once modules are appended: the server exits", async () => {
    const dashLast = [
      "exec docker-entrypoint.sh redis-server --appendonly yes --maxmemory-policy noeviction - <<EOF",
      "requirepass $BROKER_PASSWORD",
      "EOF",
    ].join("\n");
    broker = await startBroker(IMAGES[0]![1], dashLast);
    await broker.loop.waitFor("wrong number of arguments");
    expect(broker.loop.output()).toContain(`'maxmemory-policy "noeviction" "-"'`);
  });
});
