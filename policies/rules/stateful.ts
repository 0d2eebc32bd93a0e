/**
 * Stateful safety: resources that hold data (Docker volumes, S3 buckets, RDS instances and clusters, EFS) must be
 * `protect`ed and `retainOnDelete`, so a mistaken `pulumi destroy`, rename or replacement cannot delete the data
 * (DESIGN "Stateful safety is explicit").
 *
 * The rule reads the resource's own options, never the stack's `stackport:environment`: that is one line of the stack
 * file, and a rule that skipped `local` let that line unprotect a production stack with no violation. A throwaway
 * stack turns the rule off in its own policy config (`policies/config/local.json`), where a reviewer sees it.
 *
 * CrossGuard exposes `protect` but not `retainOnDelete` (`PolicyResourceOptions` has no such field); the offline
 * evaluator passes both, so the synth gate checks both and the engine-side pack checks `protect`.
 */
import { dockerLabels, resourceRule } from "./common";

export const STATEFUL_TYPES = [
  "docker:index/volume:Volume",
  "aws:s3/bucket:Bucket",
  "aws:s3/bucketV2:BucketV2",
  "aws:rds/instance:Instance",
  "aws:rds/cluster:Cluster",
  "aws:efs/fileSystem:FileSystem",
];

/** A Docker volume labelled `stackport.stateful=false` holds only regenerated data (e.g. Caddy's autosaved config). */
export const NOT_STATEFUL_LABEL = "stackport.stateful";

export const statefulProtected = resourceRule(
  {
    name: "stateful-protected",
    description: "Volumes, buckets and databases must be protected and retained on delete.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Leave `stackport:safety` at its defaults (protect and retainOnDelete are on outside local), or set `safety.protect` / `safety.retainOnDelete` to true. A volume that only holds regenerated data can be labelled `stackport.stateful=false`. A throwaway stack (a laptop's) disables this rule in its own `policies/config/<stack>.json`.",
    area: "stateful",
    appliesTo: STATEFUL_TYPES,
  },
  (props, args, report) => {
    if (
      args.type === "docker:index/volume:Volume" &&
      dockerLabels(props.labels).get(NOT_STATEFUL_LABEL) === "false"
    )
      return;
    const opts = args.opts as typeof args.opts & { retainOnDelete?: boolean };
    if (opts.protect !== true) report("not protected: a destroy or replacement would delete its data");
    if ("retainOnDelete" in opts && opts.retainOnDelete !== true) {
      report("not retainOnDelete: removing it from the program would delete its data");
    }
  },
);

export const statefulRules = [statefulProtected];
