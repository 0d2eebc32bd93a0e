import type * as pulumi from "@pulumi/pulumi";
import { dockerDatabaseArgs, isConfigError, resolveConfig } from "../../src/config";
import {
  BOOTSTRAP_LOCK_KEY,
  renderBootstrapScript,
  renderBootstrapSql,
} from "../../components/database/bootstrapSql";
import { DockerDatabase } from "../../components/database/dockerDatabase";
import {
  dataMountPath,
  postgresMajor,
  validateDockerDatabaseArgs,
  validateRdsDatabaseArgs,
} from "../../components/database/settings";
import { ONE_SHOT_SCRIPT_PATH } from "../../components/shared/docker";
import { libpqEnv, renderAdminJobScript } from "../../components/shared/adminJob";
import { SECRET_MASK } from "../../src/synth/recorder";
import { isSecret, one, record, synthesizeConfig, valueOf } from "../harness";
import { testPlacement } from "../support/placement";
import type { DockerPlacement } from "../../components/shared/placement";

const databaseConfig = (environment = "local", extra: Record<string, unknown> = {}) =>
  resolveConfig({ environment, targets: { t: { kind: "docker" } }, database: { on: "t", ...extra } })
    .database!;

/** SQL statements with comments and psql meta-commands removed, in order. */
const statements = (sql: string) =>
  sql
    .split("\n")
    .filter((l) => !l.startsWith("--") && !l.startsWith("\\"))
    .join("\n")
    .trim()
    .split(/;\s*\n/);

