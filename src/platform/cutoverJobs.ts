/**
 * The jobs a cutover runs beside the tier it moves (docs/runbooks/cutover-*.md): the database copy from the machine
 * doing `pulumi up`, and the object mirror on the Docker side. The phase decides which (src/config/phases.ts).
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the S3 credentials are required lazily (no @pulumi/aws on Docker-only stacks) */
import type * as pulumi from "@pulumi/pulumi";
import type { DatabaseConnection } from "../../components/database/contract";
import type { StorageConnection } from "../../components/storage/contract";
import { ObjectMirror, type ObjectMirrorSide } from "../../components/storage/objectMirror";
import type { ResolvedStorage } from "../config";
import type { DatabaseCutover, StorageCutover } from "../config/tiers/cutover";
import { renderCutoverCopyCommand } from "./cutover/copyCommand";
import { objectMirrorPlan } from "../config/phases";
import type { DockerPlacement } from "../../components/shared/placement";
import type { AwsPlacement } from "../../components/shared/placement";

/**
 * The cutover's database copy, run by the machine doing `pulumi up` (it reaches both sides through
 * `cutover.database.access`), as `db_admin` on both sides. The final copy is verified; a difference fails the
 * update. Named per copy kind so the initial copy does not re-run in later phases.
 */
export function databaseCopyJob(
  kind: "initial" | "final",
  databaseName: string,
  cutover: DatabaseCutover,
  sides: Record<string, DatabaseConnection>,
  dependsOn: pulumi.Resource[],
): void {
  const command = require("@pulumi/command") as typeof import("@pulumi/command");
  const source = sides[cutover.from]!.roles.db_admin;
  const target = sides[cutover.to]!.roles.db_admin;
  const access = cutover.access!;
  new command.local.Command(
    `database-cutover-${kind}-copy`,
    {
      create: renderCutoverCopyCommand(kind),
      environment: {
        SOURCE_HOST: access.source.host,
        SOURCE_PORT: String(access.source.port),
        SOURCE_USER: "db_admin",
        SOURCE_DB: databaseName,
        SOURCE_PASSWORD: source.password,
        TARGET_HOST: access.target.host,
        TARGET_PORT: String(access.target.port),
        TARGET_USER: "db_admin",
        TARGET_DB: databaseName,
        TARGET_PASSWORD: target.password,
      },
      logging: "stderr",
    },
    { dependsOn },
  );
}

/** The storage tier as built on one side of a cutover. */
export type StorageSide = {
  connection: StorageConnection;
  resource: pulumi.ComponentResource;
} & (
  | { kind: "docker"; placement: DockerPlacement }
  | { kind: "aws"; placement: AwsPlacement; bucketArns: Record<string, string> }
);

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
    if (s.kind === "docker") return { endpoint, buckets, accessKeyId, secretAccessKey };
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
    dependsOn: Object.values(sides).map((s) => s.resource),
  });
}
