/**
 * The building blocks of the stack configuration and the core tiers (targets, safety, storage, database, proxy), as
 * zod schemas. The whole namespace is assembled in `stack.ts` (tiers in `tiers/` build on this file, so it imports
 * none of them). `docs/configuration.md` is the prose version.
 *
 * Schemas are strict: an unknown key is an error (a typo must never silently fall back to a default).
 */
import { z } from "zod";

// A stack's configuration is parsed once per process. Zod's JIT generates and compiles a function per object
// schema on its first parse, which costs about twice what it saves on a single parse; the interpreted path
// validates the same way with the same issues.
z.config({ jitless: true });

export const ENVIRONMENTS = ["local", "staging", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** A name used as a stable key (target names, bucket names, route names): becomes part of logical names. */
export const keyName = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,30}$/,
    "must be lower-case letters, digits and '-', start with a letter, at most 31 chars",
  );

const port = z.number().int().min(1).max(65535);

const ipv4 = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/,
    "must be an IPv4 address like 127.0.0.1",
  );

/** An IPv4 CIDR block such as `10.0.0.0/8`; a bare address means `/32`. */
export const cidr = z
  .string()
  .regex(
    /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}(\/(3[0-2]|[12]?\d))?$/,
    "must be an IPv4 CIDR block like 10.0.0.0/8 or 192.168.1.20/32",
  );

/** A container image reference that names a tag or digest: `:latest` and tag-less images are refused. */
export const pinnedImage = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/,
    "must be an image reference like registry/name:tag",
  )
  .refine(
    (ref) => /@sha256:/.test(ref) || /:[^/:]+$/.test(ref),
    "must be pinned to a tag or digest (name:tag)",
  )
  .refine((ref) => !/:latest$/.test(ref), "must not use the moving tag :latest; pin a version");

// ---------------------------------------------------------------------------------------------------------
// Safety

export const safetySchema = z.strictObject({
  /** `protect` on stateful resources (volumes, buckets, databases). @default false in local, true elsewhere */
  protect: z.boolean().optional(),
  /** `retainOnDelete` on stateful resources. @default false in local, true elsewhere */
  retainOnDelete: z.boolean().optional(),
});

// ---------------------------------------------------------------------------------------------------------
// Tiers

/** A host port binding. The address defaults to loopback: nothing is reachable from the LAN unless asked for. */
export const publishSchema = z.strictObject({
  port,
  address: ipv4.default("127.0.0.1"),
});
export type PublishConfig = z.infer<typeof publishSchema>;

/** A port to publish on the host, or `false` for never; absent for the environment's default. */
export const publishOrOff = z.union([publishSchema, z.literal(false)]).optional();

/** A host binding, or undefined when the port is not published. */
export type Published = PublishConfig | undefined;

/** Environment default of a published port: loopback in `local`, nothing elsewhere; `false` is never published. */
export function publishedOn(
  value: PublishConfig | false | undefined,
  environment: Environment,
  localPort: number,
): Published {
  if (value === false) return undefined;
  return value ?? (environment === "local" ? { port: localPort, address: "127.0.0.1" } : undefined);
}

export const routeSchema = z.strictObject({
  /** Host name this route answers on. @default the proxy's `domain` */
  host: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a DNS name")
    .optional(),
  /** Path prefix, e.g. `/tiles`. @default every path of the host */
  path: z
    .string()
    .regex(/^\/[A-Za-z0-9._~/-]*$/, "must start with / and contain only URL path characters")
    .optional(),
  /** Remove the path prefix before proxying. */
  stripPrefix: z.boolean().default(false),
  /** The upstream: a service another tier exposes (e.g. `storage`, `storage-console`) or `host:port`. */
  to: z.string().min(1),
  /**
   * `basic`: HTTP basic auth with the proxy's generated users (bcrypt). `apiKey`: the request must carry header
   * `X-API-Key` equal to the route's generated key (a secret stack output), otherwise 401.
   */
  auth: z.enum(["none", "basic", "apiKey"]).default("none"),
  /** Only these client networks may use the route; others get 403. */
  allowFrom: z.array(cidr).optional(),
});
export type RouteConfig = z.infer<typeof routeSchema>;

export const proxySchema = z.strictObject({
  on: keyName,
  image: pinnedImage.default("caddy:2.11.4-alpine"),
  /** Site address for routes without their own `host`. */
  domain: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, "must be a DNS name")
    .default("localhost"),
  tls: z
    .discriminatedUnion("mode", [
      z.strictObject({ mode: z.literal("http") }),
      z.strictObject({ mode: z.literal("internal") }),
      z.strictObject({ mode: z.literal("acme"), email: z.email("must be an e-mail address") }),
    ])
    .default({ mode: "http" }),
  /** Host address the proxy listens on. @default 127.0.0.1 in local, 0.0.0.0 elsewhere (it is the entry point) */
  bindAddress: ipv4.optional(),
  httpPort: port.default(80),
  httpsPort: port.default(443),
  /** Users for `auth: basic` routes; each gets a generated password (a stack output, secret). */
  basicAuthUsers: z.array(keyName).default(["admin"]),
  routes: z.record(keyName, routeSchema).default({}),
  memoryMb: z.number().int().min(64).default(256),
});
export type ProxyConfig = z.infer<typeof proxySchema>;
