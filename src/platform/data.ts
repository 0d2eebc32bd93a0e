/**
 * The data tiers: object storage and the database (with its backups beside it on Docker), each on its target and,
 * while a cutover is in progress, on the destination too, with the copy job between the two sides.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerBackups } from "../../components/backups/dockerBackups";
import type { DatabaseConnection, RoleConnection } from "../../components/database/contract";
import { DockerDatabase } from "../../components/database/dockerDatabase";
import { DATABASE_HOST, DATABASE_PORT, SUPERUSER } from "../../components/database/settings";
import type { DatabaseAlarmInputs } from "../../components/observability/contract";
import { DockerObjectStorage } from "../../components/storage/dockerObjectStorage";
import type { StorageConnection } from "../../components/storage/contract";
import type { ObjectMirrorSide } from "../../components/storage/objectMirror";
import { tierComponentName, tierPlacements } from "../config/cutover";
import { consumedSide } from "../config/parallelRun";
import { configKey } from "../config/keys";
import { rdsDatabaseArgs, dockerDatabaseArgs } from "../config/tiers/database";
import { s3StorageArgs, dockerStorageArgs } from "../config/tiers/storage";
import type { AwsTargetConfig } from "../config/tiers/targets";
import type { ResolvedConfig } from "../config";
import { type BuildContext, type ByKind, awsComponents, onKind, primaryOptions } from "./context";
import { type DatabaseCutoverSide, type StorageSide, databaseCopyJob, objectMirrorJob } from "./cutoverJobs";
import { STORAGE_CONSUMER, storageConsumers } from "./storageConsumers";

export interface BuiltStorage {
  /** Administration only (the root user on Docker): consumers use `connectionFor`. */
  connection: StorageConnection;
  /** The credential of one consumer (`STORAGE_CONSUMER`): its own user on Docker, the shared connection on AWS. */
  connectionFor: (consumer: string) => StorageConnection;
  resource: pulumi.ComponentResource;
  /** What a consumer waits for before using its credential: the bootstrap that creates the users (Docker). */
  ready: pulumi.Resource;
  /** By Docker target: the bearer token for the metrics of the MinIO on that target (for Prometheus there). */
  metricsTokens: Record<string, pulumi.Output<string>>;
  /** The S3 access-log bucket, for the ALB's logs (AWS only). */
  accessLogsBucket?: pulumi.Output<string>;
}

export interface BuiltDatabase {
  connection: DatabaseConnection;
  resource: pulumi.ComponentResource;
  /** The PostGIS bootstrap job (Docker only): what the basemap's import waits for. */
  bootstrap?: pulumi.Resource;
  /** What CloudWatch watches (RDS only). */
  metrics?: DatabaseAlarmInputs;
  /** The `monitoring` role's login (Docker, `monitoringUser`): what the PostgreSQL exporter connects as. */
  monitoring?: RoleConnection;
}

type SideOf<Built> = { built: Built; side: StorageSide };

const STORAGE: ByKind<
  [BuildContext, string, pulumi.ComponentResourceOptions, string],
  SideOf<BuiltStorage>
> = {
  docker: (where, { cfg }, name, opts, target) => {
    const consumers = storageConsumers(cfg, target);
    const s = new DockerObjectStorage(
      name,
      { ...dockerStorageArgs(cfg.storage!, cfg.safety), consumers, placement: where.placement },
      opts,
    );
    const built = {
      connection: s.connection,
      connectionFor: (c: string) => s.connectionFor(c),
      resource: s,
      ready: s.nodes.bootstrap,
      metricsTokens: { [target]: s.metricsToken },
    };
    // The side's connection is what the cutover's object mirror uses: its own user when it runs.
    const mirror =
      STORAGE_CONSUMER.mirror in consumers ? s.connectionFor(STORAGE_CONSUMER.mirror) : s.connection;
    return { built, side: { connection: mirror, resource: s, kind: "docker", placement: where.placement } };
  },
  aws: (where, { cfg }, name, opts, target) => {
    const args = s3StorageArgs(cfg.storage!, cfg.safety);
    // The replica region's provider assumes the same role as the target's.
    const assumeRoleArn = (cfg.targets[target] as AwsTargetConfig).assumeRoleArn;
    if (args.replication && assumeRoleArn) args.replication = { ...args.replication, assumeRoleArn };
    const s = new (awsComponents().S3Storage)(name, { ...args, placement: where.placement }, opts);
    const built = {
      connection: s.connection,
      // On AWS consumers authenticate with their own role; the connection carries no credential.
      connectionFor: () => s.connection,
      resource: s,
      ready: s,
      metricsTokens: {},
      accessLogsBucket: s.accessLogsBucket,
    };
    return {
      built,
      side: {
        connection: s.connection,
        resource: s,
        kind: "aws",
        placement: where.placement,
        bucketArns: s.bucketArns,
      },
    };
  },
};