describe("bootstrap SQL (pure)", () => {
  const sql = renderBootstrapSql({ database: "platform", monitoringUser: false });

  it("takes the advisory lock before anything else", () => {
    expect(statements(sql)[0]).toBe(`SELECT pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
  });

  it("never contains a password: every password is a psql variable outside DO bodies", () => {
    expect(sql).not.toMatch(/PASSWORD\s+'/i);
    for (const role of ["db_admin", "app_writer", "app_reader"]) {
      expect(sql).toContain(`ALTER ROLE ${role} WITH LOGIN`);
      expect(sql).toContain(`PASSWORD :'${role}_password';`);
    }
    // psql does not expand variables inside dollar-quoted bodies, so none may be used there.
    for (const body of sql.match(/\$\$[\s\S]*?\$\$/g) ?? []) expect(body).not.toMatch(/:'[a-z_]+'/);
  });

  it("creates the monitoring role only when enabled", () => {
    expect(sql).not.toMatch(/'monitoring'|ROLE monitoring|pg_monitor TO/);
    const withMonitoring = renderBootstrapSql({ database: "platform", monitoringUser: true });
    expect(withMonitoring).toContain("GRANT pg_monitor TO monitoring;");
    expect(withMonitoring).toContain("PASSWORD :'monitoring_password';");
  });

  it("refuses a database name that is not a plain identifier", () => {
    expect(() => renderBootstrapSql({ database: 'x"; DROP', monitoringUser: false })).toThrow(
      /database name 'x"; DROP' must be a lower-case SQL identifier/,
    );
  });

  it("the job script embeds the SQL unexpanded and passes passwords from the environment", () => {
    const script = renderBootstrapScript({ database: "platform", monitoringUser: false });
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).toContain(sql.trimEnd());
    // psql reads each password from the environment (\getenv): none is an argument (/proc/<pid>/cmdline).
    expect(script).toContain(
      "psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f - <<'STACKPORT_BOOTSTRAP_SQL'",
    );
    expect(script).not.toMatch(/-v \w+_password=/);
    expect(sql).toContain("\\getenv app_writer_password APP_WRITER_PASSWORD\n");
    expect(script).not.toContain("MONITORING_PASSWORD");
  });

  it("creates the read-only backup role only when asked, and never on a managed server", () => {
    expect(sql).not.toContain("db_backup");
    const withBackup = renderBootstrapSql({ database: "platform", monitoringUser: false, backupUser: true });
    expect(withBackup).toContain("GRANT pg_read_all_data TO db_backup;");
    expect(withBackup).toContain(
      "ALTER ROLE db_backup WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS PASSWORD :'db_backup_password';",
    );
    expect(withBackup).toContain(
      "ALTER ROLE app_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
    );
    expect(() =>
      renderBootstrapSql({
        database: "platform",
        monitoringUser: false,
        backupUser: true,
        managedServer: true,
      }),
    ).toThrow(/backup role needs a self-managed server/);
  });

  it("refuses an image whose psql cannot read passwords from the environment (\\getenv: psql 15+)", () => {
    expect(validateDockerDatabaseArgs({ image: "postgis/postgis:14-3.5" })).toEqual([
      { path: "image", message: expect.stringContaining("the bootstrap needs psql 15 or later") },
    ]);
    expect(validateRdsDatabaseArgs({ clientImage: "postgres:13" })).toEqual([
      { path: "clientImage", message: expect.stringContaining("the bootstrap needs psql 15 or later") },
    ]);
    expect(validateDockerDatabaseArgs({ image: "postgis/postgis:15-3.5" })).toEqual([]);
  });
});

describe("PostgreSQL major version from the image", () => {
  it.each([
    ["postgis/postgis:17-3.5", 17, "/var/lib/postgresql/data"],
    ["postgis/postgis:18-3.6", 18, "/var/lib/postgresql"],
    ["imresamu/postgis:16-3.5-alpine", 16, "/var/lib/postgresql/data"],
    ["registry.lan:5000/postgis/postgis:18.1-3.6@sha256:" + "a".repeat(64), 18, "/var/lib/postgresql"],
  ])("%s → %i", (image, major, path) => {
    expect(postgresMajor(image)).toBe(major);
    expect(dataMountPath(major)).toBe(path);
  });

  it.each(["postgis/postgis:bookworm", "postgis/postgis@sha256:" + "a".repeat(64), "postgres:8.4"])(
    "%s has no usable major; the stack refuses it naming the config key",
    (image) => {
      expect(postgresMajor(image)).toBeUndefined();
      let error: unknown;
      try {
        resolveConfig({
          environment: "local",
          targets: { t: { kind: "docker" } },
          database: { on: "t", image },
        });
      } catch (e) {
        error = e;
      }
      expect(isConfigError(error)).toBe(true);
      expect(String(error)).toContain(
        `stackport:database.image: cannot tell the PostgreSQL major version from '${image}'`,
      );
    },
  );
});

describe("DockerDatabase", () => {
  it.each([false, true])(
    "registers image, passwords, volume, server and bootstrap (preview=%s)",
    async (preview) => {
      const { recorder, result } = await record(
        () =>
          new DockerDatabase("database", {
            placement: testPlacement(),
            publish: { port: 5432, address: "127.0.0.1" },
          }),
        { preview },
      );
      expect(recorder.resources.length).toBeGreaterThan(0);
      const component = one(recorder, "database");
      expect(component.type).toBe("stackport:docker:Database");
      const children = recorder.resources
        .filter((r) => r.parent === "database")
        .map((r) => `${r.type} ${r.name}`);
      expect(children.sort()).toEqual(
        [
          "docker:index/container:Container database-bootstrap",
          "docker:index/container:Container database-server",
          "docker:index/remoteImage:RemoteImage database-image",
          "docker:index/volume:Volume database-data",
          "random:index/randomPassword:RandomPassword database-app-reader-password",
          "random:index/randomPassword:RandomPassword database-app-writer-password",
          "random:index/randomPassword:RandomPassword database-db-admin-password",
          "random:index/randomPassword:RandomPassword database-superuser-password",
        ].sort(),
      );

      const volume = one(recorder, "database-data");
      expect([volume.protect, volume.retainOnDelete]).toEqual([true, true]);
      expect(volume.inputs["name"]).toBe("test-database-data");

      const server = one(recorder, "database-server");
      expect(server.provider).toBe("test-target-docker");
      expect(server.inputs["name"]).toBe("test-database");
      expect(server.inputs["ports"]).toEqual([
        { internal: 5432, external: 5432, ip: "127.0.0.1", protocol: "tcp" },
      ]);
      // POSTGRES_PASSWORD is secret, so the whole envs list is masked: no password reaches the plan.
      expect(server.inputs["envs"]).toBe("[secret]");
      expect(server.inputs["volumes"]).toEqual([
        { volumeName: "test-database-data", containerPath: "/var/lib/postgresql/data" },
      ]);
      expect(server.inputs["healthcheck"]).toMatchObject({
        tests: ["CMD-SHELL", "pg_isready -h 127.0.0.1 -U postgres -d platform"],
      });
      expect(server.inputs).toMatchObject({
        wait: true,
        restart: "unless-stopped",
        memory: 2048,
        shmSize: 256,
      });
      expect(server.inputs["networksAdvanced"]).toEqual([{ name: "test-backend", aliases: ["database"] }]);
      expect(server.inputs["labels"]).toEqual(
        expect.arrayContaining([
          { label: "stackport.tier", value: "database" },
          { label: "stackport.role", value: "server" },
        ]),
      );

      const bootstrap = one(recorder, "database-bootstrap");
      expect(bootstrap.dependsOn).toContain("database-server");
      expect(bootstrap.inputs["envs"]).toBe("[secret]");
      expect(bootstrap.inputs["mustRun"]).toBe(false);
      const uploads = bootstrap.inputs["uploads"] as { file: string; content: string }[];
      expect(uploads[0]!.file).toBe(ONE_SHOT_SCRIPT_PATH);
      expect(uploads[0]!.content).toContain("pg_advisory_xact_lock");
      expect(uploads[0]!.content).not.toContain("mock-password");

      for (const role of ["db_admin", "app_writer", "app_reader"] as const) {
        const c = result.connection.roles[role];
        expect(await isSecret(c.password)).toBe(true);
        expect(await isSecret(c.url)).toBe(true);
        expect(await valueOf(c.host)).toBe("database");
        expect(await valueOf(c.port)).toBe(5432);
        expect(await valueOf(c.database)).toBe("platform");
        if (!preview) {
          expect(await valueOf(c.user)).toBe(role);
          expect(await valueOf(c.url)).toBe(
            `postgresql://${role}:mock-password-database-${role.replace(/_/g, "-")}-password@database:5432/platform`,
          );
        }
      }
      expect(result.monitoring).toBeUndefined();
    },
  );

  it("with backupUser, generates the db_backup password, hands it to the bootstrap's environment and exposes `backup`", async () => {
    const { recorder, result } = await record(
      () =>
        new DockerDatabase("db", {
          ...dockerDatabaseArgs(
            databaseConfig("staging"),
            { protect: false, retainOnDelete: false },
            { runMigrations: true, backupUser: true },
          ),
          placement: testPlacement(),
        }),
    );
    expect(one(recorder, "db-db-backup-password").type).toBe("random:index/randomPassword:RandomPassword");
    const envs = await valueOf(result.nodes.bootstrap.envs as pulumi.Output<string[]>);
    expect(envs).toContain("DB_BACKUP_PASSWORD=mock-password-db-db-backup-password");
    const script = (one(recorder, "db-bootstrap").inputs["uploads"] as { content: string }[])[0]!.content;
    expect(script).toContain("GRANT pg_read_all_data TO db_backup;");
    expect(script).not.toContain("mock-password");
    expect(await valueOf(result.backup!.user)).toBe("db_backup");
    expect(await isSecret(result.backup!.password)).toBe(true);
  });

  it("mounts the volume at /var/lib/postgresql for an 18.x image and adds the monitoring role when enabled", async () => {
    const { recorder, result } = await record(
      () =>
        new DockerDatabase("db", {
          ...dockerDatabaseArgs(
            databaseConfig("staging", { image: "postgis/postgis:18-3.6", monitoringUser: true }),
            { protect: false, retainOnDelete: false },
            { runMigrations: true },
          ),
          placement: testPlacement(),
        }),
    );
    const server = one(recorder, "db-server");
    expect(server.inputs["volumes"]).toEqual([
      { volumeName: "test-database-data", containerPath: "/var/lib/postgresql" },
    ]);
    // Not local: nothing published on the host.
    expect(server.inputs["ports"] ?? []).toEqual([]);
    const volume = one(recorder, "db-data");
    expect([volume.protect, volume.retainOnDelete]).toEqual([false, false]);
    expect(one(recorder, "db-monitoring-password").type).toBe("random:index/randomPassword:RandomPassword");
    const script = (one(recorder, "db-bootstrap").inputs["uploads"] as { content: string }[])[0]!.content;
    expect(script).toContain("GRANT pg_monitor TO monitoring;");
    expect(await valueOf(result.monitoring!.user)).toBe("monitoring");
  });

  it("refuses bad args naming each arg path, before registering anything (no runtime needed)", () => {
    // Validation runs before super(): with no mock runtime attached, getting past it would throw something else.
    expect(
      () =>
        new DockerDatabase("db", {
          image: "postgis/postgis:bookworm",
          database: "Geo-Data",
          placement: {} as DockerPlacement,
        }),
    ).toThrow(
      [
        "Invalid args for stackport:docker:Database 'db' (2 problems):",
        "  - image: cannot tell the PostgreSQL major version from 'postgis/postgis:bookworm' (the volume path depends on it); use a tag that starts with it, e.g. postgis/postgis:17-3.5",
        "  - database: must be a lower-case SQL identifier",
      ].join("\n"),
    );
  });
});

