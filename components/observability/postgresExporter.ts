/**
 * The PostgreSQL exporter `DockerObservability` runs when given a `monitoring` connection: prometheus-community's
 * postgres_exporter, logged in as the database's `monitoring` role (`pg_monitor`: server statistics, no data),
 * scraped by Prometheus on the backend network. What it relies on in the image, at the pinned v0.20.1:
 * - the connection from `DATA_SOURCE_URI` (`host:port/db?params`), `DATA_SOURCE_USER` and `DATA_SOURCE_PASS`
 *   (exporter/datasource.go `GetDataSources`): the password is a Pulumi secret in the container's environment, never
 *   in its arguments;
 * - metrics on `:9187` `/metrics` (cmd/postgres_exporter/main.go defaults), the busybox base (Dockerfile:
 *   `quay.io/prometheus/busybox`) for a `wget` health check, `USER nobody`.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { DockerPlacement } from "../shared/placement";
import { type Transform, transformed } from "../shared/component";
import { attachNetworks, containerName, healthProbe, pullImage } from "../shared/docker";
import { type ArgsIssue } from "../shared/errors";
import { dockerLabels } from "../shared/labels";
import type { ScrapeTarget } from "./contract";
import { type PostgresAlertsArgs, postgresAlertIssues } from "./postgresAlerts";

/** Pinned: the metric names the rules use (postgresAlerts.ts) are checked at this version. */
export const POSTGRES_EXPORTER_IMAGE = "prometheuscommunity/postgres-exporter:v0.20.1";
export const POSTGRES_EXPORTER = {
  host: "postgres-exporter",
  port: 9187,
  memoryMb: 64,
  minMemoryMb: 32,
} as const;

/** The login the exporter uses: the database's `monitoring` role (`DockerDatabase.monitoring`). */
export interface PostgresMonitoringConnection {
  host: pulumi.Input<string>;
  port: pulumi.Input<number>;
  database: pulumi.Input<string>;
  user: pulumi.Input<string>;
  /** A Pulumi secret. */
  password: pulumi.Input<string>;
}

export interface PostgresExporterArgs {
  /** How it logs in: a role with `pg_monitor`, never a superuser. */
  connection: PostgresMonitoringConnection;
  /** @default POSTGRES_EXPORTER_IMAGE */
  image?: string;
  /** Memory limit, in MB (at least 32). @default 64 */
  memoryMb?: number;
  /** Connection saturation and long-transaction thresholds. @default POSTGRES_ALERT_DEFAULTS */
  alerts?: PostgresAlertsArgs;
  /** Escape hatch for the container. @default none */
  transform?: Transform<docker.ContainerArgs>;
}

/** What is wrong with the exporter's args, under `prefix`. */
export function postgresExporterIssues(prefix: string, args: PostgresExporterArgs | undefined): ArgsIssue[] {
  if (!args) return [];
  const mb = args.memoryMb;
  return [
    ...(mb !== undefined && !(Number.isInteger(mb) && mb >= POSTGRES_EXPORTER.minMemoryMb)
      ? [
          {
            path: `${prefix}.memoryMb`,
            message: `must be a whole number of MB, at least ${POSTGRES_EXPORTER.minMemoryMb}`,
          },
        ]
      : []),
    ...postgresAlertIssues(`${prefix}.alerts`, args.alerts),
  ];
}

/** Its scrape target, labelled with the database tier (the metrics are the database's). */
export const postgresExporterScrapeTarget = (): ScrapeTarget => ({
  job: "postgres",
  tier: "database",
  addresses: [`${POSTGRES_EXPORTER.host}:${POSTGRES_EXPORTER.port}`],
});

/** The exporter's image and container, children of `parent` named `${name}-postgres-exporter…`. */
export function createPostgresExporter(
  name: string,
  parent: pulumi.Resource,
  placement: DockerPlacement,
  args: PostgresExporterArgs,
): { image: docker.RemoteImage; container: docker.Container } {
  const image = pullImage(
    `${name}-postgres-exporter-image`,
    args.image ?? POSTGRES_EXPORTER_IMAGE,
    parent,
    placement,
  );
  const c = args.connection;
  const [containerArgs, opts] = transformed<docker.ContainerArgs>(
    args.transform,
    {
      name: containerName("observability", "postgres-exporter"),
      image: image.imageId,
      envs: [
        // The backend network is private to the target; the server there has no TLS.
        pulumi.interpolate`DATA_SOURCE_URI=${c.host}:${c.port}/${c.database}?sslmode=disable`,
        pulumi.interpolate`DATA_SOURCE_USER=${c.user}`,
        pulumi.secret(pulumi.interpolate`DATA_SOURCE_PASS=${c.password}`),
      ],
      networksAdvanced: attachNetworks(placement, POSTGRES_EXPORTER.host),
      healthcheck: healthProbe(
        ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${POSTGRES_EXPORTER.port}/`],
        { startPeriod: "10s" },
      ),
      wait: true,
      waitTimeout: 120,
      restart: "unless-stopped",
      memory: args.memoryMb ?? POSTGRES_EXPORTER.memoryMb,
      labels: dockerLabels("observability", { "stackport.role": "postgres-exporter" }),
    },
    { parent, provider: placement.provider },
  );
  return { image, container: new docker.Container(`${name}-postgres-exporter`, containerArgs, opts) };
}
