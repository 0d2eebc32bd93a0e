import { scriptHeader, shQuote } from "../shared/shell";
import type { Bucket } from "./settings";

/** The `mc` alias the bootstrap script talks to; its URL (with credentials) comes from `MC_HOST_<alias>`. */
export const MC_ALIAS = "storage";

/** S3 lifecycle JSON for one bucket, or undefined when it has no expiry rules. */
export function lifecycleDocument(bucket: Bucket): string | undefined {
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

/** Seconds the bucket bootstrap waits for object storage before it fails. */
export const STORAGE_READY_TIMEOUT_SECONDS = 60;

/**
 * The bucket bootstrap: creates each bucket, sets versioning, replaces its lifecycle rules with the configured
 * ones (`ilm rule import` replaces; `ilm rule add` would append on every run), and removes anonymous access.
 * Every step is idempotent, so the script runs again safely whenever the bucket set changes.
 *
 * It first waits for the server, within `readyTimeoutSeconds`. `mc ready` alone cannot bound that wait: it polls
 * every 5 s until the server is healthy and never exits non-zero for an unreachable one (minio/mc
 * `cmd/ready-main.go`), so it runs in the background and is stopped at the deadline, its last line reported.
 */
export function renderBucketScript(
  buckets: Record<string, Bucket>,
  opts: { readyTimeoutSeconds?: number } = {},
): string {
  const timeout = opts.readyTimeoutSeconds ?? STORAGE_READY_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new Error(`storage ready timeout ${timeout} must be a whole number of seconds ≥ 1`);
  const lines: string[] = [
    `ALIAS=${MC_ALIAS}`,
    `READY_TIMEOUT_SECONDS=${timeout}`,
    "",
    'echo "stackport: waiting for object storage"',
    // Shell built-ins and `sleep` only: the mc image (ubi-micro) has few other tools.
    "ready_log=/tmp/stackport-mc-ready.log",
    'mc ready "$ALIAS" >"$ready_log" 2>&1 &',
    "ready=$!",
    "waited=0",
    'while kill -0 "$ready" 2>/dev/null; do',
    '  if [ "$waited" -ge "$READY_TIMEOUT_SECONDS" ]; then',
    '    kill "$ready" 2>/dev/null || true',
    '    last="(nothing)"',
    '    while IFS= read -r line; do last=$line; done <"$ready_log"',
    '    echo "stackport: object storage not ready after ${READY_TIMEOUT_SECONDS}s; mc ready said: $last" >&2',
    "    exit 1",
    "  fi",
    "  sleep 1",
    "  waited=$((waited + 1))",
    "done",
    'if ! wait "$ready"; then',
    '  echo "stackport: mc ready failed (check MC_HOST_$ALIAS):" >&2',
    '  while IFS= read -r line; do echo "$line" >&2; done <"$ready_log"',
    "  exit 1",
    "fi",
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
