/**
 * Each ingestion service's environment, built from the connections it declares and nothing else — the place the
 * "least privilege" promise of `connections` is kept. Pure (no resources); credentials stay Pulumi secrets.
 */
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseConnection } from "../database/contract";
import { argPath } from "../shared/errors";
import type { StorageConnection } from "../storage/contract";
import { type ServiceConnections, bucketEnvName, serviceDatabaseConnection } from "./settings";

/** What the platform can offer a service; each is used only if the service declares it. */
export interface AvailableConnections {
  database?: DatabaseConnection | undefined;
  storage?: StorageConnection | undefined;
  /** `redis://:<password>@broker:6379/0` (secret). */
  brokerUrl?: pulumi.Output<string> | undefined;
  /** The tier's application secrets by name (each a Pulumi secret). */
  secrets?: Record<string, pulumi.Input<string>> | undefined;
}

const secretEnv = (name: string, value: pulumi.Input<string>) =>
  pulumi.secret(pulumi.interpolate`${name}=${value}`);

/**
 * The `KEY=VALUE` list for one service: its plain `environment`, then one group per declared connection:
 * - `database: <role>` → `DATABASE_URL` of that role, or of an extra database's writer/reader (`db_admin` is refused
 *   here as well as by the schema);
 * - `storage: [buckets]` → `STORAGE_ENDPOINT`, `STORAGE_REGION`, `STORAGE_FORCE_PATH_STYLE`, `STORAGE_ACCESS_KEY_ID`,
 *   `STORAGE_SECRET_ACCESS_KEY` and `STORAGE_BUCKET_<NAME>` for the declared buckets only;
 * - `broker: true` → `BROKER_URL`;
 * then one variable per entry of its `secrets` (variable → secret name), each a Pulumi secret.
 * @throws naming the arg path when a declared connection or secret is not available (`validateServices` refuses
 *   that first)
 */
export function serviceEnv(
  svc: string,
  service: {
    environment: Record<string, string>;
    connections: ServiceConnections;
    secrets?: Record<string, string> | undefined;
  },
  available: AvailableConnections,
): pulumi.Input<string>[] {
  const key = (...path: PropertyKey[]) => argPath("services", svc, "connections", ...path);
  const envs: pulumi.Input<string>[] = Object.entries(service.environment)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const { database: role, storage: buckets, broker } = service.connections;

  if (role !== undefined) {
    let connection;
    try {
      connection = serviceDatabaseConnection(available.database, role);
    } catch (e) {
      throw new Error(`${key("database")}: ${(e as Error).message}`);
    }
    envs.push(secretEnv("DATABASE_URL", connection.url));
  }

  if (buckets !== undefined) {
    const storage = available.storage;
    if (!storage) throw new Error(`${key("storage")}: no storage connection was given`);
    envs.push(
      pulumi.interpolate`STORAGE_ENDPOINT=${storage.endpoint}`,
      pulumi.interpolate`STORAGE_REGION=${storage.region}`,
      `STORAGE_FORCE_PATH_STYLE=${storage.forcePathStyle}`,
      secretEnv("STORAGE_ACCESS_KEY_ID", storage.accessKeyId),
      secretEnv("STORAGE_SECRET_ACCESS_KEY", storage.secretAccessKey),
    );
    buckets.forEach((bucket, i) => {
      const physical = storage.buckets[bucket];
      if (!physical)
        throw new Error(`${key("storage", i)}: the storage connection has no bucket '${bucket}'`);
      envs.push(pulumi.interpolate`${bucketEnvName(bucket)}=${physical}`);
    });
  }

  if (broker) {
    if (!available.brokerUrl) throw new Error(`${key("broker")}: the broker is disabled`);
    envs.push(secretEnv("BROKER_URL", available.brokerUrl));
  }

  for (const [env, name] of Object.entries(service.secrets ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    const value = available.secrets?.[name];
    if (value === undefined)
      throw new Error(
        `${argPath("services", svc, "secrets", env)}: '${name}' is not one of the tier's secrets`,
      );
    envs.push(secretEnv(env, value));
  }
  return envs;
}
