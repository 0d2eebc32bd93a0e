import * as pulumi from "@pulumi/pulumi";
import { awsObservabilitySchema, resolveAwsObservability } from "../../src/config/tiers/aws";
import { alarmSpecs, estimatedMaxConnections } from "../../components/observability/alarms";
import type { AlarmSpec } from "../../components/observability/contract";
import { renderDashboard } from "../../components/observability/dashboard";
import { CloudWatchObservability } from "../../components/observability/cloudwatch";
import { AwsTarget } from "../../components/targets/aws";
import { one, record } from "../harness";

const freshness = { namespace: "stackport/Ingest", name: "LastSuccessAgeSeconds", maxAgeMinutes: 90 };
const database = {
  instanceIdentifier: "stackport-test-database",
  allocatedStorageGb: 20,
  instanceClass: "db.t4g.medium",
};

/** What the ECS/ALB helper would pass: a dimension value that is an Output. */
const albFiveXx = (value: pulumi.Input<string>): AlarmSpec => ({
  key: "proxy-5xx",
  description: "Load balancer answers 5xx",
  namespace: "AWS/ApplicationELB",
  metricName: "HTTPCode_ELB_5XX_Count",
  dimensions: { LoadBalancer: value },
  statistic: "Sum",
  periodSeconds: 60,
  evaluationPeriods: 5,
  threshold: 10,
  comparisonOperator: "GreaterThanThreshold",
  treatMissingData: "notBreaching",
});

describe("alarm specs (pure)", () => {
  it("watches RDS CPU > 80 %, free storage < 10 % of the allocation, connections, and data freshness", () => {
    const specs = Object.fromEntries(alarmSpecs({ database, freshness }).map((s) => [s.key, s]));
    expect(Object.keys(specs)).toEqual([
      "database-cpu",
      "database-free-storage",
      "database-connections",
      "data-freshness",
    ]);
    expect(specs["database-cpu"]).toMatchObject({
      metricName: "CPUUtilization",
      threshold: 80,
      comparisonOperator: "GreaterThanThreshold",
    });
    expect(specs["database-free-storage"]).toMatchObject({
      metricName: "FreeStorageSpace",
      threshold: Math.round(2 * 1024 ** 3),
      comparisonOperator: "LessThanThreshold",
    });
    expect(specs["database-connections"]!.threshold).toBe(
      Math.floor(estimatedMaxConnections("db.t4g.medium") * 0.8),
    );
    expect(specs["data-freshness"]).toMatchObject({
      namespace: "stackport/Ingest",
      metricName: "LastSuccessAgeSeconds",
      threshold: 5400,
      treatMissingData: "breaching",
    });
  });

  it("estimates max_connections from the instance class like RDS does", () => {
    expect(estimatedMaxConnections("db.t4g.medium")).toBe(450);
    expect(estimatedMaxConnections("db.r6g.large")).toBe(1802);
    expect(estimatedMaxConnections("db.m6g.24xlarge")).toBe(5000);
    expect(estimatedMaxConnections("db.custom.weird")).toBe(100);
  });

  it("has only the freshness alarm without a database, appends extra specs, and refuses duplicate keys", () => {
    expect(alarmSpecs({ freshness }).map((s) => s.key)).toEqual(["data-freshness"]);
    expect(alarmSpecs({ freshness, extra: [albFiveXx("app/x/1")] }).map((s) => s.key)).toEqual([
      "data-freshness",
      "proxy-5xx",
    ]);
    expect(() => alarmSpecs({ freshness, extra: [{ ...albFiveXx("a"), key: "data-freshness" }] })).toThrow(
      /two alarms share the key 'data-freshness'/,
    );
  });

  it("renders a dashboard that parses and graphs every alarm's metric with its threshold", () => {
    const specs = alarmSpecs({ database, freshness, extra: [albFiveXx("app/x/1")] }) as AlarmSpec<string>[];
    const body = JSON.parse(renderDashboard({ title: "t", region: "eu-west-1", alarms: specs }));
    const metricWidgets = body.widgets.filter((w: { type: string }) => w.type === "metric");
    expect(metricWidgets).toHaveLength(specs.length);
    for (const spec of specs) {
      const widget = metricWidgets.find((w: { properties: { metrics: unknown[][] } }) =>
        w.properties.metrics.some((m) => m[0] === spec.namespace && m[1] === spec.metricName),
      );
      expect(widget).toBeDefined();
      const metric = widget.properties.metrics[0];
      for (const [k, v] of Object.entries(spec.dimensions ?? {}))
        expect(metric).toEqual(expect.arrayContaining([k, v]));
      expect(widget.properties.annotations.horizontal[0].value).toBe(spec.threshold);
      expect(widget.properties.region).toBe("eu-west-1");
    }
  });
});

