/**
 * The building blocks of the stack configuration, as zod schemas: the environment, names, images, addresses,
 * published ports, safety. Each tier's schema is in `tiers/` (they build on this file, so it imports none of them);
 * the whole namespace is assembled in `stack.ts`. `docs/configuration.md` is the reference.
 *
 * Schemas are strict: an unknown key is an error (a typo must never silently fall back to a default).
 */
import { z } from "zod";
import { DNS_NAME, IPV4, IPV4_CIDR, URL_PATH } from "../../components/shared/formats";

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

export const port = z.number().int().min(1).max(65535);

export const ipv4 = z.string().regex(IPV4, "must be an IPv4 address like 127.0.0.1");

/** An IPv4 CIDR block such as `10.0.0.0/8`; a bare address means `/32`. */
export const cidr = z
  .string()
  .regex(IPV4_CIDR, "must be an IPv4 CIDR block like 10.0.0.0/8 or 192.168.1.20/32");

export const dnsName = z.string().regex(DNS_NAME, "must be a DNS name");
export const urlPath = z.string().regex(URL_PATH, "must start with / and contain only URL path characters");

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
  /**
   * Pulumi `protect` on stateful resources (volumes, buckets, databases): `pulumi destroy` refuses to delete them.
   * @default `false` in `local`, `true` elsewhere
   */
  protect: z.boolean().optional(),
  /**
   * `retainOnDelete` on stateful resources: removing one from the program leaves its data in place.
   * @default `false` in `local`, `true` elsewhere
   */
  retainOnDelete: z.boolean().optional(),
});

// ---------------------------------------------------------------------------------------------------------
// Stack secrets

/**
 * `stackport:secrets` — application secrets by name, each set with
 * `pulumi config set --secret --path 'stackport:secrets.<name>' <value>` (a `secure:` value in the stack file). A
 * service maps one to a variable (`stackport:ingestion.services.<svc>.secrets`); it stays a Pulumi secret end to end.
 * A plain value is refused (`resolveConfig`): it would sit in clear text in the stack file.
 */
export const secretsSchema = z.record(keyName, z.string().min(1, "must not be empty"));

// ---------------------------------------------------------------------------------------------------------
// Tiers

/** A host port binding. The address defaults to loopback: nothing is reachable from the LAN unless asked for. */
export const publishSchema = z.strictObject({
  /** Port on the host. */
  port,
  /** Host address to bind: loopback unless a LAN address is named. */
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
