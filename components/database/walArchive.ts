/**
 * The server side of continuous WAL archiving, as pure text: what the PostgreSQL container runs so every finished
 * WAL segment lands in the archive volume (`archive_mode` + `archive_command`), and the `pg_hba.conf` that lets the
 * base-backup runner (`pg_basebackup`, a replication connection) in. `DockerDatabase` applies it (`walArchive`);
 * `DockerBackups` (`wal`) takes the base backups, prunes the archive and restores to a point in time
 * (components/backups/walScripts.ts). Tested against a real PostgreSQL (archive, base backup, recovery) and `shellcheck -s sh`.
 *
 * Why PostgreSQL's own archiving and not WAL-G or pgBackRest: the `postgis/postgis` image has neither, no image
 * ships both PostGIS and one of them, and pgBackRest would need its own configuration and SSH/TLS between server and
 * repository. `archive_command` + `pg_basebackup` + `pg_archivecleanup` are in the image, and the encrypted off-host
 * copy is restic's job (components/backups/offHost.ts). See docs/runbooks/point-in-time-recovery.md.
 */
import type { ArgsIssue } from "../shared/errors";
import { scriptHeader } from "../shared/shell";
import { WAL_ARCHIVE_DIR } from "./settings";

/** Where the archive script and the hba file are uploaded in the database container. */
export const WAL_ARCHIVE_SCRIPT_PATH = "/stackport/wal-archive.sh";
export const PG_HBA_PATH = "/stackport/pg_hba.conf";

export interface WalServerOptions {
  /** Seconds after which a partly filled segment is switched and archived anyway (bounds the data at risk). */
  archiveTimeoutSeconds: number;
  /** The role `pg_basebackup` connects as over the network (a superuser or a role with REPLICATION). */
  replicationRole: string;
}

/**
 * `archive_command` for one segment: `wal-archive.sh %p %f`. Atomic, as PostgreSQL's documentation asks: it copies
 * into a temp file in the archive, flushes it to disk, and only then renames it to its final name (a rename within
 * one file system is atomic), so a crash or a full disk never leaves a truncated segment under a real name that a
 * restore would read. A segment already archived (PostgreSQL retries after a crash between the rename and noting
 * success) succeeds if identical and fails loudly if not: an archive never overwrites a segment.
 * `WAL_ARCHIVE_DIR` overrides the archive path (tests).
 */
export function renderWalArchiveScript(): string {
  const lines = [
    `ARCHIVE="\${WAL_ARCHIVE_DIR:-${WAL_ARCHIVE_DIR}}"`,
    '[ "$#" -eq 2 ] || { echo "usage: $0 PATH_OF_SEGMENT FILE_NAME (archive_command = \'$0 %p %f\')" >&2; exit 2; }',
    "src=$1",
    "name=$2",
    "# Only WAL file names (segments, .partial, .backup and .history files): never a path.",
    'case "$name" in */* | .* | "") echo "stackport-wal-archive: refusing file name \'$name\'" >&2; exit 1 ;; esac',
    'dest="$ARCHIVE/$name"',
    'if [ -f "$dest" ]; then',
    '  if cmp -s "$src" "$dest"; then exit 0; fi',
    '  echo "stackport-wal-archive: $dest exists with other content; refusing to overwrite it" >&2',
    "  exit 1",
    "fi",
    'tmp="$ARCHIVE/.$name.tmp"',
    "# A leftover temp file of a killed copy is simply replaced.",
    'cp "$src" "$tmp" || { rm -f "$tmp"; exit 1; }',
    "# coreutils sync with a file argument fsyncs that file; then the rename, then the directory entry.",
    'sync "$tmp" || { rm -f "$tmp"; exit 1; }',
    'mv "$tmp" "$dest"',
    'sync "$ARCHIVE" || true',
    "",
  ];
  return (
    scriptHeader("archive_command: copy one WAL segment into the archive, atomically") + lines.join("\n")
  );
}

/**
 * The database container's `pg_hba.conf` (`hba_file`): exactly what the image's entrypoint leaves in a fresh
 * cluster — initdb's defaults (trust on the socket and loopback, inside the container only) and the entrypoint's
 * `host all all all scram-sha-256` — plus one line: replication connections (which `all` does not match) for the
 * base-backup role, with its password. Read from docker-library/postgres 17/bookworm/docker-entrypoint.sh (commit
 * 6edb0a8): `initdb` runs without `--auth` (so initdb's trust defaults for local and loopback, replication
 * included), then `pg_setup_hba_conf` appends `host all all all $POSTGRES_HOST_AUTH_METHOD`, which defaults to
 * `password_encryption` (scram-sha-256). With `hba_file` pointing here, the cluster's own file is no longer read.
 */
export function renderPgHba(replicationRole: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(replicationRole))
    throw new Error(`replication role must be a lower-case SQL identifier (${replicationRole})`);
  return [
    "# Rendered by stackport: the postgres image's own rules, plus replication for the base-backup runner.",
    "# TYPE  DATABASE     USER  ADDRESS       METHOD",
    "local   all          all                 trust",
    "host    all          all   127.0.0.1/32  trust",
    "host    all          all   ::1/128       trust",
    "local   replication  all                 trust",
    "host    replication  all   127.0.0.1/32  trust",
    "host    replication  all   ::1/128       trust",
    `host    replication  ${replicationRole}  all  scram-sha-256`,
    "host    all          all   all           scram-sha-256",
    "",
  ].join("\n");
}

/** The `postgres` server options that turn archiving on (passed as `-c name=value`, after the image's entrypoint). */
export function walServerSettings(opts: WalServerOptions): Record<string, string> {
  const timeout = opts.archiveTimeoutSeconds;
  if (!Number.isInteger(timeout) || timeout < 30 || timeout > 3600)
    throw new Error(`archive timeout must be 30-3600 s (${timeout})`);
  return {
    wal_level: "replica",
    archive_mode: "on",
    archive_command: `/bin/sh ${WAL_ARCHIVE_SCRIPT_PATH} %p %f`,
    archive_timeout: String(timeout),
    hba_file: PG_HBA_PATH,
  };
}

/** `walServerSettings` as the container's command after `postgres`. */
export function walServerArgs(opts: WalServerOptions): string[] {
  return Object.entries(walServerSettings(opts)).flatMap(([k, v]) => ["-c", `${k}=${v}`]);
}

/**
 * The database container's entrypoint with archiving on: as root (the image's default user), make the archive
 * volume's root belong to `postgres` (a new named volume is root's), then hand over to the image's own entrypoint,
 * which drops to `postgres`. Runs on every start; idempotent.
 */
export function walEntrypoint(): string[] {
  return [
    "/bin/sh",
    "-c",
    `install -d -o postgres -g postgres -m 0700 ${WAL_ARCHIVE_DIR} && exec docker-entrypoint.sh "$@"`,
    "stackport-database",
  ];
}

/** What is wrong with `DockerDatabaseArgs.walArchive` (empty when valid). */
export function validateWalArchiveArgs(
  args: { archiveTimeoutSeconds?: number | undefined } | undefined,
): ArgsIssue[] {
  const t = args?.archiveTimeoutSeconds;
  return t === undefined || (Number.isInteger(t) && t >= 30 && t <= 3600)
    ? []
    : [
        {
          path: "walArchive.archiveTimeoutSeconds",
          message: `must be a whole number of seconds from 30 to 3600 (got ${t})`,
        },
      ];
}
