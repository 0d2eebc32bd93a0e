/**
 * The scripts of the object mirror (`ObjectMirror`, objectMirror.ts): a loop that copies every bucket from a source
 * to a target, pass after pass, and a job that runs a last mirror with deletions, then proves the copy — per bucket,
 * `mc diff` (keys missing on either side, sizes that differ) and the object count and byte total of both listings.
 * A difference fails the job. A storage cutover runs them (docs/runbooks/cutover-*.md).
 *
 * Pure: the bucket pairs and the two scripts. Both scripts run in the `mc` image, which has a shell but few other
 * tools, so they use only `mc` and shell built-ins. They read everything from the environment: `MC_HOST_source` /
 * `MC_HOST_target` (mc's own alias-from-environment form, credentials included — never on a command line) and
 * `BUCKET_PAIRS`.
 */
import { LAST_PASS_HEALTH, PAUSE_AND_STOP, scriptHeader } from "../shared/shell";

/** The mc aliases of the two sides; their URLs come from `MC_HOST_source` and `MC_HOST_target`. */
export const MIRROR_ALIASES = ["source", "target"] as const;
export type MirrorSide = (typeof MIRROR_ALIASES)[number];

/** One bucket of the tier: its stable key and its physical name on each side (S3 names differ from MinIO's). */
export interface BucketPair {
  key: string;
  source: string;
  target: string;
}

/** Exit codes of the backfill job, which the update's failure message and the runbook explain. */
export const OBJECT_BACKFILL_EXIT = {
  matches: 0,
  differs: 1,
  unreadable: 2,
  mirrorFailed: 3,
  badConfig: 64,
} as const;

/** Seconds between two passes of the continuous mirror when `cutover.storage.mirror.intervalSeconds` is unset. */
export const DEFAULT_MIRROR_INTERVAL_SECONDS = 60;

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const BUCKET_KEY = /^[a-z0-9][a-z0-9_-]*$/;

/** `BUCKET_PAIRS`: space-separated `key=source-bucket=target-bucket`, sorted by key so the text is stable. */
export function formatBucketPairs(pairs: BucketPair[]): string {
  if (pairs.length === 0) throw new Error("an object mirror needs at least one bucket");
  for (const p of pairs) {
    if (!BUCKET_KEY.test(p.key)) throw new Error(`bucket key '${p.key}' is not a valid bucket key`);
    for (const side of MIRROR_ALIASES) {
      if (!BUCKET_NAME.test(p[side]))
        throw new Error(`bucket '${p[side]}' (${p.key}, ${side}) is not an S3 bucket name`);
    }
  }
  return [...pairs]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((p) => `${p.key}=${p.source}=${p.target}`)
    .join(" ");
}

// ---------------------------------------------------------------------------------------------------------
// Scripts

/** Checked environment, the pair splitter and the one-pass mirror both scripts share. */
function commonLines(tool: string, opts: { health?: boolean } = {}): string[] {
  return [
    `log() { echo "${tool}: $*"; }`,
    ...(opts.health ? LAST_PASS_HEALTH : []),
    `: "\${MC_HOST_source:?${tool}: set MC_HOST_source (S3 URL of the source, credentials included)}"`,
    `: "\${MC_HOST_target:?${tool}: set MC_HOST_target (S3 URL of the target, credentials included)}"`,
    `: "\${BUCKET_PAIRS:?${tool}: set BUCKET_PAIRS (key=source-bucket=target-bucket ...)}"`,
    "",
    "# Splits one key=source-bucket=target-bucket word into $key, $src and $dst.",
    "split_pair() {",
    "  key=${1%%=*}",
    "  rest=${1#*=}",
    "  src=${rest%%=*}",
    "  dst=${rest#*=}",
    "}",
    "",
    "for pair in $BUCKET_PAIRS; do",
    '  case "$pair" in',
    "    *[!a-z0-9._=-]* | *=*=*=* | =* | *==* | *=) bad=1 ;;",
    "    *=*=*) bad=0 ;;",
    "    *) bad=1 ;;",
    "  esac",
    '  if [ "$bad" = 1 ]; then',
    `    log "BUCKET_PAIRS: '$pair' is not key=source-bucket=target-bucket"`,
    `    exit ${OBJECT_BACKFILL_EXIT.badConfig}`,
    "  fi",
    "done",
    "",
    "# One pass over every bucket: mc mirror source → target with the flags given.",
    "mirror_all() {",
    "  failed=0",
    "  for pair in $BUCKET_PAIRS; do",
    '    split_pair "$pair"',
    '    if mc --no-color mirror "$@" "source/$src" "target/$dst"; then',
    '      log "mirrored $key ($src -> $dst)"',
    "    else",
    '      log "FAILED to mirror $key ($src -> $dst)"',
    "      failed=1",
    "    fi",
    "  done",
    '  return "$failed"',
    "}",
    "",
  ];
}

/**
 * The continuous mirror (phases `replicate` and `freeze`): a pass over every bucket, then a pause, forever. Polling
 * rather than `mc mirror --watch`, which needs MinIO's bucket notifications and so cannot watch S3 as a source.
 * No deletions: a pass only adds and overwrites; the final copy in `backfill` mirrors deletions, once, verified.
 * `intervalSeconds` is whole seconds ≥ 1 (`ObjectMirror` checks its args).
 */
