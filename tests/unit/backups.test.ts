import * as pulumi from "@pulumi/pulumi";
import { DockerBackups, type DockerBackupsArgs } from "../../components/backups/dockerBackups";
import {
  BACKUP_SCRIPT_PATH,
  RESTORE_SCRIPT_PATH,
  SYNC_SCRIPT_PATH,
  renderBackupScript,
  renderBucketSyncScript,
} from "../../components/backups/scripts";
import { DRILL_SCRIPT_PATH, METRICS_SERVER_PATH, renderDrillScript } from "../../components/backups/drill";
import { OFFHOST_SCRIPT_PATH } from "../../components/backups/offHost";
import {
  BASE_BACKUP_SCRIPT_PATH,
  PITR_RESTORE_SCRIPT_PATH,
  renderBaseBackupScript,
} from "../../components/backups/walScripts";
import type { StorageConnection } from "../../components/storage/contract";
import { isArgsError } from "../../components/shared/errors";
import {
  METRICS_HOST,
  METRICS_PORT,
  backupsScrapeTargets,
  validateDockerBackupsArgs,
} from "../../components/backups/settings";
import {
  type BackupsConfig,
  type BackupsContext,
  backupsSchema,
  checkBackups,
  resolveBackups,
} from "../../src/config/tiers/backups";
import type { DockerPlacement } from "../../components/shared/placement";
import { isSecret, one, record, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

const DATABASE_IMAGE = "postgis/postgis:17-3.5";
const MC_IMAGE = "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z";

const parse = (raw: Record<string, unknown> = {}): BackupsConfig => backupsSchema.parse(raw);

const context = (backups: BackupsConfig, extra: Partial<BackupsContext> = {}): BackupsContext => ({
  backups,
  database: { on: "home", image: DATABASE_IMAGE },
  storage: { on: "home", clientImage: MC_IMAGE, buckets: { raw: {}, backups: {} } },
  ...extra,
});

describe("stackport:backups schema", () => {
  it("defaults to a daily backup kept 14 days on a volume, with the database's image", () => {
    const cfg = parse();
    expect(cfg).toMatchObject({ intervalHours: 24, destination: { kind: "volume" }, memoryMb: 512 });
    expect(checkBackups(context(cfg))).toEqual([]);
    expect(resolveBackups(cfg, { image: DATABASE_IMAGE })).toEqual({
      intervalHours: 24,
      drillIntervalHours: 24,
      retention: { days: 14 },
      destination: { kind: "volume" },
      image: DATABASE_IMAGE,
      memoryMb: 512,
    });
  });

  it("resolves a bucket destination (default bucket 'backups') with the storage tier's mc image", () => {
    const cfg = parse({ destination: { kind: "bucket" }, retentionCount: 7 });
    expect(checkBackups(context(cfg))).toEqual([]);
    expect(resolveBackups(cfg, { image: DATABASE_IMAGE }, { clientImage: MC_IMAGE })).toMatchObject({
      retention: { count: 7 },
      destination: { kind: "bucket", bucket: "backups" },
      clientImage: MC_IMAGE,
    });
  });

  it.each([
    [{ intervalHours: 0 }, ["intervalHours"], /too small|>=1/],
    [{ intervalHours: 169 }, ["intervalHours"], /too big|<=168/],
    [{ drillIntervalHours: 721 }, ["drillIntervalHours"], /too big|<=720/],
    [{ destination: { kind: "tape" } }, ["destination", "kind"], /./],
    [{ image: "postgis/postgis:latest" }, ["image"], /:latest/],
    [{ retentionDayz: 3 }, [], /retentionDayz/],
  ])("refuses %j at its key", (raw, path, message) => {
    const result = backupsSchema.safeParse(raw);
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path).toEqual(path);
    expect(issue.message + JSON.stringify(issue)).toMatch(message);
  });
});

