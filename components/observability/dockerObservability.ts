import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DockerPlacement } from "../shared/placement";
import { type StatefulSafety, type Transform, transformed } from "../shared/component";
import {
  type HostBinding,
  attachNetworks,
  containerName,
  publishedPorts,
  pullImage,
  statefulVolume,
  healthProbe,
  cacheVolume,
  oneShotJob,
} from "../shared/docker";
import { type ArgsIssue, argPath, assertValidArgs } from "../shared/errors";
import { dockerLabels } from "../shared/labels";
import { scriptHeader, shQuote } from "../shared/shell";
import { DOCKER_SOCKET, alloyReadyScript, renderAlloyConfig } from "./alloy";
import type { ScrapeTarget } from "./contract";
import {
  DASHBOARDS_DIR,
  renderGrafanaDashboardProvider,
  renderGrafanaDatasources,
  renderPlatformDashboard,
} from "./grafana";
import {
  OBSERVABILITY_TIER,
  PROMETHEUS_SECRETS_DIR,
  SECRET_FILE_NAME,
  ownScrapeTargets,
  renderAlertRules,
  renderPrometheusConfig,
} from "./prometheus";
import {
  DOCKER_OBSERVABILITY_DEFAULTS,
  OBSERVABILITY_IMAGES,
  OBSERVABILITY_MEMORY_MB,
  OBSERVABILITY_SERVICES,
  type ObservabilityAlertsArgs,
  observabilityUpstreams,
  resolveAlerts,
  validateDockerObservabilityArgs,
} from "./settings";
import type { Upstream } from "../proxy/contract";
import {
  POSTGRES_EXPORTER_IMAGE,
  type PostgresExporterArgs,
  createPostgresExporter,
  postgresExporterIssues,
  postgresExporterScrapeTarget,
} from "./postgresExporter";
import { resolvePostgresAlerts } from "./postgresAlerts";

export interface DockerObservabilityArgs {
  /** The Docker target the containers run on (`DockerTarget.placement`). */
  placement: DockerPlacement;
  /** Changing an image replaces that container (its data volume stays). @default OBSERVABILITY_IMAGES.prometheus */
  prometheusImage?: string;
  /** Changing it replaces the Grafana container (its database volume stays). @default OBSERVABILITY_IMAGES.grafana */
  grafanaImage?: string;
  /** Must stay ≥ 3.7 (its health check is `loki -health`). @default OBSERVABILITY_IMAGES.loki */
  lokiImage?: string;
  /** The log collector's image. @default OBSERVABILITY_IMAGES.alloy */
  alloyImage?: string;
  /** How long Prometheus keeps samples, 1–3650 days. @default 15 */
  retentionDays?: number;
  /** Scrape and rule-evaluation interval, 5–300 s. @default 30 */
  scrapeIntervalSeconds?: number;
  /** Alert thresholds; each field has its default. @default ALERT_DEFAULTS */
  alerts?: ObservabilityAlertsArgs;
  /** Publish Grafana on the Docker host. @default not published */
  publishGrafana?: HostBinding;
  /** Publish Prometheus on the Docker host. @default not published */
  publishPrometheus?: HostBinding;
  /** Collect the stack's container logs: Loki + Grafana Alloy (the only container given the Docker socket). @default true */
  logs?: boolean;
  /** Memory limits in MB, per container. @default OBSERVABILITY_MEMORY_MB */
  memoryMb?: { prometheus?: number; grafana?: number; loki?: number; alloy?: number };
  /** `protect` / `retainOnDelete` of the data volumes. @default { protect: true, retainOnDelete: true } */
  safety?: StatefulSafety;
  /** The other tiers' metrics endpoints. Job names must be unique and differ from this tier's own jobs. @default [] */
  targets?: ScrapeTarget[];
  /** A proxy route points at Grafana: it joins the edge network too. @default false */
  routed?: boolean;
  /**
   * Secret files for Prometheus, by file name: the bearer tokens scrape targets name in `bearerToken` (e.g.
   * `{ "storage-metrics.token": storage.metricsToken }`). Uploaded under `/etc/prometheus/secrets/` and read at each
   * scrape, never passed as arguments. A new token replaces the container.
   * @default {}
   */
  scrapeSecrets?: Record<string, pulumi.Input<string>>;
  /**
   * A PostgreSQL exporter (prometheus-community's, pinned) logged in as the database's `monitoring` role
   * (`DockerDatabase.monitoring`), scraped as job `postgres`, with alerts on connection saturation, long
   * transactions and an unreachable server. The database must be on the same target (its backend network).
   * @default none
   * @example { connection: database.monitoring!, alerts: { connectionsPercent: 85 } }
   */
  postgresExporter?: PostgresExporterArgs;
  /** Per-child escape hatches. @default none */
  transform?: {
    prometheusData?: Transform<docker.VolumeArgs>;
    prometheus?: Transform<docker.ContainerArgs>;
    grafanaData?: Transform<docker.VolumeArgs>;
    grafana?: Transform<docker.ContainerArgs>;
    lokiData?: Transform<docker.VolumeArgs>;
    loki?: Transform<docker.ContainerArgs>;
    alloy?: Transform<docker.ContainerArgs>;
  };
}

