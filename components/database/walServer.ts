/**
 * What a PostgreSQL container needs for continuous WAL archiving (`DockerDatabaseArgs.walArchive`): the protected
 * archive volume and the container settings that mount it and turn archiving on (`walArchive.ts` renders them).
 * `DockerDatabase` merges the result into its server; the backups tier's base-backup runner reads the archive.
 */
import type * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { StatefulSafety, Transform } from "../shared/component";
import { statefulVolume } from "../shared/docker";
import type { DockerPlacement } from "../shared/placement";
import { WAL_ARCHIVE_DIR } from "./settings";
import {
  PG_HBA_PATH,
  WAL_ARCHIVE_SCRIPT_PATH,
  renderPgHba,
  renderWalArchiveScript,
  walEntrypoint,
  walServerArgs,
} from "./walArchive";

/** `DockerDatabaseArgs.walArchive`. */
export interface WalArchiveArgs {
  /**
   * Seconds after which a partly filled WAL segment is archived anyway, 30–3600: at most this much of committed
   * work is not yet in the archive. Changing it replaces the server container (the volumes stay). @default 300
   */
  archiveTimeoutSeconds?: number;
}

export const WAL_ARCHIVE_DEFAULTS = { archiveTimeoutSeconds: 300 } as const;

/**
 * The archive volume (`<name>`, protected like the data volume) and the server container's settings: the image's
 * entrypoint behind a wrapper that gives the volume to `postgres`, `postgres -c archive_mode=on …`, the archive
 * script and `pg_hba.conf` uploads, and the volume's mount. `replicationRole` is who may take base backups over the
 * network. Setting it on an existing server replaces the container, never the data volume.
 */
export function walArchiveServer(
  name: string,
  parent: pulumi.Resource,
  args: WalArchiveArgs & {
    placement: DockerPlacement;
    safety: StatefulSafety;
    replicationRole: string;
    transform?: Transform<docker.VolumeArgs> | undefined;
  },
) {
  const volume = statefulVolume(name, parent, {
    placement: args.placement,
    safety: args.safety,
    tier: "database",
    parts: ["database", "wal", "archive"],
    transform: args.transform,
  });
  const container = {
    entrypoints: walEntrypoint(),
    command: [
      "postgres",
      ...walServerArgs({
        archiveTimeoutSeconds: args.archiveTimeoutSeconds ?? WAL_ARCHIVE_DEFAULTS.archiveTimeoutSeconds,
        replicationRole: args.replicationRole,
      }),
    ],
    uploads: [
      { file: WAL_ARCHIVE_SCRIPT_PATH, content: renderWalArchiveScript(), executable: true },
      { file: PG_HBA_PATH, content: renderPgHba(args.replicationRole) },
    ],
  } satisfies Partial<docker.ContainerArgs>;
  const mount = { volumeName: volume.name, containerPath: WAL_ARCHIVE_DIR };
  return { volume, container, mount };
}
