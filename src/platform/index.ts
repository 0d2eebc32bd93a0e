/**
 * The platform: each tier on its target, wired to the others through their connection contracts, in the order
 * the wiring needs. Which component serves a tier on which kind of target is each tier module's table
 * (`ByKind`); this file only says what is built before what.
 */
import type { ResolvedConfig } from "../config";
import { buildBasemap, buildIngestion } from "./apps";
import { buildContext, present } from "./context";
import { buildDatabase, buildStorage } from "./data";
import { buildObservability } from "./observability";
import type { Platform } from "./outputs";
import { buildAlbProxy, buildDockerProxy } from "./proxy";

export { dockerScrapeTargets } from "./observability";
export { type Platform, platformOutputs } from "./outputs";

export function createPlatform(cfg: ResolvedConfig): Platform {
  const ctx = buildContext(cfg);
  const storage = buildStorage(ctx);
  const database = buildDatabase(ctx, storage);
  // An ALB comes before the services that attach to its target groups; Caddy after the containers it routes to.
  const alb = buildAlbProxy(ctx, storage);
  const apps = present([
    buildIngestion(ctx, { storage, database, alb }),
    buildBasemap(ctx, { storage, database, alb }),
  ]);
  const dataTiers = present([storage?.resource, database?.resource]);
  const proxy = alb ?? buildDockerProxy(ctx, [...dataTiers, ...apps.map((a) => a.resource)]);
  buildObservability(ctx, {
    database: database?.metrics,
    postgresMonitoring: database?.monitoring,
    alarms: apps.flatMap((a) => a.alarmSpecs),
    storageMetricsTokens: storage?.metricsTokens ?? {},
  });
  return { targets: ctx.targets, storage, database, proxy, extraOutputs: ctx.extraOutputs };
}
