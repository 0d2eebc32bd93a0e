/**
 * Rules that span keys and tiers — placements, backends per target kind, tiers that must share a target, port
 * clashes on one host, routes — run on the parsed config before anything is normalized or registered. Pure.
 */
import { validateAlbProxyArgs } from "../../components/proxy/albRules";
import { validateDockerProxyArgs } from "../../components/proxy/settings";
import { validateAwsTargetArgs } from "../../components/targets/awsNetwork";
import { validateDockerTargetArgs } from "../../components/targets/hostPrep";
import { configIssues, type ConfigIssue } from "./errors";
import { configKey } from "./keys";
import { type SourcedRoute, routeSources } from "./routes";
import type { PublishConfig } from "./schema";
import type { StackConfig } from "./stack";
import { checkBackups } from "./tiers/backups";
import { checkBasemap } from "./tiers/basemap";
import { CUTOVER_TIERS } from "./tiers/cutover";
import { checkIngestion, ingestionBindings } from "./tiers/ingestion";
import { checkObservability, observabilityBindings, resolveObservability } from "./tiers/observability";
import { type Cutover, cutoverProblems, objectMirrorPlan, placementFor } from "./phases";
import { consumedSide, parallelRunIssues } from "./parallelRun";
import { sourceIssues } from "./tiers/external";
import { upstreamCatalog } from "./upstreams";
import { checkStorage, resolveStorage, storageArgIssues } from "./tiers/storage";
import { checkDatabase, resolveDatabase } from "./tiers/database";
import { albUpstreams, exposureDecisionRequired, proxyBindAddress } from "./tiers/proxy";
import { dockerTargetArgs, resolveTarget, targetKey } from "./tiers/targets";

/** Tiers placed with `on:`; every one has a Docker and an AWS backend. */
export const PLACED_TIERS = [
  "storage",
  "database",
  "proxy",
  "ingestion",
  "basemap",
  "observability",
] as const;
export type PlacedTier = (typeof PLACED_TIERS)[number];

export function crossCheck(cfg: StackConfig): ConfigIssue[] {
  const issues = [...targetIssues(cfg), ...placementIssues(cfg), ...sharedTargetIssues(cfg)];
  issues.push(
    ...checkStorage(cfg),
    ...checkDatabase(cfg),
    ...storageArgIssues(cfg),
    ...checkIngestion(cfg),
    ...checkBasemap(cfg),
    ...checkObservability(cfg),
    ...checkBackups(cfg),
    ...portClashes(cfg),
    ...routeProblems(cfg),
    ...awsIssues(cfg),
    ...awsBlocksOnDocker(cfg),
    ...cutoverIssues(cfg),
    ...sourceIssues(cfg),
    ...parallelRunIssues(cfg),
  );
  // A key may be reported by two rules (e.g. a tier check and the route check); say it once.
  const seen = new Set<string>();
  return issues.filter((i) => !seen.has(`${i.key}\n${i.message}`) && seen.add(`${i.key}\n${i.message}`));
}

/** Each target's settings as its component checks them: a target's config keys are its component's arg paths. */
function targetIssues(cfg: StackConfig): ConfigIssue[] {
  return Object.entries(cfg.targets).flatMap(([name, config]) => {
    const target = resolveTarget(config, cfg.environment);
    if (target.kind === "external") return []; // nothing of stackport's runs there
    return configIssues(
      target.kind === "docker"
        ? validateDockerTargetArgs(dockerTargetArgs(target))
        : validateAwsTargetArgs(target),
      (path) => targetKey(name, path),
    );
  });
}

function placementIssues(cfg: StackConfig): ConfigIssue[] {
  const targetNames = Object.keys(cfg.targets);
  return PLACED_TIERS.flatMap((tier) => {
    const placed = cfg[tier];
    if (!placed || cfg.targets[placed.on]) return [];
    return [
      {
        key: configKey([tier, "on"]),
        message: `unknown target '${placed.on}'; targets of this stack: ${targetNames.join(", ")}`,
      },
    ];
  });
}

const targetOf = (cfg: StackConfig, tier: PlacedTier) => cfg[tier]?.on;
const kindOf = (cfg: StackConfig, tier: PlacedTier) => {
  const on = targetOf(cfg, tier);
  return on ? cfg.targets[on]?.kind : undefined;
};

/**
 * Tiers that talk over a private network must share a target: a Docker backend network or an AWS VPC does not
 * reach another host's. (During a cutover the tier runs on both targets; consumers follow `serving`.)
 */