describe("checkBackups (rules across tiers)", () => {
  const keysOf = (ctx: BackupsContext) => checkBackups(ctx).map((i) => i.key);

  it("requires the database tier", () => {
    const issues = checkBackups(context(parse(), { database: undefined }));
    expect(issues).toEqual([
      { key: "stackport:backups", message: expect.stringContaining("add stackport:database") },
    ]);
  });

  it("refuses both retention rules at once", () => {
    expect(keysOf(context(parse({ retentionDays: 3, retentionCount: 3 })))).toEqual([
      "stackport:backups.retentionCount",
    ]);
  });

  it("names the configured buckets when the destination bucket is not one of them", () => {
    const issues = checkBackups(
      context(parse({ destination: { kind: "bucket", bucket: "dumps" } }), {
        storage: { on: "home", clientImage: MC_IMAGE, buckets: { raw: {}, tiles: {} } },
      }),
    );
    expect(issues).toEqual([
      {
        key: "stackport:backups.destination.bucket",
        message: expect.stringMatching(/unknown bucket 'dumps'; buckets of stackport:storage: raw, tiles/),
      },
    ]);
  });

  it("needs the storage tier, on the database's target, for a bucket destination", () => {
    const bucket = parse({ destination: { kind: "bucket" } });
    expect(keysOf(context(bucket, { storage: undefined }))).toEqual(["stackport:backups.destination.kind"]);
    const elsewhere = checkBackups(
      context(bucket, { storage: { on: "nas", clientImage: MC_IMAGE, buckets: { backups: {} } } }),
    );
    expect(elsewhere.map((i) => i.key)).toEqual(["stackport:backups.destination"]);
    expect(elsewhere[0]!.message).toMatch(/target 'home'.*storage is on 'nas'/);
  });

  it("refuses a backup bucket without versioning, naming both keys (the sync never deletes; versions keep old copies)", () => {
    const issues = checkBackups(
      context(parse({ destination: { kind: "bucket" } }), {
        storage: { on: "home", clientImage: MC_IMAGE, buckets: { backups: { versioning: false } } },
      }),
    );
    expect(issues).toEqual([
      {
        key: "stackport:backups.destination.bucket",
        message: expect.stringContaining(
          "the backup bucket 'backups' has versioning off (stackport:storage.buckets.backups.versioning: false)",
        ),
      },
    ]);
    expect(
      checkBackups(
        context(parse({ destination: { kind: "bucket" } }), {
          storage: { on: "home", clientImage: MC_IMAGE, buckets: { backups: { versioning: true } } },
        }),
      ),
    ).toEqual([]);
  });

  it("refuses a pg_dump image older than the server", () => {
    expect(keysOf(context(parse({ image: "postgres:16.4" })))).toEqual(["stackport:backups.image"]);
    expect(keysOf(context(parse({ image: "postgres:17.2" })))).toEqual([]);
  });
});

/** The resolved tier without the parts the program maps itself (the archive volume, the named secrets). */
function withoutPitr(resolved: ReturnType<typeof resolveBackups>) {
  const rest: Partial<typeof resolved> = { ...resolved };
  delete rest.wal;
  delete rest.offHost;
  delete rest.offHostSecrets;
  return rest as Omit<typeof resolved, "wal" | "offHost" | "offHostSecrets">;
}

const storageConnection = (): StorageConnection => ({
  endpoint: pulumi.output("http://storage:9000"),
  region: pulumi.output("us-east-1"),
  buckets: { raw: pulumi.output("raw"), backups: pulumi.output("backups") },
  accessKeyId: pulumi.secret("stackport-root"),
  secretAccessKey: pulumi.secret("storage-secret"),
  forcePathStyle: true,
});

const args = (raw: Record<string, unknown>, extra: Partial<DockerBackupsArgs> = {}): DockerBackupsArgs => ({
  ...withoutPitr(resolveBackups(parse(raw), { image: DATABASE_IMAGE }, { clientImage: MC_IMAGE })),
  // Only built when the test does not bring its own: a DockerTarget needs the mock runtime.
  placement: extra.placement ?? testPlacement(),
  safety: { protect: true, retainOnDelete: true },
  database: {
    name: "platform",
    host: "database",
    port: 5432,
    backup: { user: "db_backup", password: pulumi.secret("db-backup-secret") },
    restore: { user: "postgres", password: pulumi.secret("db-superuser-secret") },
  },
  ...extra,
});