describe("schema migrations (stackport:database.migrations)", () => {
  const MIGRATIONS = { image: "ghcr.io/example/app:2.3.0", command: ["alembic", "upgrade", "head"] };
  /** The tier as the program builds it: `runMigrations` is false on the side of a cutover that does not serve. */
  const withMigrations = (runMigrations = true) =>
    new DockerDatabase("database", {
      ...dockerDatabaseArgs(
        databaseConfig("staging", { migrations: MIGRATIONS }),
        { protect: true, retainOnDelete: true },
        { runMigrations },
      ),
      placement: testPlacement(),
    });
  it("run once after the bootstrap, as db_admin, from the configured image and command", async () => {
    const { recorder } = await record(() => withMigrations());
    expect(one(recorder, "database-migrations-image").inputs).toMatchObject({ name: MIGRATIONS.image });
    const job = one(recorder, "database-migrations");
    expect(job.parent).toBe("database");
    expect(job.dependsOn).toContain("database-bootstrap");
    expect(job.inputs).toMatchObject({
      name: "test-database-migrations",
      image: MIGRATIONS.image,
      mustRun: false,
      restart: "no",
      envs: SECRET_MASK,
      uploads: [
        {
          file: ONE_SHOT_SCRIPT_PATH,
          content: renderAdminJobScript(
            { command: MIGRATIONS.command, origin: "stackport:database.migrations.command" },
            "schema migrations",
          ),
        },
      ],
    });
  });

  it("the job connects as db_admin through the libpq variables, its password a secret", async () => {
    const { result } = await record(() => withMigrations());
    const admin = result.connection.roles.db_admin;
    expect(await valueOf(admin.user)).toBe("db_admin");
    const envs = libpqEnv(admin);
    expect(envs).toContain("PGOPTIONS=-c search_path=app,public");
    expect(await isSecret(envs[0] as pulumi.Output<string>)).toBe(true);
  });

  it("only the serving side runs them: the other side of a cutover has no job and does not wait", async () => {
    const { recorder, result } = await record(() => withMigrations(false));
    expect(recorder.byName("database-migrations")).toBeUndefined();
    expect(recorder.byName("database-migrations-image")).toBeUndefined();
    expect(await valueOf(result.connection.roles.app_writer.user)).toBe("app_writer");
  });

  it("an image without a tag and an empty command are refused with their keys; AWS is refused", () => {
    const issues = (
      database: Record<string, unknown>,
      targets: Record<string, unknown> = { t: { kind: "docker" } },
    ) => {
      try {
        resolveConfig({ environment: "staging", targets, database: { on: "t", ...database } });
        return [];
      } catch (e) {
        if (!isConfigError(e)) throw e;
        return e.issues.map((i) => i.key);
      }
    };
    expect(issues({ migrations: { image: "app", command: [] } })).toEqual([
      "stackport:database.migrations.image",
      "stackport:database.migrations.command",
    ]);
    expect(issues({ migrations: MIGRATIONS }, { t: { kind: "aws", region: "eu-west-1" } })).toContain(
      "stackport:database.migrations",
    );
  });

  it("services start after them: a service's connection depends on the migrations job", async () => {
    const plan = await synthesizeConfig("staging", {
      environment: "staging",
      targets: { t: { kind: "docker" } },
      database: { on: "t", migrations: MIGRATIONS },
      ingestion: {
        on: "t",
        broker: false,
        services: { api: { image: "ghcr.io/example/app:2.3.0", connections: { database: "app_writer" } } },
      },
    });
    expect(plan.resources.find((r) => r.name === "ingestion-api-1")!.dependsOn).toContain(
      "database-migrations",
    );
    expect(plan.resources.find((r) => r.name === "database-migrations")!.dependsOn).toContain(
      "database-bootstrap",
    );
  });
});