const { prometheus: PROM, grafana: GRAFANA, loki: LOKI, alloy: ALLOY } = OBSERVABILITY_SERVICES;
const PROMETHEUS_CONFIG = "/etc/prometheus/prometheus.yml";
/** Relative to the config file, so `promtool check config` resolves it the same way in tests. */
const RULES_FILE = "rules/stackport.yml";
const GRAFANA_PROVISIONING = "/etc/grafana/provisioning";
export const ALLOY_CONFIG_PATH = "/etc/alloy/config.alloy";
const GRAFANA_ADMIN_USER = "admin";

/** Observability containers start slowly on small hosts (TSDB replay, Grafana migrations): more retries. */
const probe = (tests: string[], startPeriod: string) => healthProbe(tests, { startPeriod, retries: 10 });

/**
 * Observability on Docker: Prometheus (rendered scrape config and alert rules), Grafana (provisioned datasources and
 * the platform dashboard, admin password from `@pulumi/random`), and — unless `logs: false` — Loki with Grafana
 * Alloy shipping the stack's container logs. Metrics, Grafana's database and logs live on protected named volumes.
 * Only Alloy reaches the Docker socket. Nothing is published on the host unless configured (loopback in `local`).
 * @example
 * const observability = new DockerObservability("observability", {
 *   placement: target.placement,
 *   targets: [...dockerStorageScrapeTargets(), ...ingestion.scrapeTargets],
 *   alerts: { freshness: { bucket: "raw", maxAgeMinutes: 120 } },
 *   publishGrafana: { port: 3000, address: "127.0.0.1" },
 * });
 */
export class DockerObservability extends pulumi.ComponentResource {
  /** Grafana's `admin` password (secret). */
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** Prometheus on the backend network. */
  readonly prometheusUrl: pulumi.Output<string>;
  /** Grafana on the backend network. */
  readonly grafanaUrl: pulumi.Output<string>;
  /** What a proxy can route to (`DockerProxyArgs.upstreams`): `grafana`. */
  readonly upstreams: Record<string, Upstream> = observabilityUpstreams();
  readonly nodes: {
    images: Record<"prometheus" | "grafana", docker.RemoteImage> &
      Partial<Record<"loki" | "alloy", docker.RemoteImage>>;
    grafanaAdminPassword: random.RandomPassword;
    prometheusData: docker.Volume;
    prometheus: docker.Container;
    grafanaData: docker.Volume;
    grafana: docker.Container;
    lokiData?: docker.Volume;
    loki?: docker.Container;
    alloy?: docker.Container;
    /** The PostgreSQL exporter and its image, when `postgresExporter` is given. */
    postgresExporter?: { image: docker.RemoteImage; container: docker.Container };
    /** The volume holding `scrapeSecrets` and the job that writes them (when there are any). */
    secrets?: { volume: docker.Volume; job: docker.Container };
  };

