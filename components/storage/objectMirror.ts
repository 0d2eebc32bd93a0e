import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
  type BucketPair,
  formatBucketPairs,
  renderObjectBackfillScript,
  renderObjectMirrorScript,
} from "../../src/ops/cutover/objects";
import type { DockerPlacement } from "../targets/docker";
import { oneShotJob, passLoopContainer, pullImage } from "../shared/docker";
import { mcHost } from "./contract";

/** One side of the mirror: its S3 API as the mirror container reaches it, credentials and physical bucket names. */
export interface ObjectMirrorSide {
  endpoint: pulumi.Input<string>;
  accessKeyId: pulumi.Input<string>;
  secretAccessKey: pulumi.Input<string>;
  /** Physical bucket names by stable key; both sides have the same keys (one `stackport:storage.buckets`). */
  buckets: Record<string, pulumi.Input<string>>;
}

export interface ObjectMirrorArgs {
  /** The Docker target the mirror runs on (one side of the cutover). */
  placement: DockerPlacement;
  /** The `mc` image (`stackport:storage.clientImage`). */
  image: string;
  source: ObjectMirrorSide;
  target: ObjectMirrorSide;
  /**
   * `continuous`: a container mirroring every bucket, pass after pass (phases `replicate`, `freeze`).
   * `final`: a job that mirrors deletions too, then verifies; its failure fails the update (phase `backfill`).
   */
  mode: "continuous" | "final";
  /** Seconds between two passes of the continuous mirror. @default 60 */
  intervalSeconds?: number;
  /** What must exist first: both sides' storage components (buckets created). */
  dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Memory for the `mc` container, in MB: it streams objects, it holds none. */
const MIRROR_MEMORY_MB = 256;
const MIRROR_SCRIPT_PATH = "/stackport/mirror.sh";

/**
 * The object half of a storage cutover on the Docker side (src/ops/cutover/objects.ts has the rules and scripts).
 * Both sides' URLs carry credentials, so the whole environment is one secret.
 */
export class ObjectMirror extends pulumi.ComponentResource {
  /** The continuous mirror container, or the final-copy job. */
  readonly container: docker.Container;
  /**
   * Resolves once the final copy is verified and rejects with the job's log when it is not. Undefined for
   * `continuous`. Consume it — the platform exports it as the stack output `storageCutoverVerified` — so the
   * rejection fails the update by name rather than as an unhandled error.
   */
  readonly verified?: pulumi.Output<boolean>;

  constructor(name: string, args: ObjectMirrorArgs, opts?: pulumi.ComponentResourceOptions) {
    const keys = Object.keys(args.source.buckets).sort();
    const missing = keys.filter((k) => args.target.buckets[k] === undefined);
    if (missing.length > 0) throw new Error(`object mirror: target has no bucket for ${missing.join(", ")}`);
    const script =
      args.mode === "continuous"
        ? renderObjectMirrorScript({ ...(args.intervalSeconds && { intervalSeconds: args.intervalSeconds }) })
        : renderObjectBackfillScript();
    super("stackport:docker:ObjectMirror", name, { mode: args.mode, buckets: keys }, opts);
    const { placement, source, target } = args;

    const image = pullImage(`${name}-image`, args.image, this, placement);
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
        dependsOn: args.dependsOn,
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
        dependsOn: args.dependsOn,
      });
    }
    this.registerOutputs({ container: this.container.name });
  }
}
