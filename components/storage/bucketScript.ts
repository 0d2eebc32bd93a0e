import { scriptHeader, shQuote } from "../shared/shell";
import { type BucketAccess, bucketAccessPolicy, bucketArn } from "./contract";
import { type Bucket, STORAGE_METRICS_USER, STORAGE_ROOT_USER, consumerUser } from "./settings";

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

/**
 * A consumer's MinIO policy: `bucketAccessPolicy`, the document IAM gets on AWS, over `arn:aws:s3:::<bucket>`
 * (MinIO's resource ARNs; its region is irrelevant there).
 */
export function consumerPolicyDocument(buckets: Record<string, BucketAccess>): string {
  return JSON.stringify(
    bucketAccessPolicy(
      Object.entries(buckets).map(([bucket, access]) => ({ arn: bucketArn("us-east-1", bucket), access })),
    ),
  );
}

/** The environment variable the bootstrap reads a consumer's secret key from (never an argument). */
export const consumerSecretEnv = (consumer: string) =>
  `STACKPORT_SECRET_${consumer.toUpperCase().replace(/-/g, "_")}`;

/**
 * The metrics user's policy: `admin:Prometheus` only, what MinIO's metrics endpoints check for a bearer token's user
 * (minio/minio `cmd/metrics.go` `AuthMiddleware`); admin statements match no resource (minio/pkg `policy/statement.go`).
 */
export const METRICS_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Sid: "ScrapeMetrics", Effect: "Allow", Action: ["admin:Prometheus"], Resource: ["arn:aws:s3:::*"] },
  ],
});

/** One MinIO user the bootstrap keeps: access key, policy document, and the variable holding its secret. */
interface ManagedUser {
  user: string;
  policy: string;
  secretEnv: string;
}

/**
 * One MinIO user and policy per consumer (and the metrics user), and removal of the `stackport-` users no longer
 * declared, so a removed consumer or grant loses access on the next run. Secrets stay out of every process's
 * arguments: `mc admin user add ALIAS ACCESSKEY` reads the secret key from stdin when it is not given (minio/mc
 * RELEASE.2025-08-13T08-35-41Z `cmd/admin-user-add.go`, `fetchUserKeys`), and `printf` is a shell built-in.
 * `policy create` replaces a policy of the same name, and `policy attach` accepts a policy already attached
 * (`XMinioAdminPolicyChangeAlreadyApplied`, `cmd/admin-policy-attach.go`), so every run converges.
 */
function userLines(users: ManagedUser[]): string[] {
  const sorted = [...users].sort((a, b) => a.user.localeCompare(b.user));
  const lines = [`echo "stackport: ${sorted.length} user(s)"`];
  if (sorted.length > 0) lines.push("policy_file=/tmp/stackport-policy.json");
  for (const { user, policy, secretEnv } of sorted) {
    const name = shQuote(user);
    lines.push(
      `printf '%s\\n' ${shQuote(policy)} >"$policy_file"`,
      `mc admin policy create "$ALIAS" ${name} "$policy_file"`,
      `printf '%s\\n' "$${secretEnv}" | mc admin user add "$ALIAS" ${name}`,
      `mc admin policy attach "$ALIAS" ${name} --user ${name}`,
    );
  }
  lines.push(
    "# Users no longer declared: removed with their policy (mc prints one JSON object a line).",
    `declared=' ${sorted.map((u) => u.user).join(" ")} '`,
    'mc --json admin user ls "$ALIAS" >/tmp/stackport-users.json',
    "while IFS= read -r line; do",
    '  user=${line#*\\"accessKey\\":\\"}',
    '  user=${user%%\\"*}',
    '  case "$user" in',
    `    ${STORAGE_ROOT_USER}) ;;`,
    "    stackport-*)",
    '      case "$declared" in',
    '        *" $user "*) ;;',
    "        *)",
    '          echo "stackport: removing user $user"',
    '          mc admin user rm "$ALIAS" "$user"',
    '          mc admin policy rm "$ALIAS" "$user" >/dev/null 2>&1 || true',
    "          ;;",
    "      esac",
    "      ;;",
    "  esac",
    "done </tmp/stackport-users.json",
    "",
  );
  return lines;
}

/** Seconds the bucket bootstrap waits for object storage before it fails. */
export const STORAGE_READY_TIMEOUT_SECONDS = 60;

/**
 * The bucket bootstrap: creates each bucket, sets versioning, replaces its lifecycle rules with the configured
 * ones (`ilm rule import` replaces; `ilm rule add` would append on every run), removes anonymous access, then keeps
 * one MinIO user per consumer (and the metrics user) with exactly its policy, removing users no longer declared.
 * Every step is idempotent, so the script runs again safely whenever the bucket set or a grant changes. It is the
 * only holder of the root credential.
 *
 * It first waits for the server, within `readyTimeoutSeconds`. `mc ready` alone cannot bound that wait: it polls
 * every 5 s until the server is healthy and never exits non-zero for an unreachable one (minio/mc
 * `cmd/ready-main.go`), so it runs in the background and is stopped at the deadline, its last line reported.
 */
export function renderBucketScript(
  buckets: Record<string, Bucket>,
  opts: {
    readyTimeoutSeconds?: number;
    /** Consumer → bucket → access: one user each (`consumerUser`), secret in `consumerSecretEnv(consumer)`. */
    consumers?: Record<string, Record<string, BucketAccess>>;
    /** Also keep the metrics user (`STORAGE_METRICS_USER`), secret in `consumerSecretEnv("metrics")`. */
    metrics?: boolean;
  } = {},
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
  const users: ManagedUser[] = Object.entries(opts.consumers ?? {}).map(([c, buckets]) => ({
    user: consumerUser(c),
    policy: consumerPolicyDocument(buckets),
    secretEnv: consumerSecretEnv(c),
  }));
  if (opts.metrics)
    users.push({
      user: STORAGE_METRICS_USER,
      policy: METRICS_POLICY,
      secretEnv: consumerSecretEnv("metrics"),
    });
  lines.push(...userLines(users));
  lines.push(`echo "stackport: ${Object.keys(buckets).length} bucket(s) ready"`, "");
  return scriptHeader("create and configure object-storage buckets") + lines.join("\n");
}
