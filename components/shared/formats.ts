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