describe("DockerBackups", () => {
  it.each([false, true])(
    "registers the runner, the drill and the metrics endpoint on a protected volume (preview=%s)",
    async (preview) => {
      const { recorder } = await record(() => new DockerBackups("backups", args({ intervalHours: 6 })), {
        preview,
      });
      expect(one(recorder, "backups").type).toBe("stackport:docker:Backups");
      const children = recorder.resources
        .filter((r) => r.parent === "backups")
        .map((r) => `${r.type} ${r.name}`);
      expect(children.sort()).toEqual(
        [
          "docker:index/container:Container backups-runner",
          "docker:index/container:Container backups-drill",
          "docker:index/container:Container backups-metrics",
          "docker:index/remoteImage:RemoteImage backups-image",
          "docker:index/volume:Volume backups-data",
        ].sort(),
      );

      const volume = one(recorder, "backups-data");
      expect([volume.protect, volume.retainOnDelete]).toEqual([true, true]);
      expect(volume.inputs["name"]).toBe("test-backups-data");

      const runner = one(recorder, "backups-runner");
      expect(runner.provider).toBe("test-target-docker");
      expect(runner.inputs["image"]).toBe(DATABASE_IMAGE);
      // PGPASSWORD is secret, so the whole envs list is masked: the password never reaches the plan.
      expect(runner.inputs["envs"]).toBe("[secret]");
      expect(JSON.stringify(recorder.resources)).not.toContain("db-superuser-secret");
      expect(JSON.stringify(recorder.resources)).not.toContain("db-backup-secret");
      expect(runner.inputs).toMatchObject({
        entrypoints: ["/bin/sh"],
        command: [BACKUP_SCRIPT_PATH],
        restart: "unless-stopped",
        memory: 512,
        volumes: [{ volumeName: "test-backups-data", containerPath: "/backups" }],
        networksAdvanced: [{ name: "test-backend" }],
        healthcheck: { tests: ["CMD", "/bin/sh", BACKUP_SCRIPT_PATH, "--check"] },
      });
      expect(runner.inputs["ports"] ?? []).toEqual([]);
      expect(runner.inputs["labels"]).toEqual(
        expect.arrayContaining([
          { label: "stackport.tier", value: "backups" },
          { label: "stackport.role", value: "runner" },
        ]),
      );
      const uploads = runner.inputs["uploads"] as { file: string; content: string }[];
      expect(uploads.map((u) => u.file)).toEqual([BACKUP_SCRIPT_PATH]);
      // The uploaded loop is the one rendered for this config: every 6 h, 14 days.
      expect(uploads[0]!.content).toBe(
        renderBackupScript({ database: "platform", retention: { days: 14 }, intervalSeconds: 6 * 3600 }),
      );

      // The drill holds the restore tool (and the superuser login), writes its result next to the dumps.
      const drill = one(recorder, "backups-drill");
      expect(drill.inputs["envs"]).toBe("[secret]");
      expect(drill.inputs).toMatchObject({
        name: "test-backups-drill",
        image: DATABASE_IMAGE,
        command: [DRILL_SCRIPT_PATH],
        restart: "unless-stopped",
        volumes: [{ volumeName: "test-backups-data", containerPath: "/backups" }],
        networksAdvanced: [{ name: "test-backend" }],
      });
      const drillUploads = drill.inputs["uploads"] as { file: string; content: string }[];
      expect(drillUploads.map((u) => u.file)).toEqual([DRILL_SCRIPT_PATH, RESTORE_SCRIPT_PATH]);
      expect(drillUploads[0]!.content).toBe(
        renderDrillScript({ database: "platform", intervalSeconds: 24 * 3600 }),
      );

      // The metrics endpoint: no login, the volume read-only, reachable on the backend network as backups-metrics.
      const metrics = one(recorder, "backups-metrics");
      expect(metrics.inputs).toMatchObject({
        name: "test-backups-metrics",
        image: DATABASE_IMAGE,
        entrypoints: ["perl"],
        command: [METRICS_SERVER_PATH],
        envs: ["BACKUP_DIR=/backups", `METRICS_PORT=${METRICS_PORT}`],
        volumes: [{ volumeName: "test-backups-data", containerPath: "/backups", readOnly: true }],
        networksAdvanced: [{ name: "test-backend", aliases: [METRICS_HOST] }],
      });
      expect(metrics.inputs["ports"] ?? []).toEqual([]);
      expect(backupsScrapeTargets()).toEqual([
        { job: "backups", tier: "backups", addresses: [`${METRICS_HOST}:${METRICS_PORT}`] },
      ]);
    },
  );

  it("keeps the volume unprotected when the stack's safety says so (local)", async () => {
    const { recorder } = await record(
      () => new DockerBackups("b", args({}, { safety: { protect: false, retainOnDelete: false } })),
    );
    const volume = one(recorder, "b-data");
    expect([volume.protect, volume.retainOnDelete]).toEqual([false, false]);
  });

  it("adds a read-only mc sync container for a bucket destination; the volume stays protected as staging", async () => {
    const { recorder } = await record(
      () =>
        new DockerBackups(
          "backups",
          args({ destination: { kind: "bucket" } }, { storage: storageConnection() }),
        ),
    );
    const volume = one(recorder, "backups-data");
    expect([volume.protect, volume.retainOnDelete]).toEqual([true, true]);
    expect(one(recorder, "backups-client-image").inputs["name"]).toBe(MC_IMAGE);
    const sync = one(recorder, "backups-sync");
    expect(sync.parent).toBe("backups");
    expect(sync.inputs["image"]).toBe(MC_IMAGE);
    // MC_HOST_storage carries the storage credentials: masked.
    expect(sync.inputs["envs"]).toBe("[secret]");
    expect(JSON.stringify(recorder.resources)).not.toContain("storage-secret");
    expect(sync.inputs).toMatchObject({
      command: [SYNC_SCRIPT_PATH],
      restart: "unless-stopped",
      volumes: [{ volumeName: "test-backups-data", containerPath: "/backups", readOnly: true }],
    });
    const script = (sync.inputs["uploads"] as { content: string }[])[0]!.content;
    expect(script).toBe(renderBucketSyncScript());
    expect(script).not.toMatch(/--remove|--overwrite/);
  });

  it("hands the runner the backup role, the drill the superuser and the sync the storage credentials, as secrets", async () => {
    const { result } = await record(
      () =>
        new DockerBackups(
          "backups",
          args({ destination: { kind: "bucket" } }, { storage: storageConnection() }),
        ),
    );
    const runnerEnvs = result.nodes.runner.envs as pulumi.Output<string[]>;
    expect(await isSecret(runnerEnvs)).toBe(true);
    expect(await valueOf(runnerEnvs)).toEqual([
      "PGHOST=database",
      "PGPORT=5432",
      "PGUSER=db_backup",
      "PGPASSWORD=db-backup-secret",
      "PGDATABASE=platform",
      "BACKUP_DIR=/backups",
    ]);
    const drillEnvs = result.nodes.drill.envs as pulumi.Output<string[]>;
    expect(await isSecret(drillEnvs)).toBe(true);
    expect(await valueOf(drillEnvs)).toEqual([
      "PGHOST=database",
      "PGPORT=5432",
      "PGUSER=postgres",
      "PGPASSWORD=db-superuser-secret",
      "PGDATABASE=platform",
      "BACKUP_DIR=/backups",
    ]);
    const syncEnvs = result.nodes.sync!.envs as pulumi.Output<string[]>;
    expect(await isSecret(syncEnvs)).toBe(true);
    expect(await valueOf(syncEnvs)).toEqual([
      "MC_HOST_storage=http://stackport-root:storage-secret@storage:9000",
      "BACKUP_BUCKET=backups",
      "BACKUP_DIR=/backups",
    ]);
    expect(await valueOf(result.volumeName)).toBe("test-backups-data");
  });

  it("refuses a bucket destination without the storage connection, or with a bucket it lacks, before registering anything", () => {
    // No mock runtime: getting past validation would fail differently.
    const bad = {
      ...args({ destination: { kind: "bucket", bucket: "backups" } }, { placement: {} as DockerPlacement }),
    };
    let error: unknown;
    try {
      new DockerBackups("b", bad);
    } catch (e) {
      error = e;
    }
    expect(isArgsError(error)).toBe(true);
    expect(String(error)).toContain("storage: a bucket destination needs a storage connection");
    expect(
      validateDockerBackupsArgs({ destination: { kind: "bucket", bucket: "dumps" } }, ["raw", "backups"]),
    ).toEqual([
      {
        path: "destination.bucket",
        message: "the storage connection has no bucket 'dumps' (it has: raw, backups)",
      },
    ]);
    expect(
      validateDockerBackupsArgs({ image: "postgres:latest", retention: { count: 0 } }, undefined),
    ).toEqual([
      { path: "image", message: expect.stringContaining("PostgreSQL major version") },
      { path: "retention.count", message: "must be a whole number of dumps from 1 to 1000" },
    ]);
  });
});

