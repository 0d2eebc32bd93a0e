/**
 * The whole `stackport:` namespace of a stack: the core schemas plus every tier in `tiers/`, each with its optional
 * `aws` block for AWS placements. Assembled here, not in schema.ts, because the tier schemas build on schema.ts.
 */
import { z } from "zod";
import { ENVIRONMENTS, keyName, safetySchema, secretsSchema } from "./schema";
import { targetSchema } from "./tiers/targets";
import { awsObservabilitySchema } from "./tiers/aws";
import { databaseSchema } from "./tiers/database";
import { proxySchema } from "./tiers/proxy";
import { storageSchema } from "./tiers/storage";
import { backupsSchema } from "./tiers/backups";
import { basemapSchema } from "./tiers/basemap";
import { cutoverSchema } from "./tiers/cutover";
import { ingestionSchema } from "./tiers/ingestion";
import { observabilitySchema } from "./tiers/observability";

export const stackConfigSchema = z.strictObject({
  environment: z.enum(ENVIRONMENTS),
  targets: z
    .record(keyName, targetSchema)
    .refine((t) => Object.keys(t).length > 0, "must name at least one target"),
  safety: safetySchema.default({}),
  secrets: secretsSchema.optional(),
  storage: storageSchema.optional(),
  database: databaseSchema.optional(),
  proxy: proxySchema.optional(),
  ingestion: ingestionSchema.optional(),
  basemap: basemapSchema.optional(),
  observability: observabilitySchema.extend({ aws: awsObservabilitySchema.optional() }).optional(),
  backups: backupsSchema.optional(),
  cutover: cutoverSchema.optional(),
});
export type StackConfigInput = z.input<typeof stackConfigSchema>;
export type StackConfig = z.infer<typeof stackConfigSchema>;

/** The config keys a stack may set, in the order the docs list them. */
export const CONFIG_KEYS = Object.keys(stackConfigSchema.shape) as (keyof StackConfig)[];
