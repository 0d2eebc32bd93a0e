import { scriptHeader, shQuote } from "../../src/targets/shell";
import type { BucketConfig } from "../../src/config";

/** The `mc` alias the bootstrap script talks to; its URL (with credentials) comes from `MC_HOST_<alias>`. */
export const MC_ALIAS = "storage";

/** S3 lifecycle JSON for one bucket, or undefined when it has no expiry rules. */
export function lifecycleDocument(bucket: BucketConfig): string | undefined {
  const rules: Record<string, unknown>[] = [];
  if (bucket.expireAfterDays) {
    rules.push({
      ID: "stackport-expire",
      Status: "Enabled",
      Filter: { Prefix: "" },
      Expiration: { Days: bucket.expireAfterDays },
    });
  }
  if (bucket.noncurrentExpireAfterDays) {
    rules.push({
      ID: "stackport-expire-noncurrent",
      Status: "Enabled",
      Filter: { Prefix: "" },
      NoncurrentVersionExpiration: { NoncurrentDays: bucket.noncurrentExpireAfterDays },
    });
  }
  return rules.length ? JSON.stringify({ Rules: rules }) : undefined;
}

/**
 * The bucket bootstrap: creates each bucket, sets versioning, replaces its lifecycle rules with the configured
 * ones (`ilm rule import` replaces; `ilm rule add` would append on every run), and removes anonymous access.
 * Every step is idempotent, so the script runs again safely whenever the bucket set changes.
 */
export function renderBucketScript(buckets: Record<string, BucketConfig>): string {
  const lines: string[] = [
    `ALIAS=${MC_ALIAS}`,
    "",
    'echo "stackport: waiting for object storage"',
    "attempt=0",
    'until mc ready "$ALIAS" >/dev/null 2>&1; do',
    "  attempt=$((attempt + 1))",
    '  if [ "$attempt" -ge 30 ]; then echo "stackport: object storage not ready after 60s" >&2; exit 1; fi',
    "  sleep 2",
    "done",
    "",
  ];
  for (const [name, bucket] of Object.entries(buckets).sort(([a], [b]) => a.localeCompare(b))) {
    const target = `"$ALIAS"/${shQuote(name)}`;
    lines.push(`echo "stackport: bucket ${name}"`, `mc mb --ignore-existing ${target}`);
    if (bucket.versioning) {
      lines.push(`mc version enable ${target}`);
    } else {
      // Only suspend what was enabled: suspending marks a never-versioned bucket as versioned-suspended.
      lines.push(
        `case "$(mc version info ${target})" in`,
        `  *enabled*) mc version suspend ${target} ;;`,
        "esac",
      );
    }
    const lifecycle = lifecycleDocument(bucket);
    if (lifecycle) {
      lines.push(`printf '%s\\n' ${shQuote(lifecycle)} | mc ilm rule import ${target}`);
    } else {
      lines.push(
        "# No expiry configured: remove rules left by an earlier config (fails only when there are none).",
        `mc ilm rule rm --all --force ${target} >/dev/null 2>&1 || true`,
      );
    }
    lines.push(`mc anonymous set none ${target}`, "");
  }
  lines.push(`echo "stackport: ${Object.keys(buckets).length} bucket(s) ready"`, "");
  return scriptHeader("create and configure object-storage buckets") + lines.join("\n");
}
