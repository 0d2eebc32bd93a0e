/**
 * The CloudWatch dashboard body, rendered from resolved alarm specs: one time-series widget per alarm, showing the
 * alarm's metric with its threshold as a horizontal annotation. Pure, so the JSON is tested without Pulumi.
 */
import type { AlarmSpec } from "./contract";

const WIDGET_WIDTH = 12;
const WIDGET_HEIGHT = 6;

/** CloudWatch's metric array form: `[namespace, name, dimName, dimValue, …, {stat, period}]`. */
export function metricArray(spec: AlarmSpec<string>): unknown[] {
  const dimensions = Object.entries(spec.dimensions ?? {}).flat();
  return [
    spec.namespace,
    spec.metricName,
    ...dimensions,
    { stat: spec.statistic, period: spec.periodSeconds },
  ];
}

export function renderDashboard(opts: {
  title: string;
  region: string;
  alarms: AlarmSpec<string>[];
}): string {
  const header = {
    type: "text",
    x: 0,
    y: 0,
    width: 24,
    height: 2,
    properties: {
      markdown: `# ${opts.title}\nEvery graph is an alarm's metric; the line is the alarm threshold.`,
    },
  };
  const widgets = opts.alarms.map((spec, i) => ({
    type: "metric",
    x: (i % 2) * WIDGET_WIDTH,
    y: 2 + Math.floor(i / 2) * WIDGET_HEIGHT,
    width: WIDGET_WIDTH,
    height: WIDGET_HEIGHT,
    properties: {
      title: spec.description,
      region: opts.region,
      view: "timeSeries",
      stat: spec.statistic,
      period: spec.periodSeconds,
      metrics: [metricArray(spec)],
      annotations: {
        horizontal: [{ label: `alarm: ${spec.key}`, value: spec.threshold }],
      },
      ...(spec.unit && { yAxis: { left: { label: spec.unit } } }),
    },
  }));
  return JSON.stringify({ widgets: [header, ...widgets] });
}