export function renderObjectMirrorScript(opts: { intervalSeconds?: number } = {}): string {
  const interval = opts.intervalSeconds ?? DEFAULT_MIRROR_INTERVAL_SECONDS;
  const lines = [
    ...commonLines("stackport-object-mirror", { health: true }),
    `INTERVAL_SECONDS=${interval}`,
    ...PAUSE_AND_STOP,
    "trap stop TERM INT",
    'log "mirroring $BUCKET_PAIRS from source to target every ${INTERVAL_SECONDS}s"',
    "while :; do",
    "  if mirror_all --overwrite; then",
    "    record_pass ok",
    '    log "pass complete"',
    "  else",
    "    record_pass failed",
    '    log "pass incomplete; retrying in ${INTERVAL_SECONDS}s"',
    "  fi",
    '  pause "$INTERVAL_SECONDS"',
    "done",
    "",
  ];
  return scriptHeader("cutover object mirror, source to target, until the backfill") + lines.join("\n");
}

/**
 * The backfill job (phase `backfill`, writers frozen): the last mirror, deletions included, then verification.
 * With `--verify-only` it only verifies (the runbook's manual check). Exit codes: `OBJECT_BACKFILL_EXIT`.
 * `--remove` refuses a source bucket that lists no object while its target holds some: a wrong pair or an
 * unreadable source must not wipe the copy.
 */
export function renderObjectBackfillScript(): string {
  const x = OBJECT_BACKFILL_EXIT;
  const lines = [
    ...commonLines("stackport-object-backfill"),
    "# Counts one bucket's objects and bytes from mc ls --json into $count and $bytes; 1 when it cannot be listed.",
    "totals() {",
    "  count=0",
    "  bytes=0",
    '  if ! listing=$(mc --no-color ls --recursive --json "$1"); then',
    '    log "cannot list $1: ${listing:-mc ls failed}"',
    "    return 1",
    "  fi",
    "  while IFS= read -r line; do",
    '    case "$line" in',
    // mc prints an error as indented JSON (`"status": "error"` on a line of its own), other messages on one line.
    '      *\'"status": "error"\'* | *\'"status":"error"\'*)',
    '        log "cannot list $1: $line"',
    "        return 1",
    "        ;;",
    '      *\'"type":"file"\'*) ;;',
    "      *) continue ;;",
    "    esac",
    '    size=${line#*\\"size\\":}',
    "    size=${size%%[!0-9]*}",
    "    count=$((count + 1))",
    "    bytes=$((bytes + ${size:-0}))",
    "  done <<EOF",
    "$listing",
    "EOF",
    "}",
    "",
    "# Verifies one pair: 0 when keys, sizes, count and bytes agree; 1 when they differ; 2 when a side is unreadable.",
    "verify_pair() {",
    `  totals "source/$src" || return ${x.unreadable}`,
    "  source_count=$count",
    "  source_bytes=$bytes",
    `  totals "target/$dst" || return ${x.unreadable}`,
    `  differences=$(mc --no-color diff "source/$src" "target/$dst") || return ${x.unreadable}`,
    '  if [ -z "$differences" ] && [ "$source_count" = "$count" ] && [ "$source_bytes" = "$bytes" ]; then',
    '    log "matches $key: $count objects, $bytes bytes"',
    "    return 0",
    "  fi",
    '  log "DIFFERS $key ($src -> $dst): source $source_count objects, $source_bytes bytes; target $count objects, $bytes bytes"',
    "  while IFS= read -r line; do",
    '    if [ -n "$line" ]; then log "DIFFERS $key: $line"; fi',
    "  done <<EOF",
    "$differences",
    "EOF",
    `  return ${x.differs}`,
    "}",
    "",
    "# A source that lists nothing while its target holds objects is refused: --remove would empty the target.",
    "guard_empty_sources() {",
    "  for pair in $BUCKET_PAIRS; do",
    '    split_pair "$pair"',
    `    totals "source/$src" || return ${x.unreadable}`,
    '    if [ "$count" -gt 0 ]; then continue; fi',
    `    totals "target/$dst" || return ${x.unreadable}`,
    '    if [ "$count" -gt 0 ]; then',
    '      log "source bucket $src ($key) is empty but target $dst holds $count objects: refusing to delete them; empty the target by hand if that is intended"',
    `      return ${x.mirrorFailed}`,
    "    fi",
    "  done",
    "}",
    "",
    'if [ "${1:-}" != "--verify-only" ]; then',
    '  guard_empty_sources || exit "$?"',
    '  log "final mirror with deletions: $BUCKET_PAIRS"',
    "  if ! mirror_all --overwrite --remove; then",
    '    log "the final mirror failed (above); the target is incomplete"',
    `    exit ${x.mirrorFailed}`,
    "  fi",
    "fi",
    "",
    "result=0",
    "for pair in $BUCKET_PAIRS; do",
    '  split_pair "$pair"',
    "  status=0",
    "  verify_pair || status=$?",
    '  if [ "$status" -gt "$result" ]; then result=$status; fi',
    "done",
    'case "$result" in',
    `  0) log "every bucket matches: the target holds the source's objects" ;;`,
    `  ${x.differs}) log "the target does not match the source (buckets above)" ;;`,
    `  *) log "a side could not be read (above); nothing was verified for it" ;;`,
    "esac",
    'exit "$result"',
    "",
  ];
  return scriptHeader("cutover final object copy and verification") + lines.join("\n");
}