/**
 * The storage tier, on every target its cutover phase needs; returns the side its consumers use (`usedSide`). An
 * external side is only a connection: nothing is created there.
 */
export function buildStorage(ctx: BuildContext): BuiltStorage | undefined {
  const { cfg } = ctx;
  if (!cfg.storage) return undefined;
  const placement = tierPlacements(cfg).storage!;
  const used = usedSide(cfg, "storage");
  const sides: Record<string, StorageSide> = {};
  let serving: BuiltStorage | undefined;
  const metricsTokens: Record<string, pulumi.Output<string>> = {};
  for (const target of placement.targets) {
    if (cfg.targets[target]?.kind === "external") {
      sides[target] = { kind: "external", connection: externalStorage(cfg) };
      continue;
    }
    const name = tierComponentName("storage", cfg.storage.on, target);
    const opts = primaryOptions("storage", cfg.storage.on, target);
    const { built, side } = onKind(STORAGE, ctx.placeOn(target), ctx, name, opts, target);
    sides[target] = side;
    Object.assign(metricsTokens, built.metricsTokens);
    if (target === used) serving = built;
  }
  if (serving) serving.metricsTokens = metricsTokens;
  const cutover = cfg.cutover?.storage;
  if (cutover && (placement.mirror || placement.copy === "final")) {
    const mirror = objectMirrorJob(placement.mirror ? "continuous" : "final", cfg.storage, cutover, sides);
    if (mirror.verified) ctx.extraOutputs["storageCutoverVerified"] = mirror.verified;
  }
  return serving;
}

interface DatabaseSide {
  ctx: BuildContext;
  name: string;
  target: string;
  serving: boolean;
  /** Backed up: the side consumers use (the serving side, or the copy while an external source serves). */
  backedUp: boolean;
  opts: pulumi.ComponentResourceOptions;
  storage: BuiltStorage | undefined;
}

const DATABASE: ByKind<[DatabaseSide], BuiltDatabase> = {
  docker: (where, { ctx, name, serving, backedUp, opts, storage }) => {
    const { cfg } = ctx;
    const db = new DockerDatabase(
      name,
      {
        ...dockerDatabaseArgs(cfg.database!, cfg.safety, {
          runMigrations: serving,
          backupUser: backedUp && cfg.backups !== undefined,
        }),
        // The archive the backups' base-backup runner prunes and restores from: only where it runs.
        ...(backedUp &&
          cfg.backups?.wal && {
            walArchive: { archiveTimeoutSeconds: cfg.backups.wal.archiveTimeoutSeconds },
          }),
        placement: where.placement,
      },
      opts,
    );
    // The runner lives next to the database: it reaches it over this target's backend network.
    if (backedUp && cfg.backups) {
      const { wal, offHost, offHostSecrets, ...backups } = cfg.backups;
      const secret = (value: string | undefined) => value !== undefined && pulumi.secret(value);
      const password = secret(offHostSecrets?.password);
      const [keyId, key] = [secret(offHostSecrets?.accessKeyId), secret(offHostSecrets?.secretAccessKey)];
      const b = new DockerBackups("backups", {
        ...backups,
        ...(wal && {
          wal: {
            archiveVolume: db.walArchiveVolume!,
            baseBackupIntervalHours: wal.baseBackupIntervalHours,
            retentionDays: wal.retentionDays,
          },
        }),
        ...(offHost && { offHost }),
        ...(password && { offHostPassword: password }),
        ...(keyId && key && { offHostCredentials: { accessKeyId: keyId, secretAccessKey: key } }),
        ...(storage &&
          offHost?.objects && { objectsStorage: storage.connectionFor(STORAGE_CONSUMER.backupObjects) }),
        placement: where.placement,
        safety: cfg.safety,
        database: {
          name: cfg.database!.name,
          host: DATABASE_HOST,
          port: DATABASE_PORT,
          // pg_dump reads as the read-only backup role; only the drill and the restore tool get the superuser.
          backup: { user: db.backup!.user, password: db.backup!.password },
          restore: { user: SUPERUSER, password: db.nodes.superuserPassword.result },
          dependsOn: [db.nodes.bootstrap],
        },
        ...(storage &&
          cfg.backups.destination.kind === "bucket" && {
            storage: storage.connectionFor(STORAGE_CONSUMER.backups),
            storageDependsOn: [storage.ready],
          }),
        ...(storage && offHost?.objects && { storageDependsOn: [storage.ready] }),
      });
      // The one key to the off-host copy: `pulumi stack output --show-secrets offHostPassword` (keep a copy away).
      if (b.offHostPassword && !password) ctx.extraOutputs["offHostPassword"] = b.offHostPassword;
    }
    return {
      connection: db.connection,
      resource: db,
      bootstrap: db.nodes.bootstrap,
      ...(db.monitoring && { monitoring: db.monitoring }),
    };
  },
  aws: (where, { ctx, name, target, opts }) => {
    const { cfg } = ctx;
    const awsTarget = cfg.targets[target] as AwsTargetConfig;
    const rds = new (awsComponents().RdsDatabase)(
      name,
      {
        ...rdsDatabaseArgs(cfg.database!, {
          environment: cfg.environment,
          safety: cfg.safety,
          logRetentionDays: ctx.logRetentionDays,
          ...(awsTarget.assumeRoleArn && { assumeRoleArn: awsTarget.assumeRoleArn }),
        }),
        placement: where.placement,
      },
      opts,
    );
    return { connection: rds.connection, resource: rds, metrics: rds.metrics };
  },
};