describe("CloudWatchObservability", () => {
  const observe = (emails: string[]) =>
    record(() => {
      const placement = new AwsTarget("cloud", { region: "eu-west-1" }).placement;
      return new CloudWatchObservability("observability", {
        ...resolveAwsObservability("production", awsObservabilitySchema.parse({ alarmEmails: emails })),
        placement,
        database,
        extraAlarms: [albFiveXx(pulumi.output("app/stackport-test/abc"))],
      });
    });

  it("creates the SNS topic, one e-mail subscription per address, and one alarm per spec notifying it", async () => {
    const { recorder, result } = await observe(["ops@example.org", "oncall@example.org"]);
    expect(one(recorder, "observability-alerts").type).toBe("aws:sns/topic:Topic");
    const subs = recorder.byType("aws:sns/topicSubscription:TopicSubscription");
    expect(subs.map((s) => s.inputs["endpoint"]).sort()).toEqual(["oncall@example.org", "ops@example.org"]);
    for (const s of subs) expect(s.inputs["protocol"]).toBe("email");

    const alarms = recorder.byType("aws:cloudwatch/metricAlarm:MetricAlarm");
    expect(alarms.map((a) => a.name).sort()).toEqual(
      ["data-freshness", "database-connections", "database-cpu", "database-free-storage", "proxy-5xx"].map(
        (k) => `observability-${k}`,
      ),
    );
    for (const a of alarms) {
      expect(a.provider).toBe("cloud-aws");
      expect(a.dependsOn).toContain("observability-alerts");
    }
    expect(one(recorder, "observability-data-freshness").inputs).toMatchObject({
      name: "stackport-test-data-freshness",
      treatMissingData: "breaching",
      threshold: 5400,
    });
    expect(one(recorder, "observability-proxy-5xx").inputs["dimensions"]).toEqual({
      LoadBalancer: "app/stackport-test/abc",
    });
    expect(result.logRetentionDays).toBe(90);
  });

  it("publishes a dashboard whose JSON references the resolved dimension values", async () => {
    const { recorder } = await observe([]);
    expect(recorder.byType("aws:sns/topicSubscription:TopicSubscription")).toEqual([]);
    const body = JSON.parse(String(one(recorder, "observability-dashboard").inputs["dashboardBody"]));
    const metrics = body.widgets.flatMap(
      (w: { properties: { metrics?: unknown[] } }) => w.properties.metrics ?? [],
    );
    expect(metrics).toContainEqual(
      expect.arrayContaining(["AWS/ApplicationELB", "LoadBalancer", "app/stackport-test/abc"]),
    );
    expect(metrics).toContainEqual(
      expect.arrayContaining(["AWS/RDS", "DBInstanceIdentifier", "stackport-test-database"]),
    );
  });
});

describe("stackport:observability.aws settings", () => {
  it("defaults retention by environment and accepts only CloudWatch's retention periods and real e-mails", () => {
    expect(resolveAwsObservability("staging", undefined).logRetentionDays).toBe(30);
    expect(resolveAwsObservability("production", undefined).freshnessMetric).toEqual(freshness);
    expect(awsObservabilitySchema.safeParse({ logRetentionDays: 45 }).error?.issues[0]?.message).toMatch(
      /1, 3, 5, 7, 14, 30/,
    );
    expect(awsObservabilitySchema.safeParse({ alarmEmails: ["not-an-email"] }).success).toBe(false);
  });
});

describe("the RDS connections alarm", () => {
  it("compares with max_connections when the instance sets it, else with the class's estimate", () => {
    const threshold = (maxConnections?: number) =>
      alarmSpecs({
        database: {
          instanceIdentifier: "db",
          allocatedStorageGb: 20,
          instanceClass: "db.t4g.medium",
          ...(maxConnections !== undefined && { maxConnections }),
        },
        freshness: { namespace: "n", name: "m", maxAgeMinutes: 90 },
      }).find((s) => s.key === "database-connections")!.threshold;
    expect(threshold(300)).toBe(240);
    expect(threshold()).toBe(Math.floor(estimatedMaxConnections("db.t4g.medium") * 0.8));
  });
});
