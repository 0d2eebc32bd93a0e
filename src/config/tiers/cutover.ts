/**
 * `stackport:cutover` — a tier moving between two targets, one reviewed phase per `pulumi up`
 * (docs/runbooks/cutover-*.md). The phase → placement rules live in src/config/phases.ts.
 */
import { z } from "zod";
import { PHASES } from "../phases";
import { keyName } from "../schema";

/** Tiers that can move between targets (the stateful ones carry their data across with copy/verify jobs). */
export const CUTOVER_TIERS = ["storage", "database"] as const;
export type CutoverTier = (typeof CUTOVER_TIERS)[number];

/** An address as the machine running `pulumi up` reaches it (an SSH tunnel, a VPN address, a published port). */
const reachable = z.strictObject({
  host: z.string().regex(/^[A-Za-z0-9.-]+$/, "must be a host name or IP address"),
  port: z.number().int().min(1).max(65535),
});

const phaseFields = { from: keyName, to: keyName, phase: z.enum(PHASES) };

const databaseCutover = z.strictObject({
  ...phaseFields,
  /**
   * Where the copy and verification (run from the machine running `pulumi up`, with pg_dump/psql 15+ on PATH)
   * reach each side's database. Required by the phases that copy: replicate and backfill.
   */
  access: z.strictObject({ source: reachable, target: reachable }).optional(),
});

const storageCutover = z.strictObject({
  ...phaseFields,
  /**
   * The object mirror: a container on the Docker side copying every bucket source → target (replicate, freeze),
   * then the verified final copy (backfill). See components/storage/objectMirror.ts for where it runs.
   */
  mirror: z
    .strictObject({
      /** The Docker target the mirror runs on. @default the Docker side (the source when both are Docker) */
      on: keyName.optional(),
      /** The other side's S3 API as the mirror reaches it. Required when both sides are Docker. */
      remoteEndpoint: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
      /** Seconds between two passes of the continuous mirror. @default 60 */
      intervalSeconds: z.number().int().min(1).max(86_400).optional(),
    })
    .optional(),
});

export type DatabaseCutover = z.infer<typeof databaseCutover>;
export type StorageCutover = z.infer<typeof storageCutover>;

export const cutoverSchema = z.strictObject({
  storage: storageCutover.optional(),
  database: databaseCutover.optional(),
});
export type CutoverConfig = z.infer<typeof cutoverSchema>;