/**
 * The database tier (and backups), on every target its cutover phase needs; returns the side its consumers use
 * (`usedSide`). An external side is only its URL: nothing is created there.
 */
export function buildDatabase(
  ctx: BuildContext,
  storage: BuiltStorage | undefined,
): BuiltDatabase | undefined {
  const { cfg } = ctx;
  if (!cfg.database) return undefined;
  const placement = tierPlacements(cfg).database!;
  const used = usedSide(cfg, "database");
  const sides: Record<string, DatabaseCutoverSide> = {};
  const built: pulumi.Resource[] = [];
  let serving: BuiltDatabase | undefined;
  for (const target of placement.targets) {
    const external = cfg.database.external;
    if (cfg.targets[target]?.kind === "external" && external) {
      const key = configKey(["secrets", external.urlSecret]);
      sides[target] = { kind: "external", url: pulumi.secret(secretValue(cfg, external.urlSecret)), key };
      continue;
    }
    const side: DatabaseSide = {
      ctx,
      name: tierComponentName("database", cfg.database.on, target),
      target,
      serving: target === placement.serving,
      backedUp: target === used,
      opts: primaryOptions("database", cfg.database.on, target),
      storage,
    };
    const db = onKind(DATABASE, ctx.placeOn(target), side);
    sides[target] = { kind: "built", connection: db.connection };
    built.push(db.resource);
    if (target === used) serving = db;
  }
  const cutover = cfg.cutover?.database;
  if (cutover && placement.copy !== "none")
    databaseCopyJob(placement.copy, cfg.database.name, cutover, sides, built);
  return serving;
}

/**
 * The side of a cutover tier its consumers use: the serving side, or the `to` side's copy in a parallel run (the
 * config checks keep every consumer on one side). A side stackport does not run (an external source) has no
 * consumers in the program: the side it builds, the `to` side, stands in for outputs and observability.
 */
function usedSide(cfg: ResolvedConfig, tier: "storage" | "database"): string {
  const placed = cfg[tier]!;
  const cutover = cfg.cutover?.[tier];
  const consumerOn = cfg.ingestion?.on ?? cfg.basemap?.on;
  const side = consumedSide(placed.on, cutover, consumerOn);
  return cfg.targets[side]?.kind === "external" && cutover ? cutover.to : side;
}

/** A stack secret's value (`stackport:secrets`); the config checks made sure it exists. */
function secretValue(cfg: ResolvedConfig, name: string): string {
  const value = cfg.secrets?.[name];
  if (value === undefined) throw new Error(`internal: stackport:secrets.${name} is not set`);
  return value;
}

/** An external object store as the object mirror reads it: endpoint, credentials from stack secrets, bucket names. */
function externalStorage(cfg: ResolvedConfig): ObjectMirrorSide {
  const external = cfg.storage!.external!;
  const names = external.bucketNames ?? {};
  return {
    endpoint: external.endpoint.replace(/\/$/, ""),
    accessKeyId: pulumi.secret(secretValue(cfg, external.accessKeyIdSecret)),
    secretAccessKey: pulumi.secret(secretValue(cfg, external.secretAccessKeySecret)),
    buckets: Object.fromEntries(Object.keys(cfg.storage!.buckets).map((k) => [k, names[k] ?? k])),
  };
}