describe("configurable bootstrap (stackport:database.extensions, schemas, databases)", () => {
  const problems = (
    database: Record<string, unknown>,
    targets: Record<string, unknown> = { t: { kind: "docker" } },
  ) => {
    try {
      resolveConfig({ environment: "staging", targets, database: { on: "t", ...database } });
      return [];
    } catch (e) {
      if (!isConfigError(e)) throw e;
      return e.issues.map((i) => `${i.key}: ${i.message}`);
    }
  };

  it("refuses an extension the image is known not to ship, naming the key and what to use", () => {
    expect(problems({ extensions: ["pg_trgm", "timescaledb"] })).toEqual([
      "stackport:database.extensions[1]: 'timescaledb' is not in the image 'postgis/postgis:17-3.5'; use a TimescaleDB image with PostGIS, e.g. timescale/timescaledb-ha:pg17",
    ]);
    expect(problems({ databases: { metrics: { extensions: ["timescaledb"] } } })).toEqual([
      "stackport:database.databases.metrics.extensions[0]: 'timescaledb' is not in the image 'postgis/postgis:17-3.5'; use a TimescaleDB image with PostGIS, e.g. timescale/timescaledb-ha:pg17",
    ]);
    // TimescaleDB's HA image has it (and PostGIS); an image without PostGIS cannot serve the bootstrap at all.
    expect(problems({ image: "timescale/timescaledb-ha:pg17", extensions: ["timescaledb"] })).toEqual([]);
    expect(problems({ image: "timescale/timescaledb:2.20.3-pg17" })[0]).toMatch(
      /^stackport:database.image: /,
    );
    // RDS offers no TimescaleDB.
    expect(problems({ extensions: ["timescaledb"] }, { t: { kind: "aws", region: "eu-west-1" } })).toContain(
      "stackport:database.extensions[0]: RDS for PostgreSQL does not offer 'timescaledb'",
    );
  });

  it("refuses names that would break the bootstrap or collide with its roles", () => {
    expect(
      problems({
        schemas: { app: {}, "Bad-Name": {} },
        databases: { app: {}, platform: {}, postgres: {} },
        extensions: ["pg trgm"],
      }),
    ).toEqual(
      expect.arrayContaining([
        "stackport:database.schemas.app: 'app' is reserved (public, information_schema, app, audit are managed by the bootstrap)",
        "stackport:database.schemas.Bad-Name: must be a lower-case SQL identifier not starting with pg_",
        "stackport:database.databases.app: its roles (app_owner, app_writer, app_reader) would collide with the fixed roles",
        "stackport:database.databases.platform: 'platform' is the application database or PostgreSQL's own",
        "stackport:database.databases.postgres: 'postgres' is the application database or PostgreSQL's own",
        "stackport:database.extensions[0]: 'pg trgm' is not an extension name (lower-case letters, digits, '_' or '-')",
      ]),
    );
    expect(problems({ schemas: { tenancy: { reader: "write" } } })[0]).toMatch(
      /^stackport:database.schemas.tenancy.reader: /,
    );
  });

  it("TimescaleDB's HA image mounts its data where that image keeps PGDATA", () => {
    expect(postgresMajor("timescale/timescaledb-ha:pg17.5-ts2.20.3")).toBe(17);
    expect(dataMountPath(17, "timescale/timescaledb-ha:pg17")).toBe("/home/postgres/pgdata");
    expect(dataMountPath(17, "postgis/postgis:17-3.5")).toBe("/var/lib/postgresql/data");
  });

  it("a Docker database with extra databases: passwords per role, the script bootstraps each, connections per database", async () => {
    const { recorder, result } = await record(
      () =>
        new DockerDatabase("db", {
          ...dockerDatabaseArgs(
            databaseConfig("staging", {
              extensions: ["pg_trgm"],
              schemas: { tenancy: {} },
              databases: { events: { schemas: { outbox: {} } } },
            }),
            { protect: false, retainOnDelete: false },
            { runMigrations: true },
          ),
          placement: testPlacement(),
        }),
    );
    for (const role of ["events-owner", "events-writer", "events-reader"])
      expect(one(recorder, `db-${role}-password`).type).toBe("random:index/randomPassword:RandomPassword");
    const script = (one(recorder, "db-bootstrap").inputs["uploads"] as { content: string }[])[0]!.content;
    expect(script).toContain(`CREATE EXTENSION IF NOT EXISTS "pg_trgm";`);
    expect(script).toContain(`CREATE SCHEMA IF NOT EXISTS "tenancy" AUTHORIZATION db_admin;`);
    expect(script).toContain("PGDATABASE='events' psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f -");
    expect(script).not.toContain("mock-password");
    const envs = await valueOf(result.nodes.bootstrap.envs as pulumi.Output<string[]>);
    expect(envs).toContain("EVENTS_WRITER_PASSWORD=mock-password-db-events-writer-password");
    const writer = result.connection.databases!["events"]!.writer;
    expect(await valueOf(writer.url)).toBe(
      "postgresql://events_writer:mock-password-db-events-writer-password@database:5432/events",
    );
    expect(await isSecret(writer.url)).toBe(true);
  });

  it("a stack without these keys renders the same script as before them (no bootstrap change)", () => {
    const plain = dockerDatabaseArgs(
      databaseConfig("staging"),
      { protect: true, retainOnDelete: true },
      {
        runMigrations: true,
      },
    );
    expect(plain).not.toHaveProperty("extensions");
    expect(plain).not.toHaveProperty("schemas");
    expect(plain).not.toHaveProperty("databases");
  });
});
