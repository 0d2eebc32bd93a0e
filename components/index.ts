/**
 * `stackport` — the library's root entry: what every program shares whatever its targets are. The tiers'
 * connection contracts, the placements targets produce, the args error, and each tier's pure settings (defaults,
 * validators, the host names and ports a tier has on a Docker target's backend network).
 *
 * Loading this entry never loads a provider SDK (`@pulumi/docker`, `@pulumi/aws`): a program can check its own
 * configuration with these validators before it decides which backends to load. The components themselves are in
 * `stackport/docker` (components/docker.ts) and `stackport/aws` (components/aws.ts).
 */
// Maintainers: export types with `export type`, and values only from modules that load no provider
// (scripts/layers.ts checks it, and tests/package/library.test.ts checks the packed package).

// ---- Errors: every component validates its args before it registers anything, and throws an ArgsError.
export { ArgsError, isArgsError } from "./shared/errors";
export type { ArgsIssue } from "./shared/errors";
export { offeredBy } from "./shared/offered";
export type { OfferedConnections } from "./shared/offered";

// ---- Shared types: where a tier runs, per-child escape hatches, stateful safety.
export type { AwsPlacement, DockerPlacement } from "./shared/placement";
export type { StatefulSafety, Transform } from "./shared/component";

// ---- Targets
export { DOCKER_TARGET_DEFAULTS, validateDockerTargetArgs } from "./targets/hostPrep";
export { AWS_TARGET_DEFAULTS, validateAwsTargetArgs } from "./targets/awsNetwork";
export type { AwsVpcArgs, NatMode } from "./targets/awsNetwork";

// ---- Storage
export type { BucketAccess, BucketGrant, StorageConnection } from "./storage/contract";
export { bucketAccessPolicy } from "./storage/contract";
export type { BucketArgs, StorageConsumerArgs } from "./storage/settings";
export {
  DEFAULT_BUCKETS,
  DOCKER_STORAGE_DEFAULTS,
  MAX_EXPIRY_DAYS,
  STORAGE_API_PORT,
  STORAGE_CONSOLE_PORT,
  STORAGE_HOST,
  dockerStorageUpstreams,
  validateBuckets,
  validateS3StorageArgs,
} from "./storage/settings";

// ---- Database
export {
  DATABASE_ACCESS_ROLES,
  DATABASE_ROLES,
  databaseRoleName,
  extraDatabaseConnection,
} from "./database/contract";
export type {
  DatabaseAccessRole,
  DatabaseConnection,
  DatabaseRole,
  DatabaseRoleRef,
  RoleConnection,
} from "./database/contract";
export type { ExtraDatabaseOptions, SchemaAccess, SchemaGrant } from "./database/bootstrapSql";
export type { DatabaseBootstrapArgs } from "./database/settings";
export {
  DATABASE_HOST,
  DATABASE_PORT,
  DEFAULT_DATABASE,
  DEFAULT_POSTGIS_IMAGE,
  DOCKER_DATABASE_DEFAULTS,
  RDS_DATABASE_DEFAULTS,
  validateDockerDatabaseArgs,
  validateRdsDatabaseArgs,
} from "./database/settings";
export type { AdminJobArgs } from "./shared/adminJob";

// ---- Proxy
export type { ProxyEndpoint, ProxyRoute, Upstream } from "./proxy/contract";
export type { TlsConfig } from "./proxy/caddyfile";
export {
  DOCKER_PROXY_DEFAULTS,
  PROXY_HOST,
  PROXY_METRICS_PORT,
  validateDockerProxyArgs,
} from "./proxy/settings";
export { validateAlbProxyArgs } from "./proxy/albRules";

// ---- Ingestion
export type {
  AppSecretSource,
  IngestionServiceArgs,
  PublishedPortArgs,
  ServiceConnections,
  ServiceDatabase,
  ServiceDatabaseRole,
} from "./ingestion/settings";
export {
  BROKER_HOST,
  BROKER_PORT,
  CONNECTION_ENV,
  DOCKER_BROKER_DEFAULTS,
  DOCKER_SERVICE_DEFAULTS,
  ECS_BROKER_DEFAULTS,
  SERVICE_DATABASE_ROLES,
  bucketEnvName,
  ingestionUpstreams,
  replicaAlias,
  serviceDatabaseConnection,
  writesDatabase,
  validateDockerIngestionArgs,
  validateEcsIngestionArgs,
} from "./ingestion/settings";
export { FARGATE_SIZING_DEFAULTS } from "./shared/fargateSizing";

// ---- Basemap
export {
  BASEMAP_DEFAULTS,
  BASEMAP_HOST,
  DISK_CACHE_DEFAULTS,
  MARTIN_HEALTH_PATH,
  MARTIN_METRICS_PATH,
  MARTIN_PORT,
  TILE_CACHE_HOST,
  TILE_CACHE_PORT,
  basemapUpstreams,
  pmtilesSourceId,
  validateDockerBasemapArgs,
  validateEcsBasemapArgs,
} from "./basemap/settings";
export type { MartinArgs } from "./basemap/settings";

// ---- Observability: the contract other tiers speak (scrape targets, alarm specs) and the tier's pure settings
export type {
  AlarmSpec,
  ComparisonOperator,
  DatabaseAlarmInputs,
  ScrapeTarget,
  ServiceAlarmInputs,
} from "./observability/contract";
export { serviceAlarmSpecs } from "./observability/contract";
export {
  ALERT_DEFAULTS,
  CLOUDWATCH_DEFAULTS,
  DOCKER_OBSERVABILITY_DEFAULTS,
  LOG_RETENTION_DAYS,
  OBSERVABILITY_IMAGES,
  OBSERVABILITY_MEMORY_MB,
  OBSERVABILITY_SERVICES,
  observabilityUpstreams,
  resolveAlerts,
  validateCloudWatchObservabilityArgs,
  validateDockerObservabilityArgs,
} from "./observability/settings";
export type {
  FreshnessMetricArgs,
  ObservabilityAlerts,
  ObservabilityAlertsArgs,
} from "./observability/settings";
export { POSTGRES_ALERT_DEFAULTS, POSTGRES_ALERTS } from "./observability/postgresAlerts";
export type { PostgresAlerts, PostgresAlertsArgs } from "./observability/postgresAlerts";
export { dockerStorageScrapeTargets } from "./storage/settings";
export { ingestionScrapeTargets } from "./ingestion/settings";
export { basemapScrapeTargets } from "./basemap/settings";

// ---- Backups
export {
  BACKUP_DEFAULTS,
  BACKUP_METRICS,
  backupsScrapeTargets,
  validateDockerBackupsArgs,
} from "./backups/settings";
export type { BackupDestination, BackupRetention, OffHostArgs, WalBackupArgs } from "./backups/settings";