function sharedTargetIssues(cfg: StackConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  // A tier being cut over serves from one side at a time: its consumers must sit with that side (or, in a parallel
  // run, with the copy on the `to` side).
  const servingTarget = (tier: PlacedTier, consumerOn: string | undefined) => {
    const on = targetOf(cfg, tier);
    const cutover = (cfg.cutover as Record<string, Cutover | undefined> | undefined)?.[tier];
    return on && cutover ? consumedSide(on, cutover, consumerOn) : on;
  };
  const needs = (consumer: PlacedTier, provider: PlacedTier, path: PropertyKey[], why: string) => {
    const a = targetOf(cfg, consumer);
    const b = servingTarget(provider, a);
    if (a && b && a !== b && cfg.targets[a] && cfg.targets[b]) {
      issues.push({
        key: configKey(path),
        message: `${why}, but stackport:${provider} ${b === targetOf(cfg, provider) ? "is on" : "is served from (cutover)"} '${b}' and stackport:${consumer} on '${a}'; place both on one target`,
      });
    }
  };
  for (const [svc, s] of Object.entries(cfg.ingestion?.services ?? {})) {
    if (s.connections.database) {
      needs(
        "ingestion",
        "database",
        ["ingestion", "services", svc, "connections", "database"],
        "uses the database",
      );
    }
    if (s.connections.storage) {
      needs(
        "ingestion",
        "storage",
        ["ingestion", "services", svc, "connections", "storage"],
        "uses object storage",
      );
    }
  }
  if (cfg.basemap?.postgis) needs("basemap", "database", ["basemap", "postgis"], "serves PostGIS tables");
  if (cfg.basemap?.pmtiles.length)
    needs("basemap", "storage", ["basemap", "pmtiles"], "serves PMTiles from storage");
  const catalog = upstreamCatalog(cfg);
  for (const { route, path } of routeSources(cfg)) {
    const upstream = catalog[route.to];
    if (upstream && upstream.tier !== "proxy") {
      needs("proxy", upstream.tier as PlacedTier, [...path, "to"], `routes to '${route.to}'`);
    }
  }
  return issues;
}

const isWildcard = (address: string) => address === "0.0.0.0";

interface Binding {
  key: string;
  target: string;
  address: string;
  port: number;
  /** @default "tcp" */
  protocol?: string;
  /** Set for a service's published port: clashes between services are the ingestion component's rule. */
  service?: boolean;
}

function portClashes(cfg: StackConfig): ConfigIssue[] {
  const bindings: Binding[] = [];
  const add = (path: PropertyKey[], target: string, b: PublishConfig | undefined) => {
    if (b) bindings.push({ key: configKey(path), target, address: b.address, port: b.port });
  };
  if (cfg.storage) {
    const storage = resolveStorage(cfg.storage, cfg.environment);
    add(["storage", "publishApi", "port"], cfg.storage.on, storage.publishApi);
    add(["storage", "publishConsole", "port"], cfg.storage.on, storage.publishConsole);
  }
  if (cfg.database) {
    add(
      ["database", "publish", "port"],
      cfg.database.on,
      resolveDatabase(cfg.database, cfg.environment).publish,
    );
  }
  if (cfg.proxy && kindOf(cfg, "proxy") === "docker") {
    const address = proxyBindAddress(cfg.proxy, cfg.environment);
    add(["proxy", "httpPort"], cfg.proxy.on, { address, port: cfg.proxy.httpPort });
    if (cfg.proxy.tls.mode !== "http")
      add(["proxy", "httpsPort"], cfg.proxy.on, { address, port: cfg.proxy.httpsPort });
  }
  if (cfg.observability) {
    for (const { key, binding } of observabilityBindings(
      resolveObservability(cfg.observability, cfg.environment),
    )) {
      bindings.push({ key, target: cfg.observability.on, ...binding });
    }
  }
  if (cfg.ingestion) {
    for (const b of ingestionBindings(cfg.ingestion, cfg.targets[cfg.ingestion.on]))
      bindings.push({ ...b, target: cfg.ingestion.on, service: true });
  }
  const issues: ConfigIssue[] = [];
  bindings.forEach((b, i) => {
    const clash = bindings
      .slice(0, i)
      .find(
        (o) =>
          o.target === b.target &&
          o.port === b.port &&
          (o.protocol ?? "tcp") === (b.protocol ?? "tcp") &&
          !(o.service && b.service) &&
          (o.address === b.address || isWildcard(o.address) || isWildcard(b.address)),
      );
    if (clash) {
      issues.push({
        key: b.key,
        message: `port ${b.port} on target '${b.target}' is already taken by ${clash.key}; choose another port`,
      });
    }
  });
  return issues;
}

/**
 * The proxy's routes (its own and those other tiers derive) as the proxy component of its target kind checks them,
 * each problem named by the config key the route comes from.
 */
function routeProblems(cfg: StackConfig): ConfigIssue[] {
  if (!cfg.proxy) return [];
  const sources = routeSources(cfg);
  const routes = Object.fromEntries(sources.map((r) => [r.name, r.route]));
  const catalog = upstreamCatalog(cfg);
  const requireExposureDecision = exposureDecisionRequired(cfg.environment);
  const issues =
    kindOf(cfg, "proxy") === "aws"
      ? validateAlbProxyArgs({
          ...cfg.proxy.aws,
          domain: cfg.proxy.domain,
          routes,
          upstreams: albUpstreams(catalog),
          requireExposureDecision,
        })
      : validateDockerProxyArgs({ ...cfg.proxy, routes, upstreams: catalog, requireExposureDecision });
  return configIssues(issues, (path) => proxyKey(path, sources));
}

