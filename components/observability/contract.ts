/**
 * What a tier tells observability about itself: where its metrics are (Prometheus scrape targets on Docker) and
 * which CloudWatch alarms it wants (on AWS). A program collects these from every placed tier and hands them to the
 * observability component of the same target.
 */
import type * as pulumi from "@pulumi/pulumi";

export interface ScrapeTarget {
  /** Prometheus job name, unique per stack (`storage`, `proxy`, `ingestion-api`). */
  job: string;
  tier: string;
  /** `host:port` on the target's backend network. */
  addresses: string[];
  /** @default "/metrics" */
  metricsPath?: string;
  /**
   * Name of a secret file holding the bearer token this target wants (`DockerObservabilityArgs.scrapeSecrets`):
   * Prometheus reads it (`credentials_file`), so the token is never in its config or arguments.
   * @default none (no authorization header)
   */
  bearerToken?: string;
}

/** How an alarm compares its metric with the threshold. */
export type ComparisonOperator =
  | "GreaterThanThreshold"
  | "GreaterThanOrEqualToThreshold"
  | "LessThanThreshold"
  | "LessThanOrEqualToThreshold";

export interface AlarmSpec<Value = pulumi.Input<string>> {
  /** Stable key, unique per stack: becomes the child name (`<observability>-<key>`) and part of the alarm name. */
  key: string;
  /** One sentence for the person paged: what is wrong. */
  description: string;
  namespace: string;
  metricName: string;
  dimensions?: Record<string, Value>;
  statistic: "Average" | "Maximum" | "Minimum" | "Sum" | "SampleCount";
  periodSeconds: number;
  evaluationPeriods: number;
  /** @default evaluationPeriods (every period must breach) */
  datapointsToAlarm?: number;
  threshold: number;
  comparisonOperator: ComparisonOperator;
  /** `breaching` for heartbeats (no data is the failure), `notBreaching` for load metrics. */
  treatMissingData: "missing" | "notBreaching" | "breaching" | "ignore";
  /** Dashboard label of the metric's unit (`%`, `bytes`, `s`). */
  unit?: string;
}

export interface DatabaseAlarmInputs {
  instanceIdentifier: pulumi.Input<string>;
  allocatedStorageGb: number;
  instanceClass: string;
  /** The instance's `max_connections` when set explicitly. @default estimated from `instanceClass` */
  maxConnections?: number;
}

/** What CloudWatch alarms need to watch a service. */
export interface ServiceAlarmInputs {
  clusterName: pulumi.Output<string>;
  serviceName: pulumi.Output<string>;
  targetGroupArnSuffix?: pulumi.Input<string>;
  loadBalancerArnSuffix?: pulumi.Input<string>;
}

/** ECS CPU and memory > 80 % for 3 × 5 min; for routed services also target 5xx and unhealthy hosts. */
export function serviceAlarmSpecs(key: string, inputs: ServiceAlarmInputs): AlarmSpec[] {
  const ecs = { ClusterName: inputs.clusterName, ServiceName: inputs.serviceName };
  const common = {
    periodSeconds: 300,
    evaluationPeriods: 3,
    comparisonOperator: "GreaterThanThreshold",
  } as const;
  const specs: AlarmSpec[] = [
    {
      ...common,
      key: `${key}-cpu`,
      description: `${key}: average CPU above 80 % for 15 minutes`,
      namespace: "AWS/ECS",
      metricName: "CPUUtilization",
      dimensions: ecs,
      statistic: "Average",
      threshold: 80,
      treatMissingData: "missing",
    },
    {
      ...common,
      key: `${key}-memory`,
      description: `${key}: average memory above 80 % for 15 minutes`,
      namespace: "AWS/ECS",
      metricName: "MemoryUtilization",
      dimensions: ecs,
      statistic: "Average",
      threshold: 80,
      treatMissingData: "missing",
    },
  ];
  if (inputs.targetGroupArnSuffix !== undefined && inputs.loadBalancerArnSuffix !== undefined) {
    const alb = { TargetGroup: inputs.targetGroupArnSuffix, LoadBalancer: inputs.loadBalancerArnSuffix };
    specs.push(
      {
        ...common,
        key: `${key}-5xx`,
        description: `${key}: more than 10 server errors (5xx) per 5 minutes`,
        namespace: "AWS/ApplicationELB",
        metricName: "HTTPCode_Target_5XX_Count",
        dimensions: alb,
        statistic: "Sum",
        threshold: 10,
        evaluationPeriods: 1,
        treatMissingData: "notBreaching",
      },
      {
        ...common,
        key: `${key}-unhealthy`,
        description: `${key}: at least one unhealthy target for 3 minutes`,
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions: alb,
        statistic: "Maximum",
        periodSeconds: 60,
        threshold: 0,
        treatMissingData: "notBreaching",
      },
    );
  }
  return specs;
}