  constructor(name: string, args: DockerObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    assertValidArgs(`stackport:docker:Observability '${name}'`, [
      ...validateDockerObservabilityArgs(args),
      ...scrapeSecretIssues(args.targets ?? [], args.scrapeSecrets ?? {}),
      ...postgresExporterIssues("postgresExporter", args.postgresExporter),
    ]);
    const { placement, transform } = args;
    const config = normalize(args);
    const safety = args.safety ?? { protect: true, retainOnDelete: true };
    // Every file is rendered before anything is registered: a duplicate job name or a bad address fails here.
    const exporter = args.postgresExporter;
    const targets = [
      ...config.targets,
      ...ownScrapeTargets(config.logs),
      ...(exporter ? [postgresExporterScrapeTarget()] : []),
    ];
    const prometheusYml = renderPrometheusConfig({
      scrapeIntervalSeconds: config.scrapeIntervalSeconds,
      targets,
      ruleFiles: [RULES_FILE],
    });
    const rules = renderAlertRules({
      ...config.alerts,
      ...(exporter && { postgres: resolvePostgresAlerts(exporter.alerts) }),
    });
    const lokiUrl = `http://${LOKI.host}:${LOKI.port}`;
    const prometheusUrl = `http://${PROM.host}:${PROM.port}`;
    const datasources = renderGrafanaDatasources({
      prometheusUrl,
      ...(config.logs && { lokiUrl }),
      scrapeIntervalSeconds: config.scrapeIntervalSeconds,
    });
    const dashboard = renderPlatformDashboard({ jobs: targets.map((t) => t.job), logs: config.logs });

    const { targets: otherTargets, ...settings } = config;
    // The exporter's settings, not its connection (a secret).
    const exporterSettings = exporter && {
      image: exporter.image ?? POSTGRES_EXPORTER_IMAGE,
      alerts: resolvePostgresAlerts(exporter.alerts),
    };
    super(
      "stackport:docker:Observability",
      name,
      {
        config: { ...settings, ...(exporterSettings && { postgresExporter: exporterSettings }) },
        targets: otherTargets,
      },
      opts,
    );
    const provider = placement.provider;
    const stack = pulumi.getStack();
    const labels = (role: string) => dockerLabels(OBSERVABILITY_TIER, { "stackport.role": role });

    const volume = (role: string, t?: Transform<docker.VolumeArgs>) =>
      statefulVolume(`${name}-${role}-data`, this, {
        placement,
        safety,
        tier: OBSERVABILITY_TIER,
        parts: [OBSERVABILITY_TIER, role, "data"],
        role: `${role}-data`,
        transform: t,
      });
    const container = (
      role: string,
      t: Transform<docker.ContainerArgs> | undefined,
      containerArgs: docker.ContainerArgs,
      extra: pulumi.CustomResourceOptions = {},
    ) => {
      const [finalArgs, finalOpts] = transformed<docker.ContainerArgs>(t, containerArgs, {
        ...extra,
        parent: this,
        provider,
      });
      return new docker.Container(`${name}-${role}`, finalArgs, finalOpts);
    };

    const images = {
      prometheus: pullImage(`${name}-prometheus-image`, config.prometheusImage, this, placement),
      grafana: pullImage(`${name}-grafana-image`, config.grafanaImage, this, placement),
      ...(config.logs && {
        loki: pullImage(`${name}-loki-image`, config.lokiImage, this, placement),
        alloy: pullImage(`${name}-alloy-image`, config.alloyImage, this, placement),
      }),
    };

    const prometheusData = volume("prometheus", transform?.prometheusData);
    // Scrape secrets reach Prometheus as files on a volume a one-shot job writes from its (secret) environment:
    // never in Prometheus' arguments, and not in its uploads, which would hide prometheus.yml from the plan.
    const scrapeSecrets = Object.entries(args.scrapeSecrets ?? {}).sort(([a], [b]) => a.localeCompare(b));
    let secrets: { volume: docker.Volume; job: docker.Container } | undefined;
    if (scrapeSecrets.length > 0) {
      const secretsVolume = cacheVolume(`${name}-secrets-data`, this, {
        placement,
        tier: OBSERVABILITY_TIER,
        parts: [OBSERVABILITY_TIER, "secrets"],
        role: "secrets",
      });
      const { job } = oneShotJob(`${name}-secrets`, this, {
        tier: OBSERVABILITY_TIER,
        role: "secrets",
        placement,
        image: images.prometheus.imageId,
        script: renderSecretFilesScript(scrapeSecrets.map(([file]) => file)),
        envs: scrapeSecrets.map(([, value], i) =>
          pulumi.secret(pulumi.interpolate`${secretFileEnv(i)}=${value}`),
        ),
        purpose: "Prometheus secret files",
        dependsOn: [],
        // Root writes the files, then hands them to Prometheus' user (the image runs as nobody).
        transform: (a) => {
          a.user = "0";
          a.volumes = [{ volumeName: secretsVolume.name, containerPath: SECRETS_MOUNT }];
        },
      });
      secrets = { volume: secretsVolume, job };
    }
    const prometheus = container(
      "prometheus",
      transform?.prometheus,
      {
        name: containerName(OBSERVABILITY_TIER, "prometheus"),
        image: images.prometheus.imageId,
        command: [
          `--config.file=${PROMETHEUS_CONFIG}`,
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${config.retentionDays}d`,
          // No --web.enable-lifecycle: with it, anything on the backend network could POST /-/quit or /-/reload.
          // A change of the rendered files replaces the container (uploads force replacement), which applies it.
        ],
        uploads: [
          { file: PROMETHEUS_CONFIG, content: prometheusYml },
          { file: `/etc/prometheus/${RULES_FILE}`, content: rules },
        ],
        volumes: [
          { volumeName: prometheusData.name, containerPath: "/prometheus" },
          ...(secrets
            ? [{ volumeName: secrets.volume.name, containerPath: PROMETHEUS_SECRETS_DIR, readOnly: true }]
            : []),
        ],
        networksAdvanced: attachNetworks(placement, PROM.host),
        ports: publishedPorts(PROM.port, config.publishPrometheus),
        // The image is busybox-based: wget is there.
        healthcheck: probe(
          ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${PROM.port}/-/ready`],
          "10s",
        ),
        wait: true,
        waitTimeout: 120,
        restart: "unless-stopped",
        memory: config.memoryMb.prometheus,
        labels: labels("prometheus"),
      },
      secrets ? { dependsOn: [secrets.job] } : {},
    );

