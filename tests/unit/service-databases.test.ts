/**
 * A service's `connections.database` naming an extra database (`stackport:database.databases`, seed 001's database
 * per service): the config shape and its refusals by key, the URL the service receives (that database's writer or
 * reader, never its owner or another database's role), and what a cutover's freeze counts as a writer.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerDatabase } from "../../components/database/dockerDatabase";
import { DockerIngestion } from "../../components/ingestion/dockerIngestion";
import { serviceEnv } from "../../components/ingestion/serviceEnv";
import { writesDatabase } from "../../components/ingestion/settings";
import { resolveConfig } from "../../src/config";
import { readStackFile } from "../../src/synth/stackFile";
import { ROOT, isSecret, record, synthesizeStack, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const IMAGE = "ghcr.io/example/ingest:1.4.2";
const SAFETY = { protect: false, retainOnDelete: false };

/** A local stack with an `events` database and one service whose `connections.database` is `database`. */
function config(database: unknown) {
  return {
    environment: "local",
    targets: { t: { kind: "docker" } },
    database: { on: "t", databases: { events: {} } },
    ingestion: { on: "t", broker: false, services: { bridge: { image: IMAGE, connections: { database } } } },
  };
}

const KEY = "stackport:ingestion.services.bridge.connections.database";

describe("config", () => {
  test("{ name, role } becomes the component's { database, role }", () => {
    const cfg = resolveConfig(config({ name: "events", role: "reader" }));
    expect(cfg.ingestion!.services["bridge"]!.connections.database).toEqual({
      database: "events",
      role: "reader",
    });
  });

  test.each([
    [
      { name: "telemetry", role: "writer" },
      `${KEY}.name`,
      "unknown database 'telemetry'; stackport:database.databases has: events",
    ],
    [{ name: "events", role: "owner" }, `${KEY}.role`, "owner"],
    ["db_admin", KEY, "db_admin is the migrations role"],
    [{ name: "events" }, `${KEY}.role`, ""],
  ])("%j is refused at its key", (database, key, message) => {
    let thrown: unknown;
    try {
      resolveConfig(config(database));
    } catch (e) {
      thrown = e;
    }
    const issues = (thrown as { issues?: { key: string; message: string }[] }).issues ?? [];
    expect(issues.map((i) => i.key)).toEqual([key]);
    expect(issues[0]!.message).toContain(message);
  });

  test("the freeze counts an extra database's writer as a writer, its reader not", () => {
    expect(writesDatabase({ database: "events", role: "writer" })).toBe(true);
    expect(writesDatabase({ database: "events", role: "reader" })).toBe(false);
    expect(writesDatabase("app_writer")).toBe(true);
    expect(writesDatabase("app_reader")).toBe(false);
    expect(writesDatabase(undefined)).toBe(false);
  });
});

describe("the service's DATABASE_URL", () => {
  test("is the extra database's writer or reader URL, a secret, and an unknown database names the known ones", async () => {
    const { result } = await record(() => {
      const database = new DockerDatabase("database", {
        placement: testPlacement(),
        safety: SAFETY,
        databases: { events: {} },
      });
      const env = (db: { database: string; role: "writer" | "reader" }) =>
        serviceEnv(
          "bridge",
          { environment: {}, connections: { database: db } },
          { database: database.connection },
        );
      const url = (role: "writer" | "reader") => database.connection.databases!["events"]![role].url;
      return {
        writer: pulumi.all(env({ database: "events", role: "writer" })),
        reader: pulumi.all(env({ database: "events", role: "reader" })),
        expected: pulumi.all([url("writer"), url("reader"), database.connection.roles.app_writer.url]),
        unknown: (() => {
          try {
            env({ database: "telemetry", role: "writer" });
          } catch (e) {
            return (e as Error).message;
          }
          return "no error";
        })(),
      };
    });
    const [writerUrl, readerUrl, appWriterUrl] = (await valueOf(result.expected))!;
    expect(await valueOf(result.writer)).toEqual([`DATABASE_URL=${writerUrl}`]);
    expect(await isSecret(result.writer)).toBe(true);
    expect(await valueOf(result.reader)).toEqual([`DATABASE_URL=${readerUrl}`]);
    expect(writerUrl).toContain("events_writer");
    expect(writerUrl).toMatch(/\/events(\?|$)/);
    expect(writerUrl).not.toBe(appWriterUrl);
    expect(result.unknown).toBe(
      "services.bridge.connections.database: unknown database 'telemetry'; extra databases: events",
    );
  });

  test("DockerIngestion refuses an unknown extra database at its arg path before registering anything", async () => {
    const { recorder, result } = await record(() => {
      const database = new DockerDatabase("database", {
        placement: testPlacement(),
        safety: SAFETY,
        databases: { events: {} },
      });
      try {
        new DockerIngestion("ingestion", {
          placement: testPlacement(),
          broker: false,
          database: database.connection,
          services: {
            bridge: { image: IMAGE, connections: { database: { database: "telemetry", role: "writer" } } },
          },
        });
      } catch (e) {
        return (e as Error).message;
      }
      return "no error";
    });
    expect(result).toContain(
      "services.bridge.connections.database.database: unknown database 'telemetry' (extra databases: events)",
    );
    expect(recorder.resources.filter((r) => r.name.startsWith("ingestion"))).toEqual([]);
  });
});

describe("the staging stack", () => {
  test("its telemetry bridge uses the events database's writer, and the stack outputs the extra database's roles", async () => {
    const cfg = resolveConfig(
      Object.fromEntries(
        Object.entries(readStackFile(ROOT, "staging").config)
          .filter(([k]) => k.startsWith("stackport:"))
          .map(([k, v]) => [k.slice("stackport:".length), /^[[{]/.test(v) ? JSON.parse(v) : v]),
      ),
    );
    expect(cfg.ingestion!.services["telemetry"]!.connections.database).toEqual({
      database: "events",
      role: "writer",
    });
    expect((await synthesizeStack("staging")).outputs).toContain("databases");
  });
});

describe("backups of the extra databases", () => {
  const stack = (backups: Record<string, unknown>) => ({
    environment: "staging",
    targets: { t: { kind: "docker" } },
    database: { on: "t", databases: { events: {} } },
    backups: { intervalHours: 24, destination: { kind: "volume" }, ...backups },
  });
  test("pg_dump alone would leave them out: the stack is refused at stackport:backups.wal", () => {
    let thrown: unknown;
    try {
      resolveConfig(stack({}));
    } catch (e) {
      thrown = e;
    }
    const issues = (thrown as { issues?: { key: string; message: string }[] }).issues ?? [];
    expect(issues).toEqual([
      {
        key: "stackport:backups.wal",
        message: expect.stringContaining("stackport:database.databases has events"),
      },
    ]);
  });
  test("with the WAL archive (base backups copy the whole server) it is accepted", () => {
    expect(() => resolveConfig(stack({ wal: {} }))).not.toThrow();
  });
});
