/**
 * Seed 004's self-hosted MVP (Supabase → self-hosted, milestone v1.0) on the local Docker engine, composed from
 * stackport's components directly — no stack config, no stackport program:
 *
 *   PostgreSQL (+ PostGIS) with the drizzle-kit migrations · Redis broker · MinIO object storage ·
 *   the Fastify API · Caddy in front, with a health endpoint at /healthz.
 *
 * Every connection between tiers is an explicit value handed from one component to the next.
 */
import * as pulumi from "@pulumi/pulumi";
import type { ProxyRoute, StatefulSafety } from "stackport";
import {
  DockerDatabase,
  DockerIngestion,
  DockerObjectStorage,
  DockerProxy,
  type DockerServiceArgs,
  DockerTarget,
} from "stackport/docker";

const config = new pulumi.Config();
/** The API image (Fastify + drizzle-kit), pinned: `pulumi config set apiImage ghcr.io/you/api:1.0.0`. */
const apiImage = config.get("apiImage") ?? "ghcr.io/example/freshtrack-api:1.0.0";
/** Stack Auth stays a hosted service (seed 004); the API only needs the project id, which is not a secret. */
const stackAuthProjectId = config.get("stackAuthProjectId") ?? "00000000-0000-0000-0000-000000000000";
/** On a laptop `pulumi destroy` should clean up; set `protectData: true` anywhere the data matters. */
const safety: StatefulSafety = config.getBoolean("protectData")
  ? { protect: true, retainOnDelete: true }
  : { protect: false, retainOnDelete: false };

// The target: the local Docker socket (give `host: "ssh://deploy@homelab.lan"` for a homelab host). Every tier
// below runs on its networks through `target.placement`.
const target = new DockerTarget("local");
const { placement } = target;

// Object storage: MinIO with the MVP's buckets; the console on 127.0.0.1 only. Each consumer is declared with the
// buckets it may use and gets its own MinIO user (`connectionFor`); the root user stays with the bucket bootstrap.
const storage = new DockerObjectStorage("storage", {
  placement,
  safety,
  buckets: { uploads: { versioning: true }, exports: { versioning: false, expireAfterDays: 30 } },
  consumers: { api: { buckets: { uploads: "readwrite", exports: "readwrite" } } },
  publishConsole: { port: 9001, address: "127.0.0.1" },
});

// PostgreSQL: the bootstrap creates db_admin / app_writer / app_reader with generated passwords, then the
// migrations job runs drizzle-kit as db_admin. Every role's connection waits for both.
const database = new DockerDatabase("database", {
  placement,
  safety,
  database: "freshtrack",
  migrations: { image: apiImage, command: ["npx", "drizzle-kit", "migrate"] },
  publish: { port: 5432, address: "127.0.0.1" },
});

// The API, and the Redis broker the ingestion tier runs beside it. The API declares what it may reach and gets
// exactly that: DATABASE_URL of app_writer, STORAGE_* for its two buckets, BROKER_URL — all Pulumi secrets.
const services: Record<string, DockerServiceArgs> = {
  api: {
    image: apiImage,
    port: 3000,
    routed: true,
    health: { path: "/health" },
    environment: { NODE_ENV: "production", STACK_AUTH_PROJECT_ID: stackAuthProjectId },
    connections: { database: "app_writer", storage: ["uploads", "exports"], broker: true },
  },
};
const ingestion = new DockerIngestion(
  "ingestion",
  {
    placement,
    safety,
    services,
    // The wiring: connections are values, handed over explicitly.
    database: database.connection,
    serviceStorage: { api: storage.connectionFor("api") },
  },
  { dependsOn: [database, storage] },
);

// Caddy in front. A route's `to` names an upstream another tier exposes: the API (`ingestion.upstreams`) and
// MinIO's S3 API and console (`storage.upstreams`).
const routes: Record<string, ProxyRoute> = {
  api: { path: "/api", to: "api" },
  s3: { host: "s3.localhost", to: "storage" },
  console: { host: "console.localhost", to: "storage-console", auth: "basic" },
};
const proxy = new DockerProxy(
  "proxy",
  {
    placement,
    safety,
    domain: "localhost",
    httpPort: 8080,
    routes,
    upstreams: { ...ingestion.upstreams, ...storage.upstreams },
  },
  { dependsOn: [ingestion, storage] },
);

export const urls = proxy.endpoint.urls;
/** The console's basic-auth password (secret): `pulumi stack output consolePassword --show-secrets`. */
export const consolePassword = proxy.endpoint.basicAuthPasswords["admin"];
/** For psql on the laptop (secret); the API gets its own app_writer URL. */
export const readerUrl = database.connection.roles.app_reader.url;
export const buckets = storage.connection.buckets;
export const api = ingestion.addresses["api"];
