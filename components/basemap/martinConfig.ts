/**
 * Renders Martin's config file (`--config`) — a pure function. Credentials never appear in it: the connection
 * string and S3 keys are `${VAR}` references Martin expands from its environment at start, so the file can be shown
 * in plans and uploaded in clear.
 *
 * Keys follow Martin's documented configuration (maplibre.org/martin, "Configuration File" and "PMTiles File
 * Sources"); `cache.size_mb` and the object-store option names are the spellings Martin 1.x accepts and 2.0 keeps.
 */
import { stringify } from "yaml";
import { type ArgsIssue, argPath } from "../shared/errors";
import { URL_PATH } from "../shared/formats";

/** The Martin source id of a PMTiles key: its path without `.pmtiles`, `/` → `.` (Martin's own convention). */
export const pmtilesSourceId = (key: string) => key.replace(/\.pmtiles$/, "").replace(/\//g, ".");

export interface MartinConfigInput {
  /** Publish PostGIS tables and functions, from `postgisSchemas` only. */
  postgis: boolean;
  /** The schemas whose tables and functions Martin publishes (nothing else `app_reader` can read). */
  postgisSchemas: string[];
  /** PMTiles archives in an S3-compatible bucket. */
  pmtiles?: {
    bucket: string;
    /** Object keys; each becomes a source. */
    keys: string[];
    /** S3 endpoint as seen from the container, e.g. `http://storage:9000`. */
    endpoint: string;
    region: string;
  };
  /** In-memory cache in MB (0 disables). */
  cacheMb: number;
  /** Path the proxy serves Martin under, so TileJSON tile URLs point through the proxy (`/tiles`). */
  basePath?: string;
}

export const MARTIN_LISTEN = "0.0.0.0:3000";
/** Environment variables the rendered file refers to. */
export const MARTIN_ENV = {
  databaseUrl: "DATABASE_URL",
  accessKeyId: "AWS_ACCESS_KEY_ID",
  secretAccessKey: "AWS_SECRET_ACCESS_KEY",
} as const;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A PostgreSQL schema name Martin can be given unquoted: lower-case, at most 63 bytes, not `pg_*`. */
export const POSTGIS_SCHEMA = /^(?!pg_)[a-z_][a-z0-9_]{0,62}$/;

/**
 * Martin's `postgres` section: the connection string from the environment, and auto-publishing limited to
 * `schemas` — tables and functions elsewhere (`audit`, `public`, anything `app_reader` is later granted) are never
 * served. Martin's documented `auto_publish.from_schemas` (maplibre.org/martin, "Configuration File"), used by both
 * backends.
 */
export function martinPostgresSection(schemas: string[]) {
  return {
    connection_string: `\${${MARTIN_ENV.databaseUrl}}`,
    auto_publish: { from_schemas: [...schemas].sort() },
  };
}
const OBJECT_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*\.pmtiles$/;

/**
 * What in the input Martin's config could not hold, each at its arg path: nothing to serve, a cache size that is
 * not whole MB, a bucket, key or path outside what is safe in the file, two keys publishing one source. Empty when
 * the input renders.
 */
export function martinConfigIssues(input: MartinConfigInput): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const pm = input.pmtiles && input.pmtiles.keys.length > 0 ? input.pmtiles : undefined;
  if (!input.postgis && !pm)
    issues.push({ path: "postgis", message: "serves nothing: set postgis: true or list pmtiles archives" });
  if (input.postgis && input.postgisSchemas.length === 0)
    issues.push({ path: "postgisSchemas", message: "must name at least one schema to publish (e.g. [app])" });
  input.postgisSchemas.forEach((schema, i) => {
    if (!POSTGIS_SCHEMA.test(schema))
      issues.push({
        path: argPath("postgisSchemas", i),
        message: `${JSON.stringify(schema)} must be a lower-case schema name (letters, digits, '_'), not pg_*`,
      });
  });
  if (!Number.isInteger(input.cacheMb) || input.cacheMb < 0)
    issues.push({ path: "cacheMb", message: `${input.cacheMb} must be a whole number of MB` });
  if (input.basePath !== undefined && !URL_PATH.test(input.basePath))
    issues.push({
      path: "basePath",
      message: `${JSON.stringify(input.basePath)} must start with / and contain only URL path characters`,
    });
  if (pm) {
    if (!BUCKET.test(pm.bucket))
      issues.push({ path: "bucket", message: `${JSON.stringify(pm.bucket)} is not a bucket name` });
    if (!/^https?:\/\//.test(pm.endpoint))
      issues.push({
        path: "storage.endpoint",
        message: `the PMTiles endpoint ${pm.endpoint} must be http(s)`,
      });
    const seen = new Map<string, number>();
    pm.keys.forEach((key, i) => {
      if (!OBJECT_KEY.test(key)) {
        issues.push({
          path: argPath("pmtiles", i),
          message: "must be an object key ending in .pmtiles, of letters, digits, '.', '_', '-' and '/'",
        });
      }
      const id = pmtilesSourceId(key);
      const first = seen.get(id);
      if (first !== undefined)
        issues.push({ path: argPath("pmtiles", i), message: `same source id '${id}' as pmtiles[${first}]` });
      else seen.set(id, i);
    });
  }
  return issues;
}

/** @throws when `martinConfigIssues` finds anything */
export function renderMartinConfig(input: MartinConfigInput): string {
  const issues = martinConfigIssues(input);
  if (issues.length > 0) {
    throw new Error(
      `stackport: cannot write Martin's config: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    );
  }
  const pm = input.pmtiles && input.pmtiles.keys.length > 0 ? input.pmtiles : undefined;
  const config: Record<string, unknown> = {
    listen_addresses: MARTIN_LISTEN,
    ...(input.basePath !== undefined && { base_path: input.basePath }),
    cache: { size_mb: input.cacheMb },
  };
  if (input.postgis) config["postgres"] = martinPostgresSection(input.postgisSchemas);
  if (pm) {
    const endpoint = new URL(pm.endpoint);
    const sources: Record<string, string> = {};
    for (const key of [...pm.keys].sort()) sources[pmtilesSourceId(key)] = `s3://${pm.bucket}/${key}`;
    config["pmtiles"] = {
      endpoint: pm.endpoint,
      region: pm.region,
      // The backend network's storage endpoint is plain HTTP; Martin refuses http:// unless told.
      allow_http: endpoint.protocol === "http:",
      // Path-style requests (`endpoint/bucket/key`), which MinIO needs.
      virtual_hosted_style_request: false,
      access_key_id: `\${${MARTIN_ENV.accessKeyId}}`,
      secret_access_key: `\${${MARTIN_ENV.secretAccessKey}}`,
      sources,
    };
  }
  return `# Generated by stackport from stackport:basemap — do not edit; change the stack config instead.\n${stringify(config)}`;
}
