import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Transform } from "../shared/component";
import { oneShotJob, passLoopContainer, pullImage } from "../shared/docker";
import { assertValidArgs } from "../shared/errors";
import type { DockerPlacement } from "../shared/placement";
import { mcHost } from "./contract";
import {
  type BucketPair,
  DEFAULT_MIRROR_INTERVAL_SECONDS,
  formatBucketPairs,
  renderObjectBackfillScript,
  renderObjectMirrorScript,
} from "./objectMirrorScripts";
import { DOCKER_STORAGE_DEFAULTS } from "./settings";

/** One side of the mirror: its S3 API as the mirror container reaches it, credentials and physical bucket names. */
export interface ObjectMirrorSide {
  /** The S3 API as the mirror container reaches it. @example "https://s3.eu-west-1.amazonaws.com" */
  endpoint: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
  /** Physical bucket names by stable key; the target has every key the source has. */
  buckets: Record<string, pulumi.Input<string>>;
}

export interface ObjectMirrorArgs {
  /** The Docker target the mirror runs on: it must reach both sides' S3 APIs. */
  placement: DockerPlacement;
  /** The `mc` image. @default "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z" */
  image?: string;
  source: ObjectMirrorSide;
  target: ObjectMirrorSide;
  /**
   * `continuous`: a container mirroring every bucket, pass after pass, never deleting (a cutover's `replicate` and
   * `freeze`). `final`: a job that mirrors deletions too, then verifies; its failure fails the update (`backfill`).
   */
  mode: "continuous" | "final";
  /** Seconds between two passes of the continuous mirror. @default 60 */
  intervalSeconds?: number;
  /** What must exist first, e.g. both sides' storage components (buckets created). @default [] */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** Per-child escape hatches: the mirror container or the final-copy job. @default none */
  transform?: { container?: Transform<docker.ContainerArgs> };
}

/** Memory for the `mc` container, in MB: it streams objects, it holds none. */
const MIRROR_MEMORY_MB = 256;
const MIRROR_SCRIPT_PATH = "/stackport/mirror.sh";

/**
 * Copies every bucket of one S3 API to another from a Docker host (the scripts: objectMirrorScripts.ts): a storage
 * cutover's object half, or any migration between S3-compatible stores. Both sides' URLs carry credentials, so the
 * whole environment is one secret.
 * @example
 * new ObjectMirror("uploads-to-s3", {
 *   placement: target.placement,
 *   mode: "continuous",
 *   source: { ...minio.connection, buckets: minio.connection.buckets },
 *   target: { endpoint: "https://s3.eu-west-1.amazonaws.com", accessKeyId, secretAccessKey, buckets },
 * });
 */
export class ObjectMirror extends pulumi.ComponentResource {
  /** The continuous mirror container, or the final-copy job. */
  readonly container: docker.Container;
  /**
   * Resolves once the final copy is verified and rejects with the job's log when it is not. Undefined for
   * `continuous`. Consume it (the stackport program exports it as the stack output `storageCutoverVerified`), so
   * the rejection fails the update by name rather than as an unhandled error.
   */
  readonly verified?: pulumi.Output<boolean>;
  readonly nodes: { image: docker.RemoteImage; container: docker.Container };

  constructor(name: string, args: ObjectMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    const keys = Object.keys(args.source.buckets).sort();
    const missing = keys.filter((k) => args.target.buckets[k] === undefined);
    const interval = args.intervalSeconds ?? DEFAULT_MIRROR_INTERVAL_SECONDS;
    assertValidArgs(`stackport:docker:ObjectMirror '${name}'`, [
      ...(missing.length > 0
        ? [{ path: "target.buckets", message: `has no bucket for ${missing.join(", ")}` }]
        : []),
      ...(Number.isInteger(interval) && interval >= 1
        ? []
        : [{ path: "intervalSeconds", message: `must be a whole number of seconds ≥ 1, not ${interval}` }]),
    ]);
    const script =
      args.mode === "continuous"
        ? renderObjectMirrorScript({ intervalSeconds: interval })
        : renderObjectBackfillScript();
    super("stackport:docker:ObjectMirror", name, { mode: args.mode, buckets: keys }, opts);
    const { placement, source, target } = args;

    const image = pullImage(
      `${name}-image`,
      args.image ?? DOCKER_STORAGE_DEFAULTS.clientImage,
      this,
      placement,
    );
    const pairs = pulumi
      .all(keys.map((key) => pulumi.all([source.buckets[key]!, target.buckets[key]!])))
      .apply((names) =>
        formatBucketPairs(names.map(([s, t], i): BucketPair => ({ key: keys[i]!, source: s, target: t }))),
      );
    const envs = pulumi.secret(
      pulumi
        .all([mcHost(source, `${name}: the source side`), mcHost(target, `${name}: the target side`), pairs])
        .apply(([from, to, bucketPairs]) => [
          `MC_HOST_source=${from}`,
          `MC_HOST_target=${to}`,
          `BUCKET_PAIRS=${bucketPairs}`,
        ]),
    );

    if (args.mode === "final") {
      const { job, succeeded } = oneShotJob(`${name}-job`, this, {
        tier: "storage",
        role: "cutover-final-copy",
        placement,
        image: image.imageId,
        script,
        envs,
        purpose: "the final object copy and its verification (cutover backfill)",
        dependsOn: args.dependsOn ?? [],
        ...(args.transform?.container && { transform: args.transform.container }),
      });
      this.container = job;
      this.verified = succeeded;
    } else {
      // Unhealthy when the last pass failed (a side unreachable, a revoked key), not during a long first pass.
      this.container = passLoopContainer(`${name}-container`, this, {
        tier: "storage",
        role: "cutover-mirror",
        placement,
        image: image.imageId,
        scriptPath: MIRROR_SCRIPT_PATH,
        script,
        envs,
        memoryMb: MIRROR_MEMORY_MB,
        dependsOn: args.dependsOn ?? [],
        ...(args.transform?.container && { transform: args.transform.container }),
      });
    }
    this.nodes = { image, container: this.container };
    this.registerOutputs({ container: this.container.name });
  }
}