describe("point-in-time recovery and the off-host copy", () => {
  const SECRETS = {
    "restic-key-id": "AKIAOFFHOST",
    "restic-key": "offhost-key-secret",
    "restic-pw": "restic-pw-secret",
  };

  it("parses wal and offHost with their defaults and resolves the named secrets' values", () => {
    const cfg = parse({
      wal: {},
      offHost: {
        repository: "s3:https://s3.example.net/offsite/stackport",
        credentials: { accessKeyId: "restic-key-id", secretAccessKey: "restic-key" },
        password: "restic-pw",
        objects: true,
      },
    });
    expect(checkBackups(context(cfg, { secrets: SECRETS }))).toEqual([]);
    const resolved = resolveBackups(cfg, { image: DATABASE_IMAGE }, { clientImage: MC_IMAGE }, SECRETS);
    expect(resolved.wal).toEqual({
      baseBackupIntervalHours: 24,
      retentionDays: 7,
      archiveTimeoutSeconds: 300,
    });
    expect(resolved.offHost).toEqual({
      repository: "s3:https://s3.example.net/offsite/stackport",
      intervalHours: 24,
      retentionDays: 30,
      objects: true,
      image: "restic/restic:0.18.1",
    });
    expect(resolved.offHostSecrets).toEqual({
      password: "restic-pw-secret",
      accessKeyId: "AKIAOFFHOST",
      secretAccessKey: "offhost-key-secret",
    });
    // The object mirror needs mc even without a bucket destination.
    expect(resolved.clientImage).toBe(MC_IMAGE);
  });

  it("refuses unknown secret names, an s3 repository without credentials, objects without storage, a bad repository", () => {
    const s3 = parse({ offHost: { repository: "s3:https://s3.example.net/offsite", password: "nope" } });
    expect(checkBackups(context(s3, { secrets: SECRETS })).map((i) => i.key)).toEqual([
      "stackport:backups.offHost.password",
      "stackport:backups.offHost.credentials",
    ]);
    const objects = parse({ offHost: { repository: "/mnt/drive/stackport", objects: true } });
    const noStorage = { ...context(objects), storage: undefined };
    expect(checkBackups(noStorage).map((i) => i.key)).toEqual(["stackport:backups.offHost.objects"]);
    expect(() => parse({ offHost: { repository: "relative/path" } })).toThrow(/s3:https/);
    expect(() => parse({ wal: { retentionDays: 0 } })).toThrow();
  });

  it("adds the base-backup runner and the restic copy, with every credential kept secret", async () => {
    const { recorder, result } = await record(
      () =>
        new DockerBackups(
          "backups",
          args(
            {},
            {
              wal: { archiveVolume: "test-database-wal-archive", retentionDays: 14 },
              offHost: { repository: "/mnt/backup-drive/stackport", objects: true },
              objectsStorage: storageConnection(),
            },
          ),
        ),
    );
    const wal = one(recorder, "backups-wal");
    expect(wal.inputs["envs"]).toBe("[secret]");
    expect(wal.inputs).toMatchObject({
      command: [BASE_BACKUP_SCRIPT_PATH],
      volumes: [
        { volumeName: "test-backups-data", containerPath: "/backups" },
        { volumeName: "test-database-wal-archive", containerPath: "/wal-archive" },
      ],
    });
    const walUploads = wal.inputs["uploads"] as { file: string; content: string }[];
    expect(walUploads.map((u) => u.file)).toEqual([BASE_BACKUP_SCRIPT_PATH, PITR_RESTORE_SCRIPT_PATH]);
    expect(walUploads[0]!.content).toBe(
      renderBaseBackupScript({ intervalSeconds: 86400, retentionDays: 14, archiveMaxLagSeconds: 900 }),
    );
    const off = one(recorder, "backups-offhost");
    expect(off.inputs["envs"]).toBe("[secret]");
    expect(off.inputs).toMatchObject({
      image: "restic/restic:0.18.1",
      entrypoints: ["/bin/sh"],
      command: [OFFHOST_SCRIPT_PATH],
      volumes: [
        { volumeName: "test-backups-data", containerPath: "/backups" },
        { volumeName: "test-database-wal-archive", containerPath: "/wal-archive", readOnly: true },
        { volumeName: "test-backups-objects", containerPath: "/objects", readOnly: true },
        { hostPath: "/mnt/backup-drive/stackport", containerPath: "/repository" },
      ],
    });
    const offScript = (off.inputs["uploads"] as { content: string }[])[0]!.content;
    expect(offScript).toContain("'/backups' '/wal-archive' '/objects'");
    // The mirror copy is not a backup on its own: never protected.
    const objectsVolume = one(recorder, "backups-objects-data");
    expect([objectsVolume.protect, objectsVolume.retainOnDelete]).toEqual([false, false]);
    expect(one(recorder, "backups-objects").inputs["envs"]).toBe("[secret]");
    // The generated repository password: a secret output, and in no plan.
    expect(await isSecret(result.offHostPassword!)).toBe(true);
    const password = await valueOf(result.offHostPassword!);
    expect(password).toBe("mock-password-backups-offhost-password");
    expect(one(recorder, "backups-offhost-password").inputs).toMatchObject({ length: 48, special: false });
    expect(JSON.stringify(recorder.resources)).not.toContain(password);
    const envs = await valueOf(result.nodes.offHost!.container.envs as pulumi.Output<string[]>);
    expect(envs).toEqual([
      "RESTIC_REPOSITORY=/repository",
      `RESTIC_PASSWORD=${password}`,
      "BACKUP_DIR=/backups",
    ]);
  });

  it("passes an s3 repository and its own credentials through the environment only", async () => {
    const { recorder, result } = await record(
      () =>
        new DockerBackups(
          "backups",
          args(
            {},
            {
              offHost: { repository: "s3:https://s3.example.net/offsite/stackport" },
              offHostPassword: pulumi.secret("restic-pw-secret"),
              offHostCredentials: {
                accessKeyId: pulumi.secret("AKIAOFFHOST"),
                secretAccessKey: pulumi.secret("offhost-key-secret"),
              },
            },
          ),
        ),
    );
    const plan = JSON.stringify(recorder.resources);
    for (const secret of ["restic-pw-secret", "AKIAOFFHOST", "offhost-key-secret"])
      expect(plan).not.toContain(secret);
    expect(recorder.resources.some((r) => r.name === "backups-offhost-password")).toBe(false);
    const envs = await valueOf(result.nodes.offHost!.container.envs as pulumi.Output<string[]>);
    expect(envs).toEqual([
      "RESTIC_REPOSITORY=s3:https://s3.example.net/offsite/stackport",
      "RESTIC_PASSWORD=restic-pw-secret",
      "AWS_ACCESS_KEY_ID=AKIAOFFHOST",
      "AWS_SECRET_ACCESS_KEY=offhost-key-secret",
      "BACKUP_DIR=/backups",
    ]);
    expect(one(recorder, "backups-offhost").inputs["volumes"]).toEqual([
      { volumeName: "test-backups-data", containerPath: "/backups" },
    ]);
  });

  it("refuses bad wal and offHost args before registering anything", () => {
    const bad = () =>
      new DockerBackups(
        "backups",
        args(
          {},
          {
            placement: {} as DockerPlacement,
            wal: { archiveVolume: "v", retentionDays: 0 },
            offHost: { repository: "s3:https://s3.example.net/offsite", objects: true },
          },
        ),
      );
    try {
      bad();
      throw new Error("expected an ArgsError");
    } catch (e) {
      expect(isArgsError(e)).toBe(true);
      const message = String(e);
      expect(message).toContain("wal.retentionDays");
      expect(message).toContain("objectsStorage");
      expect(message).toContain("offHostCredentials");
    }
  });
});