/** The config key of a proxy arg path: a route's path names where the route is defined, ALB settings are `aws.*`. */
function proxyKey(path: string, sources: SourcedRoute[]): string {
  const route = /^routes\.([^.[]+)(.*)$/.exec(path);
  if (route) {
    const source = sources.find((r) => r.name === route[1]);
    return source
      ? `${configKey(source.path)}${route[2]}`
      : configKey(["proxy", "routes", route[1]!]) + route[2];
  }
  const [head] = path.split(/[.[]/);
  const awsOnly = ["certificateArn", "hostedZoneId", "allowedCidrs", "idleTimeoutSeconds"];
  return `${configKey(["proxy", ...(awsOnly.includes(head!) ? ["aws"] : [])])}.${path}`;
}

/** AWS-only rules, checked here so they fail before registration (and without loading @pulumi/aws). */
/**
 * A tier's `aws` block on a Docker target has no effect: refused with its key, like every key without effect on the
 * placed target (the ingestion tier's own are in `checkIngestion`). A tier being cut over keeps it: its other side
 * may be on AWS. Not observability's: its `logRetentionDays` sets every AWS log group wherever the tier runs.
 */
function awsBlocksOnDocker(cfg: StackConfig): ConfigIssue[] {
  const cutovers = (cfg.cutover ?? {}) as Record<string, unknown>;
  return (["storage", "database", "proxy", "basemap"] as const).flatMap((tier) => {
    const placed = cfg[tier] as { on: string; aws?: unknown } | undefined;
    if (placed?.aws === undefined || kindOf(cfg, tier) !== "docker" || cutovers[tier] !== undefined)
      return [];
    return [
      {
        key: configKey([tier, "aws"]),
        message: `has no effect here: target '${placed.on}' is Docker, and the aws block configures the tier on AWS; remove it`,
      },
    ];
  });
}

function awsIssues(cfg: StackConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (cfg.basemap && kindOf(cfg, "basemap") === "aws") {
    if (cfg.basemap.import) {
      issues.push({
        key: configKey(["basemap", "import"]),
        message:
          "the import job runs on Docker targets only; run the import against RDS from a Docker target or CI",
      });
    }
    if (cfg.basemap.diskCache) {
      issues.push({
        key: configKey(["basemap", "diskCache"]),
        message:
          "the disk tile cache runs on Docker targets only (a Fargate task has no lasting volume); remove it, or raise cacheMb for Martin's in-memory cache",
      });
    }
  }
  if (cfg.database?.migrations && kindOf(cfg, "database") === "aws") {
    issues.push({
      key: configKey(["database", "migrations"]),
      message:
        "the migrations job runs on Docker targets only; on AWS run migrations from CI against the db_admin secret, or remove this key",
    });
  }
  if (cfg.backups && kindOf(cfg, "database") === "aws") {
    issues.push({
      key: configKey(["backups"]),
      message:
        "on AWS the database is backed up by RDS (automated backups and a final snapshot); remove stackport:backups and set stackport:database.aws.backupRetentionDays",
    });
  }
  return issues;
}

function cutoverIssues(cfg: StackConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const tier of CUTOVER_TIERS) {
    const cutover = cfg.cutover?.[tier];
    if (!cutover) continue;
    const placed = cfg[tier];
    if (!placed) {
      issues.push({
        key: configKey(["cutover", tier]),
        message: `stackport:${tier} is not placed; nothing to move`,
      });
      continue;
    }
    for (const message of cutoverProblems(tier, placed.on, cutover, Object.keys(cfg.targets))) {
      const [key, ...rest] = message.split(": ");
      issues.push({ key: key!, message: rest.join(": ") });
    }
  }
  const database = cfg.cutover?.database;
  const databaseCopy = cfg.database && database && placementFor(cfg.database.on, database).copy;
  const externalSource = database && cfg.targets[database.from]?.kind === "external";
  if (
    database &&
    databaseCopy &&
    databaseCopy !== "none" &&
    database.access &&
    !database.access.source &&
    !externalSource
  ) {
    issues.push({
      key: configKey(["cutover", "database", "access", "source"]),
      message: `is required: phase '${database.phase}' copies the database from '${database.from}', reached from this machine at { host, port } (only an external source is reached at its URL)`,
    });
  }
  if (database && databaseCopy && databaseCopy !== "none" && !database.access) {
    issues.push({
      key: configKey(["cutover", "database", "access"]),
      message: `phase '${database.phase}' copies the database (${databaseCopy} copy) from this machine: give { source: {host, port}, target: {host, port} } as this machine reaches them (an SSH tunnel, a VPN address)`,
    });
  }
  const storage = cfg.cutover?.storage;
  const known = (t: string) => cfg.targets[t] !== undefined;
  if (cfg.storage && storage && known(storage.from) && known(storage.to)) {
    const { mirror, copy } = placementFor(cfg.storage.on, storage);
    const plan = (mirror || copy === "final") && objectMirrorPlan(storage, (t) => cfg.targets[t]!.kind);
    if (plan && "problem" in plan) {
      issues.push({ key: configKey(["cutover", "storage", ...plan.key.split(".")]), message: plan.problem });
    }
  }
  return issues;
}
