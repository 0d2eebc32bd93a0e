/**
 * The broker's start and health scripts, run for real against Debian's Redis: the password is required, and it
 * reaches neither the server's arguments nor redis-cli's (what a Docker host's `ps` shows every user). A stand-in
 * for the image's entrypoint does what the official one may do: put `--protected-mode no` before our arguments.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BROKER_HEALTH_SCRIPT, brokerStartScript } from "../../components/ingestion/dockerIngestion";
import { type RunningLoop, runLoop } from "../support/loop";
import { freePort, requireTool, tempFile } from "../support/tools";

const PASSWORD = "Q7xkP2vR9mT4wL8nB3cF6hJ1sD5gA0eZyUoIiYtR";

let dir: string;
let redisCli: string;
let port: number;
let server: RunningLoop | undefined;

/** An executable stand-in on PATH that records its arguments and runs the real tool with the test's port. */
function wrapper(name: string, body: string): void {
  const path = join(dir, "bin", name);
  writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' "$*" >> "${join(dir, `${name}.args`)}"\n${body}\n`);
  chmodSync(path, 0o755);
}

beforeAll(async () => {
  const redisServer = requireTool("redis-server", "redis-server");
  redisCli = requireTool("redis-cli", "redis-tools");
  dir = mkdtempSync(join(tmpdir(), "stackport-broker-"));
  port = await freePort();
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "data"));
  wrapper("docker-entrypoint.sh", 'server=$1; shift\nexec "$server" --protected-mode no "$@"');
  wrapper("redis-server", `exec ${redisServer} --port ${port} --dir ${join(dir, "data")} "$@"`);
  wrapper("redis-cli", `exec ${redisCli} -p ${port} "$@"`);
  server = runLoop(
    tempFile("broker.sh", brokerStartScript({ persistence: true, memoryMb: 256 })),
    [],
    env(PASSWORD),
  );
  await server.waitFor("Ready to accept connections");
});

afterAll(async () => {
  if (server) {
    spawnSync(redisCli, ["-p", String(port), "shutdown", "nosave"], { env: { REDISCLI_AUTH: PASSWORD } });
    server.dispose();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function env(password: string): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${join(dir, "bin")}:${process.env["PATH"]}`, BROKER_PASSWORD: password };
}

const cli = (args: string[], auth?: string) =>
  spawnSync(redisCli, ["-p", String(port), ...args], {
    encoding: "utf8",
    env: auth === undefined ? {} : { REDISCLI_AUTH: auth },
  }).stdout.trim();

const health = (password: string) =>
  spawnSync("sh", ["-c", BROKER_HEALTH_SCRIPT], { env: env(password) }).status;

test("the server requires the password, with the limits the tier sets", () => {
  expect(cli(["ping"])).toContain("NOAUTH");
  expect(cli(["ping"], PASSWORD)).toBe("PONG");
  expect(cli(["config", "get", "maxmemory"], PASSWORD).split("\n")).toEqual([
    "maxmemory",
    String(204 * 1024 * 1024),
  ]);
  expect(cli(["config", "get", "maxmemory-policy"], PASSWORD).split("\n")).toEqual([
    "maxmemory-policy",
    "noeviction",
  ]);
  expect(cli(["config", "get", "appendonly"], PASSWORD).split("\n")).toEqual(["appendonly", "yes"]);
});

test("the health check passes with the password and fails without it", () => {
  expect(health(PASSWORD)).toBe(0);
  expect(health("wrong-password")).toBe(1);
});

test("the password is in no process's arguments", () => {
  const args = ["docker-entrypoint.sh", "redis-server", "redis-cli"].map((tool) =>
    readFileSync(join(dir, `${tool}.args`), "utf8"),
  );
  // The server was started, through the entrypoint, with our settings and `-` (configuration on stdin) last.
  expect(args[1]).toMatch(
    /--protected-mode no --appendonly yes --maxmemory 204mb --maxmemory-policy noeviction -\n/,
  );
  for (const recorded of args) expect(recorded).not.toContain(PASSWORD);
});
