/**
 * The jobs a cutover runs beside the tier it moves (docs/runbooks/cutover-*.md): the database copy from the machine
 * doing `pulumi up`, and the object mirror on the Docker side. The phase decides which (src/config/phases.ts).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the S3 credentials are required lazily (no @pulumi/aws on Docker-only stacks) */
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseConnection } from "../../components/database/contract";
import type { StorageConnection } from "../../components/storage/contract";
import { ObjectMirror, type ObjectMirrorSide } from "../../components/storage/objectMirror";
import type { ResolvedStorage } from "../config";
import type { DatabaseCutover, StorageCutover } from "../config/tiers/cutover";
import { OFFLINE_SECRET_PLACEHOLDER } from "../config/keys";
import { renderCutoverCopyCommand } from "./cutover/copyCommand";
import { type PostgresUrlParts, externalSourceEnvironment, parsePostgresUrl } from "./cutover/externalSource";
import { objectMirrorPlan } from "../config/phases";
import type { DockerPlacement } from "../../components/shared/placement";
import type { AwsPlacement } from "../../components/shared/placement";

/** One side of a database cutover: a database stackport built, or an external one known by its URL (a secret). */
export type DatabaseCutoverSide =
  | { kind: "built"; connection: DatabaseConnection }
  | { kind: "external"; url: pulumi.Input<string>; key: string };

/**
 * The cutover's database copy, run by the machine doing `pulumi up` (it reaches both sides through
 * `cutover.database.access`), as `db_admin` on both sides. The final copy is verified; a difference fails the
 * update. Named per copy kind so the initial copy does not re-run in later phases. From an external source, the
 * source is its URL's user and database, its grants are not copied, and the target's roles get the copied schemas.
 */
export function databaseCopyJob(
  kind: "initial" | "final",
  databaseName: string,
  cutover: DatabaseCutover,
  sides: Record<string, DatabaseCutoverSide>,
  dependsOn: pulumi.Resource[],
): void {
  const command = require("@pulumi/command") as typeof import("@pulumi/command");
  const from = sides[cutover.from]!;
  const to = sides[cutover.to]!;
  if (to.kind !== "built")
    throw new Error("internal: a database cutover moves onto a database stackport builds");
  const access = cutover.access!;
  const target = {
    TARGET_HOST: access.target.host,
    TARGET_PORT: String(access.target.port),
    TARGET_USER: "db_admin",
    TARGET_DB: databaseName,
    TARGET_PASSWORD: to.connection.roles.db_admin.password,
  };
  const schemas = cutover.schemas && { SCHEMAS: cutover.schemas.join(" ") };
  const environment =
    from.kind === "external"
      ? pulumi.secret(
          pulumi
            .all([pulumi.output(from.url), to.connection.roles.db_admin.password])
            .apply(([url, password]) => ({
              ...externalSourceEnvironment(sourceParts(url, from.key)),
              ...target,
              TARGET_PASSWORD: password,
              ...schemas,
              READER_ROLES: "app_reader",
              WRITER_ROLES: "app_writer",
            })),
        )
      : {
          SOURCE_HOST: access.source!.host,
          SOURCE_PORT: String(access.source!.port),
          SOURCE_USER: "db_admin",
          SOURCE_DB: databaseName,
          SOURCE_PASSWORD: from.connection.roles.db_admin.password,
          ...target,
          ...schemas,
        };
  new command.local.Command(
    `database-cutover-${kind}-copy`,
    {
      create: renderCutoverCopyCommand(kind, from.kind === "external" ? { sourceGrants: "drop" } : {}),
      environment,
      logging: "stderr",
    },
    { dependsOn },
  );
}

/** The source URL's parts; offline synthesis has no secret to split, only its placeholder. */
function sourceParts(url: string, key: string): PostgresUrlParts {
  if (url === OFFLINE_SECRET_PLACEHOLDER)
    return { host: "offline", port: 5432, user: "offline", password: url, database: "offline" };
  return parsePostgresUrl(url, key);
}

/** The storage tier on one side of a cutover: as stackport built it, or an external S3 API it only reads. */
export type StorageSide =
  | ({
      connection: StorageConnection;
      resource: pulumi.ComponentResource;
    } & (
      | { kind: "docker"; placement: DockerPlacement }
      | { kind: "aws"; placement: AwsPlacement; bucketArns: Record<string, string> }
    ))
  | { kind: "external"; connection: ObjectMirrorSide; resource?: undefined };

/**
 * The cutover's object mirror, on the Docker side (`objectMirrorPlan`): `continuous` while the phase mirrors,
 * `final` in backfill (last mirror with deletions, then verification — a difference fails the update). An S3 side
 * gets an IAM user and key scoped to its buckets, as a child of that side's storage component, for as long as
 * the mirror exists. Named per mode so the final job does not replace the continuous container in place.
 */
export function objectMirrorJob(
  mode: "continuous" | "final",
  config: ResolvedStorage,
  cutover: StorageCutover,
  sides: Record<string, StorageSide>,
): ObjectMirror {
  const plan = objectMirrorPlan(cutover, (t) => sides[t]!.kind);
  // checks.ts reports the same problems with their config keys before anything is registered.
  if ("problem" in plan) throw new Error(`internal: stackport:cutover.storage.${plan.key}: ${plan.problem}`);
  const host = sides[plan.runsOn]!;
  if (host.kind !== "docker") throw new Error(`internal: the object mirror must run on a Docker target`);

  const side = (role: "source" | "target"): ObjectMirrorSide => {
    const s = sides[role === "source" ? cutover.from : cutover.to]!;
    const endpoint =
      role === plan.remote
        ? (cutover.mirror?.remoteEndpoint ?? s.connection.endpoint)
        : s.connection.endpoint;
    const { buckets, accessKeyId, secretAccessKey } = s.connection;
    if (s.kind !== "aws") return { endpoint, buckets, accessKeyId, secretAccessKey };
    const { s3MirrorCredentials } =
      require("../../components/storage/s3MirrorCredentials") as typeof import("../../components/storage/s3MirrorCredentials");
    const credentials = s3MirrorCredentials("storage-cutover-mirror", s.resource, {
      placement: s.placement,
      bucketArns: Object.values(s.bucketArns),
      writable: role === "target",
      ...(config.aws.kmsKeyArn && { kmsKeyArn: config.aws.kmsKeyArn }),
    });
    return { endpoint, buckets, ...credentials };
  };

  return new ObjectMirror(`storage-cutover-${mode === "final" ? "final-copy" : "mirror"}`, {
    placement: host.placement,
    image: config.clientImage,
    source: side("source"),
    target: side("target"),
    mode,
    ...(cutover.mirror?.intervalSeconds && { intervalSeconds: cutover.mirror.intervalSeconds }),
    dependsOn: Object.values(sides).flatMap((s) => (s.resource ? [s.resource] : [])),
  });
}
