/**
 * Value formats several components and the program's configuration share, defined once. Each is as strict as the
 * file or API it ends up in needs (a Caddyfile, an ALB rule, a Docker port binding).
 */

/** An IPv4 address like `127.0.0.1`. */
export const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** An IPv4 CIDR block like `10.0.0.0/8`; a bare address means `/32`. */
export const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/;

/** A lower-case DNS name like `tiles.example.org`. */
export const DNS_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** A URL path prefix like `/tiles`. */
export const URL_PATH = /^\/[A-Za-z0-9._~/-]*$/;

/** A lower-case SQL identifier (a database, role or schema name): safe unquoted in SQL and in shell globs. */
export const SQL_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The number an image's tag starts with (`postgis/postgis:17-3.5` → 17, `postgres:18@sha256:…` → 18), if it has
 * one: the major version most database images lead their tags with.
 */
export function imageTagMajor(image: string): number | undefined {
  const ref = image.split("@")[0]!;
  const lastSlash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  const tag = colon > lastSlash ? ref.slice(colon + 1) : "";
  const match = /^(\d+)(?:[.-]|$)/.exec(tag);
  return match ? Number(match[1]) : undefined;
}

/** Throws unless `value` is a lower-case SQL identifier: renderers write it into SQL and shell text. */
export function assertSqlIdentifier(value: string, what: string): void {
  if (!SQL_IDENTIFIER.test(value)) throw new Error(`${what} '${value}' must be a lower-case SQL identifier`);
}