    const grafanaAdminPassword = new random.RandomPassword(
      `${name}-grafana-admin-password`,
      { length: 32, special: false },
      { parent: this },
    );
    const grafanaData = volume("grafana", transform?.grafanaData);
    const grafana = container("grafana", transform?.grafana, {
      name: containerName(OBSERVABILITY_TIER, "grafana"),
      image: images.grafana.imageId,
      envs: [
        `GF_SECURITY_ADMIN_USER=${GRAFANA_ADMIN_USER}`,
        // Applied when Grafana creates its database (first start on an empty volume).
        pulumi.interpolate`GF_SECURITY_ADMIN_PASSWORD=${grafanaAdminPassword.result}`,
        "GF_USERS_ALLOW_SIGN_UP=false",
        "GF_AUTH_ANONYMOUS_ENABLED=false",
        // No calls home from a self-hosted platform.
        "GF_ANALYTICS_REPORTING_ENABLED=false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES=false",
        `GF_PATHS_PROVISIONING=${GRAFANA_PROVISIONING}`,
      ],
      uploads: [
        { file: `${GRAFANA_PROVISIONING}/datasources/stackport.yaml`, content: datasources },
        {
          file: `${GRAFANA_PROVISIONING}/dashboards/stackport.yaml`,
          content: renderGrafanaDashboardProvider(),
        },
        { file: `${DASHBOARDS_DIR}/platform.json`, content: dashboard },
      ],
      volumes: [{ volumeName: grafanaData.name, containerPath: "/var/lib/grafana" }],
      networksAdvanced: attachNetworks(placement, GRAFANA.host, { edge: config.routed }),
      ports: publishedPorts(GRAFANA.port, config.publishGrafana),
      // The default image is Alpine-based: busybox wget.
      healthcheck: probe(
        ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${GRAFANA.port}/api/health`],
        "30s",
      ),
      wait: true,
      waitTimeout: 180,
      restart: "unless-stopped",
      memory: config.memoryMb.grafana,
      labels: labels("grafana"),
    });

    let lokiData: docker.Volume | undefined;
    let loki: docker.Container | undefined;
    let alloy: docker.Container | undefined;
    if (images.loki && images.alloy) {
      lokiData = volume("loki", transform?.lokiData);
      loki = container("loki", transform?.loki, {
        name: containerName(OBSERVABILITY_TIER, "loki"),
        image: images.loki.imageId,
        // The image's single-binary filesystem config: auth off, TSDB schema v13, data under /loki.
        command: ["-config.file=/etc/loki/local-config.yaml"],
        volumes: [{ volumeName: lokiData.name, containerPath: "/loki" }],
        networksAdvanced: attachNetworks(placement, LOKI.host),
        // Distroless since 3.6 (no shell, no wget: grafana/loki#20149); 3.7 added a self-check (grafana/loki#20313).
        healthcheck: probe(["CMD", "/usr/bin/loki", "-health"], "30s"),
        wait: true,
        waitTimeout: 180,
        restart: "unless-stopped",
        memory: config.memoryMb.loki,
        labels: labels("loki"),
      });
      alloy = container(
        "alloy",
        transform?.alloy,
        {
          name: containerName(OBSERVABILITY_TIER, "alloy"),
          image: images.alloy.imageId,
          command: [
            "run",
            `--server.http.listen-addr=0.0.0.0:${ALLOY.port}`,
            "--storage.path=/var/lib/alloy/data",
            ALLOY_CONFIG_PATH,
          ],
          uploads: [
            {
              file: ALLOY_CONFIG_PATH,
              content: renderAlloyConfig({ lokiUrl: `${lokiUrl}/loki/api/v1/push`, stack }),
            },
          ],
          // The only container with the Docker socket: it discovers containers and reads their logs. Read-only
          // stops the mount being replaced, not API calls — see docs/observability.md.
          volumes: [{ hostPath: DOCKER_SOCKET, containerPath: DOCKER_SOCKET, readOnly: true }],
          networksAdvanced: attachNetworks(placement, ALLOY.host),
          healthcheck: probe(["CMD", "bash", "-c", alloyReadyScript(ALLOY.port)], "10s"),
          wait: true,
          waitTimeout: 120,
          restart: "unless-stopped",
          memory: config.memoryMb.alloy,
          labels: labels("log-collector"),
        },
        { dependsOn: [loki] },
      );
    }

    const postgresExporter = exporter && createPostgresExporter(name, this, placement, exporter);

    this.nodes = {
      images,
      ...(postgresExporter && { postgresExporter }),
      ...(secrets && { secrets }),
      grafanaAdminPassword,
      prometheusData,
      prometheus,
      grafanaData,
      grafana,
      ...(lokiData && { lokiData }),
      ...(loki && { loki }),
      ...(alloy && { alloy }),
    };
    this.grafanaAdminPassword = pulumi.secret(grafanaAdminPassword.result);
    this.prometheusUrl = pulumi.output(prometheusUrl);
    this.grafanaUrl = pulumi.output(`http://${GRAFANA.host}:${GRAFANA.port}`);
    this.registerOutputs({
      prometheusUrl: this.prometheusUrl,
      grafanaUrl: this.grafanaUrl,
      grafanaAdminUser: GRAFANA_ADMIN_USER,
      grafanaAdminPassword: this.grafanaAdminPassword,
    });
  }
}

/** Where the secret-files job mounts the volume Prometheus reads at `PROMETHEUS_SECRETS_DIR`. */
const SECRETS_MOUNT = "/secrets";
/** Prometheus' user in its image (`USER nobody`). */
const PROMETHEUS_UID = "65534";
const secretFileEnv = (i: number) => `STACKPORT_SECRET_FILE_${i}`;

/**
 * Writes each secret file from its variable (`printf` is a built-in: no secret in any argument), readable by
 * Prometheus' user only, and removes files no longer given.
 */
export function renderSecretFilesScript(files: string[], dir = SECRETS_MOUNT): string {
  const lines = [scriptHeader("write Prometheus' secret files"), "umask 077", `cd ${shQuote(dir)}`];
  files.forEach((file, i) => {
    const name = shQuote(file);
    lines.push(
      `printf '%s' "$${secretFileEnv(i)}" >${name}.new`,
      `chown ${PROMETHEUS_UID}:${PROMETHEUS_UID} ${name}.new`,
      `chmod 0400 ${name}.new`,
      `mv ${name}.new ${name}`,
    );
  });
  lines.push(
    `for f in *; do`,
    `  case "$f" in`,
    `    ${files.map(shQuote).join(" | ") || "''"}) ;;`,
    `    *) [ ! -e "$f" ] || rm -f -- "$f" ;;`,
    "  esac",
    "done",
    `echo "stackport: ${files.length} secret file(s) written"`,
    "",
  );
  return lines.join("\n");
}

/** Every bearer token a target names is given, as a plain file name; no token is given that nothing uses. */
function scrapeSecretIssues(targets: ScrapeTarget[], secrets: Record<string, unknown>): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const wanted = new Set(targets.flatMap((t) => (t.bearerToken ? [t.bearerToken] : [])));
  targets.forEach((t, i) => {
    if (t.bearerToken && !(t.bearerToken in secrets))
      issues.push({
        path: argPath("targets", i, "bearerToken"),
        message: `names '${t.bearerToken}', which scrapeSecrets does not have`,
      });
  });
  for (const file of Object.keys(secrets)) {
    if (!SECRET_FILE_NAME.test(file))
      issues.push({ path: argPath("scrapeSecrets", file), message: "must be a plain file name" });
    else if (!wanted.has(file))
      issues.push({ path: argPath("scrapeSecrets", file), message: "no scrape target uses it" });
  }
  return issues;
}

/** The args with every default applied (the component's recorded inputs). */
function normalize(args: DockerObservabilityArgs) {
  const d = DOCKER_OBSERVABILITY_DEFAULTS;
  return {
    prometheusImage: args.prometheusImage ?? OBSERVABILITY_IMAGES.prometheus,
    grafanaImage: args.grafanaImage ?? OBSERVABILITY_IMAGES.grafana,
    lokiImage: args.lokiImage ?? OBSERVABILITY_IMAGES.loki,
    alloyImage: args.alloyImage ?? OBSERVABILITY_IMAGES.alloy,
    retentionDays: args.retentionDays ?? d.retentionDays,
    scrapeIntervalSeconds: args.scrapeIntervalSeconds ?? d.scrapeIntervalSeconds,
    alerts: resolveAlerts(args.alerts),
    ...(args.publishGrafana && { publishGrafana: args.publishGrafana }),
    ...(args.publishPrometheus && { publishPrometheus: args.publishPrometheus }),
    logs: args.logs ?? d.logs,
    memoryMb: { ...OBSERVABILITY_MEMORY_MB, ...args.memoryMb },
    targets: args.targets ?? [],
    routed: args.routed ?? false,
  };
}
