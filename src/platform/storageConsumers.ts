/**
 * Who uses the Docker object store, and which buckets each may touch: the program's side of
 * `DockerObjectStorageArgs.consumers`. Every consumer gets its own MinIO user scoped to what it declared, never the
 * root user (which stays with the bucket bootstrap). Pure: from the resolved config to the consumers of one side.
 */
import type { StorageConsumerArgs } from "../../components/storage/settings";
import type { ResolvedConfig } from "../config";
import { frozenServices, tierPlacements } from "../config/cutover";
import { consumedSide } from "../config/parallelRun";
import { objectMirrorPlan } from "../config/phases";

/** Consumer names, shared by the storage side that declares them and the tier that asks for the credential. */
export const STORAGE_CONSUMER = {
  /** A Docker ingestion service, by name: read-write on the buckets in its `connections.storage`, as on AWS. */
  service: (svc: string) => `ingestion-${svc}`,
  /** Martin reading PMTiles archives: read on the basemap's bucket. */
  basemap: "basemap",
  /** The backup bucket sync: list, read and put on the backup bucket, never delete. */
  backups: "backups",
  /** The off-host copy's object mirror: read on every bucket, nothing else. */
  backupObjects: "backups-objects",
  /** The cutover's object mirror: read on the source side, read-write (it deletes in the final copy) on the target. */
  mirror: "cutover-mirror",
} as const;

const onDocker = (cfg: ResolvedConfig, target: string | undefined) =>
  target !== undefined && cfg.targets[target]?.kind === "docker";

/**
 * The consumers of the storage side on `target`. The serving side gets the application's consumers (services that
 * run, the basemap with PMTiles, the backup sync) when they run on Docker; a Docker side of a storage cutover gets
 * the object mirror while the phase copies objects.
 */
export function storageConsumers(cfg: ResolvedConfig, target: string): Record<string, StorageConsumerArgs> {
  const storage = cfg.storage;
  if (!storage) return {};
  const placement = tierPlacements(cfg).storage!;
  const out: Record<string, StorageConsumerArgs> = {};
  // In a parallel run the consumers sit on the `to` side and read its copy, which the backfill replaces: read only.
  const consumed = consumedSide(storage.on, cfg.cutover?.storage, cfg.ingestion?.on ?? cfg.basemap?.on);
  const onCopy = consumed !== placement.serving;
  if (target === consumed) {
    const ingestion = cfg.ingestion;
    if (ingestion && onDocker(cfg, ingestion.on)) {
      const frozen = new Set(frozenServices(cfg));
      for (const [svc, service] of Object.entries(ingestion.services)) {
        const buckets = service.connections.storage;
        if (!buckets?.length || frozen.has(svc)) continue;
        out[STORAGE_CONSUMER.service(svc)] = {
          buckets: Object.fromEntries(
            buckets.map((b) => [b, onCopy ? ("read" as const) : ("readwrite" as const)]),
          ),
        };
      }
    }
    const basemap = cfg.basemap;
    if (basemap && basemap.pmtiles.length > 0 && onDocker(cfg, basemap.on))
      out[STORAGE_CONSUMER.basemap] = { buckets: { [basemap.bucket]: "read" } };
  }
  if (target === placement.serving) {
    const destination = cfg.backups?.destination;
    if (destination?.kind === "bucket" && onDocker(cfg, tierPlacements(cfg).database?.serving))
      out[STORAGE_CONSUMER.backups] = { buckets: { [destination.bucket]: "append" } };
    if (cfg.backups?.offHost?.objects && onDocker(cfg, tierPlacements(cfg).database?.serving))
      out[STORAGE_CONSUMER.backupObjects] = {
        buckets: Object.fromEntries(Object.keys(storage.buckets).map((b) => [b, "read" as const])),
      };
  }
  const cutover = cfg.cutover?.storage;
  if (cutover && (placement.mirror || placement.copy === "final") && onDocker(cfg, target)) {
    const plan = objectMirrorPlan(cutover, (t) => cfg.targets[t]!.kind);
    const role = target === cutover.from ? "read" : target === cutover.to ? "readwrite" : undefined;
    if (!("problem" in plan) && role) {
      out[STORAGE_CONSUMER.mirror] = {
        buckets: Object.fromEntries(Object.keys(storage.buckets).map((b) => [b, role])),
      };
    }
  }
  return out;
}
