/**
 * `stackport/docker` — the components that run on a Docker engine: the local socket or a host over `ssh://`.
 * Loads `@pulumi/docker` (and `@pulumi/random`, `@pulumi/command`), never `@pulumi/aws` (scripts/layers.ts checks it).
 *
 * Start with a `DockerTarget`; every tier component takes its `placement`. Connections between tiers are plain
 * values (`database.connection`, `storage.connection`), and the contracts, defaults and validators they share are
 * in the root entry, `stackport`.
 * @example
 * import { DockerDatabase, DockerIngestion, DockerTarget } from "stackport/docker";
 * const target = new DockerTarget("laptop");
 * const database = new DockerDatabase("database", { placement: target.placement });
 * new DockerIngestion("ingestion", {
 *   placement: target.placement,
 *   database: database.connection,
 *   services: { api: { image: "ghcr.io/example/api:1.4.2", port: 3000, connections: { database: "app_writer" } } },
 * });
 */

// ---- The target
export { DockerTarget } from "./targets/docker";
export type { DockerTargetArgs } from "./targets/docker";

// ---- Tiers
export { DockerObjectStorage } from "./storage/dockerObjectStorage";
export type { DockerObjectStorageArgs } from "./storage/dockerObjectStorage";

export { DockerDatabase } from "./database/dockerDatabase";
export type { DockerDatabaseArgs } from "./database/dockerDatabase";
export type { WalArchiveArgs } from "./database/walServer";

export { DockerProxy } from "./proxy/dockerProxy";
export type { DockerProxyArgs } from "./proxy/dockerProxy";

export { DockerIngestion } from "./ingestion/dockerIngestion";
export type { DockerIngestionArgs, ServiceAddress } from "./ingestion/dockerIngestion";
export type {
  DockerBrokerArgs,
  DockerMountArgs,
  DockerPublishedPortArgs,
  DockerServiceArgs,
} from "./ingestion/settings";
export { DOCKER_SOCKET_REASON_LABEL } from "./ingestion/dockerIngestion";

export { DockerBasemap } from "./basemap/dockerBasemap";
export type { DockerBasemapArgs } from "./basemap/dockerBasemap";
export type { DiskCacheArgs } from "./basemap/settings";
export type { TileCacheNodes } from "./basemap/tileCache";

// ---- Types the Docker args use
export type { HostBinding } from "./shared/docker";

// ---- Observability and backups
export { DockerObservability } from "./observability/dockerObservability";
export type { DockerObservabilityArgs } from "./observability/dockerObservability";
export { POSTGRES_EXPORTER_IMAGE } from "./observability/postgresExporter";
export type { PostgresExporterArgs, PostgresMonitoringConnection } from "./observability/postgresExporter";
export { DockerBackups } from "./backups/dockerBackups";
export type { BackupLogin, BackupSource, DockerBackupsArgs } from "./backups/dockerBackups";
