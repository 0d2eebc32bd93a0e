/**
 * Pure renderers for Grafana's file provisioning: the datasources (Prometheus, and Loki when logs are collected),
 * the dashboard provider, and the platform overview dashboard. Datasource uids are fixed so the dashboard can refer
 * to them and survive a re-provisioning.
 */
import { stringify } from "yaml";

export const DATASOURCE_UIDS = { prometheus: "stackport-prometheus", loki: "stackport-loki" } as const;

/** Where the provisioned dashboards live in the container (outside the data volume: the files are the truth). */
export const DASHBOARDS_DIR = "/etc/grafana/dashboards";
export const PLATFORM_DASHBOARD_UID = "stackport-platform";

export interface DatasourcesInput {
  prometheusUrl: string;
  /** Omit when logs are off: the Loki datasource is then not provisioned. */
  lokiUrl?: string;
  /** Prometheus's scrape interval, so Grafana never asks for a finer step than there is data. */
  scrapeIntervalSeconds: number;
}

/** `provisioning/datasources/stackport.yaml`. `prune` removes a datasource dropped from the file (logs turned off). */
export function renderGrafanaDatasources(input: DatasourcesInput): string {
  const datasources = [
    {
      name: "Prometheus",
      type: "prometheus",
      uid: DATASOURCE_UIDS.prometheus,
      access: "proxy",
      url: input.prometheusUrl,
      isDefault: true,
      editable: false,
      jsonData: { timeInterval: `${input.scrapeIntervalSeconds}s` },
    },
    ...(input.lokiUrl === undefined
      ? []
      : [
          {
            name: "Loki",
            type: "loki",
            uid: DATASOURCE_UIDS.loki,
            access: "proxy",
            url: input.lokiUrl,
            isDefault: false,
            editable: false,
          },
        ]),
  ];
  return stringify({ apiVersion: 1, prune: true, datasources }, { lineWidth: 0 });
}

/** `provisioning/dashboards/stackport.yaml`: dashboards from files, read-only in the UI. */
export function renderGrafanaDashboardProvider(): string {
  return stringify(
    {
      apiVersion: 1,
      providers: [
        {
          name: "stackport",
          orgId: 1,
          folder: "stackport",
          type: "file",
          disableDeletion: true,
          allowUiUpdates: false,
          updateIntervalSeconds: 60,
          options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: false },
        },
      ],
    },
    { lineWidth: 0 },
  );
}

export interface PlatformDashboardInput {
  /** Every scrape job, for the `job` filter. */
  jobs: string[];
  /** Add the container-logs panel (Loki). */
  logs: boolean;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  description: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: DatasourceRef;
  targets: { refId: string; expr: string; legendFormat?: string; datasource: DatasourceRef }[];
  fieldConfig: { defaults: Record<string, unknown>; overrides: unknown[] };
  options: Record<string, unknown>;
}

interface DatasourceRef {
  type: string;
  uid: string;
}
const prometheus: DatasourceRef = { type: "prometheus", uid: DATASOURCE_UIDS.prometheus };
const loki: DatasourceRef = { type: "loki", uid: DATASOURCE_UIDS.loki };

/** The platform overview dashboard (Grafana dashboard JSON model). */
export function renderPlatformDashboard(input: PlatformDashboardInput): string {
  const jobs = [...new Set(input.jobs)].sort();
  const panels: Panel[] = [];
  const add = (
    p: Omit<Panel, "id" | "gridPos" | "targets" | "datasource" | "fieldConfig" | "options"> & {
      w: number;
      h: number;
      exprs: { expr: string; legendFormat?: string }[];
      datasource?: DatasourceRef;
      unit?: string;
      options?: Record<string, unknown>;
    },
  ) => {
    // Lay panels out left to right, wrapping at Grafana's 24-column width.
    const last = panels[panels.length - 1];
    let x = last ? last.gridPos.x + last.gridPos.w : 0;
    let y = last ? last.gridPos.y : 0;
    if (x + p.w > 24) {
      x = 0;
      y += Math.max(...panels.filter((q) => q.gridPos.y === y).map((q) => q.gridPos.h));
    }
    const datasource = p.datasource ?? prometheus;
    panels.push({
      id: panels.length + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      gridPos: { x, y, w: p.w, h: p.h },
      datasource,
      targets: p.exprs.map((e, i) => ({ refId: String.fromCharCode(65 + i), datasource, ...e })),
      fieldConfig: { defaults: p.unit ? { unit: p.unit } : {}, overrides: [] },
      options: p.options ?? {},
    });
  };

  const job = 'job=~"$job"';
  add({
    type: "stat",
    title: "Targets up",
    description: "1 when Prometheus can scrape the job's every address.",
    w: 12,
    h: 6,
    exprs: [{ expr: `min by (job) (up{${job}})`, legendFormat: "{{job}}" }],
    options: { reduceOptions: { calcs: ["lastNotNull"] }, colorMode: "background" },
  });
  add({
    type: "table",
    title: "Firing alerts",
    description: "Alerts from stackport's rules that are firing now.",
    w: 12,
    h: 6,
    exprs: [{ expr: 'ALERTS{alertstate="firing"}' }],
  });
  add({
    type: "timeseries",
    title: "Time since last successful ingest",
    description: "stackport_ingest_last_success_timestamp_seconds, per job (see docs/observability.md).",
    w: 12,
    h: 8,
    unit: "s",
    exprs: [
      {
        expr: `time() - max by (job) (stackport_ingest_last_success_timestamp_seconds{${job}})`,
        legendFormat: "{{job}}",
      },
    ],
  });
  add({
    type: "timeseries",
    title: "Ingest failures (15 min)",
    description: "Failed ingest runs in the last 15 minutes (stackport_ingest_failures_total).",
    w: 12,
    h: 8,
    exprs: [
      {
        expr: `sum by (job) (increase(stackport_ingest_failures_total{${job}}[15m]))`,
        legendFormat: "{{job}}",
      },
    ],
  });
  add({
    type: "timeseries",
    title: "Objects per bucket",
    description: "MinIO's object count per bucket: a flat line in `raw` means data stopped arriving.",
    w: 12,
    h: 8,
    exprs: [{ expr: "max by (bucket) (minio_bucket_usage_object_total)", legendFormat: "{{bucket}}" }],
  });
  add({
    type: "gauge",
    title: "Object storage free capacity",
    description: "Usable free capacity reported by MinIO.",
    w: 12,
    h: 8,
    unit: "percent",
    exprs: [
      {
        expr: "100 * max(minio_cluster_capacity_usable_free_bytes) / max(minio_cluster_capacity_usable_total_bytes)",
      },
    ],
  });
  if (input.logs) {
    add({
      type: "logs",
      title: "Container logs",
      description: "Logs of the stack's containers, collected by Grafana Alloy.",
      w: 24,
      h: 12,
      datasource: loki,
      exprs: [{ expr: '{tier=~".+"}' }],
      options: { showTime: true, sortOrder: "Descending", wrapLogMessage: true },
    });
  }

  const dashboard = {
    uid: PLATFORM_DASHBOARD_UID,
    title: "stackport platform",
    tags: ["stackport"],
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: "1m",
    time: { from: "now-6h", to: "now" },
    timezone: "browser",
    templating: {
      list: [
        {
          type: "custom",
          name: "job",
          label: "Job",
          query: jobs.join(","),
          multi: true,
          includeAll: true,
          allValue: ".+",
          current: { selected: true, text: ["All"], value: ["$__all"] },
          options: [],
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
