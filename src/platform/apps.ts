/**
 * The application tiers: ingestion services and the basemap. They connect to the data tiers through their
 * connection contracts and, on AWS, attach to the ALB's target groups; their CloudWatch alarms go to observability.
 */
import type * as pulumi from "@pulumi/pulumi";
import { DockerBasemap } from "../../components/basemap/dockerBasemap";
import { DockerIngestion } from "../../components/ingestion/dockerIngestion";
import type { AlarmSpec } from "../../components/observability/contract";
import type { ProxyTargetGroup } from "../../components/proxy/albProxy";
import { frozenServices } from "../config/cutover";
import { dockerBasemapArgs, ecsBasemapArgs } from "../config/tiers/basemap";
import { dockerIngestionArgs, ecsIngestionArgs } from "../config/tiers/ingestion";
import { type BuildContext, type ByKind, awsComponents, onKind, present } from "./context";
import type { BuiltDatabase, BuiltStorage } from "./data";
import { STORAGE_CONSUMER } from "./storageConsumers";

/** What the application tiers are given: the data tiers, and the ALB when the proxy is on AWS. */
export interface AppInputs {
  storage: BuiltStorage | undefined;
  database: BuiltDatabase | undefined;
  alb?: { resource: pulumi.ComponentResource; targetGroups: Record<string, ProxyTargetGroup> } | undefined;
}

/** An application tier as built: the component, and the alarms it asks CloudWatch for (AWS only). */
export interface BuiltApp {
  resource: pulumi.ComponentResource;
  alarmSpecs: AlarmSpec[];
}

const dataTiers = (inputs: AppInputs) => present([inputs.storage?.resource, inputs.database?.resource]);
const connections = ({ storage, database }: AppInputs) => ({
  ...(database && { database: database.connection }),
  ...(storage && { storage: storage.connection }),
});

/** Each running service that declares buckets, with its own credential (`storageConsumers`). */
function serviceStorage(storage: BuiltStorage, services: string[], cfg: BuildContext["cfg"]) {
  return Object.fromEntries(
    services
      .filter((svc) => cfg.ingestion!.services[svc]!.connections.storage?.length)
      .map((svc) => [svc, storage.connectionFor(STORAGE_CONSUMER.service(svc))]),
  );
}

const INGESTION: ByKind<[BuildContext, AppInputs, string[]], BuiltApp> = {
  docker: (where, { cfg }, inputs, services) => ({
    resource: new DockerIngestion(
      "ingestion",
      {
        ...dockerIngestionArgs(cfg.ingestion!, services, cfg.safety),
        placement: where.placement,
        database: inputs.database?.connection,
        ...(inputs.storage && { serviceStorage: serviceStorage(inputs.storage, services, cfg) }),
      },
      { dependsOn: dataTiers(inputs) },
    ),
    alarmSpecs: [],
  }),
  aws: (where, ctx, inputs, services) => {
    const ecs = new (awsComponents().EcsIngestion)(
      "ingestion",
      {
        ...ecsIngestionArgs(ctx.cfg.ingestion!, services, {
          environment: ctx.cfg.environment,
          logRetentionDays: ctx.logRetentionDays,
          safety: ctx.cfg.safety,
        }),
        placement: where.placement,
        ...connections(inputs),
        ...(inputs.alb && { targetGroups: inputs.alb.targetGroups }),
      },
      { dependsOn: present([...dataTiers(inputs), inputs.alb?.resource]) },
    );
    return { resource: ecs, alarmSpecs: ecs.alarmSpecs };
  },
};

/** The ingestion tier. Writers of a tier frozen for a cutover are not built (their routes answer "maintenance"). */
export function buildIngestion(ctx: BuildContext, inputs: AppInputs): BuiltApp | undefined {
  const ingestion = ctx.cfg.ingestion;
  if (!ingestion) return undefined;
  const frozen = new Set(frozenServices(ctx.cfg));
  const running = Object.keys(ingestion.services).filter((svc) => !frozen.has(svc));
  return onKind(INGESTION, ctx.placeOn(ingestion.on), ctx, inputs, running);
}

const BASEMAP: ByKind<[BuildContext, AppInputs], BuiltApp> = {
  docker: (where, { cfg }, inputs) => ({
    resource: new DockerBasemap(
      "basemap",
      {
        ...dockerBasemapArgs(cfg.basemap!),
        placement: where.placement,
        database: inputs.database?.connection,
        // Martin reads PMTiles with its own read-only user.
        ...(inputs.storage &&
          cfg.basemap!.pmtiles.length > 0 && {
            storage: inputs.storage.connectionFor(STORAGE_CONSUMER.basemap),
          }),
        dependsOn: present([inputs.database?.bootstrap]),
      },
      { dependsOn: present([inputs.storage?.resource]) },
    ),
    alarmSpecs: [],
  }),
  aws: (where, ctx, inputs) => {
    const targetGroup = inputs.alb?.targetGroups["basemap"];
    const ecs = new (awsComponents().EcsBasemap)(
      "basemap",
      {
        ...ecsBasemapArgs(ctx.cfg.basemap!, {
          environment: ctx.cfg.environment,
          logRetentionDays: ctx.logRetentionDays,
        }),
        placement: where.placement,
        ...connections(inputs),
        ...(targetGroup && { targetGroup }),
      },
      { dependsOn: present([...dataTiers(inputs), inputs.alb?.resource]) },
    );
    return { resource: ecs, alarmSpecs: ecs.alarmSpecs };
  },
};

/** The basemap tier (Martin, with its tile cache and import job on Docker). */
export function buildBasemap(ctx: BuildContext, inputs: AppInputs): BuiltApp | undefined {
  const basemap = ctx.cfg.basemap;
  return basemap && onKind(BASEMAP, ctx.placeOn(basemap.on), ctx, inputs);
}
