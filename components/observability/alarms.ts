/**
 * CloudWatch alarms as plain data. Every tier on AWS describes the alarms it wants as `AlarmSpec`s (ECS services:
 * CPU/memory, and for routed ones the ALB's 5xx and unhealthy hosts; RDS; the freshness metric), and the
 * observability tier turns each into one `aws.cloudwatch.MetricAlarm` named by its stable `key` plus a dashboard
 * widget. No Pulumi resources in this file; dimension values may be Outputs (an ALB's `arnSuffix`).
 */
import type { AlarmSpec, DatabaseAlarmInputs } from "./contract";

export interface FreshnessAlarmInputs {
  namespace: string;
  name: string;
  maxAgeMinutes: number;
}

const GIB = 1024 ** 3;

/** Memory (GiB) of general-purpose/burstable RDS classes by size; memory-optimized (r*, x*) have twice as much. */
const MEMORY_GIB_BY_SIZE: Record<string, number> = {
  micro: 1,
  small: 2,
  medium: 4,
  large: 8,
  xlarge: 16,
  "2xlarge": 32,
  "4xlarge": 64,
  "8xlarge": 128,
  "12xlarge": 192,
  "16xlarge": 256,
  "24xlarge": 384,
};

/**
 * RDS PostgreSQL's default `max_connections` = LEAST(DBInstanceClassMemory / 9531392, 5000), estimated from the
 * class name (DBInstanceClassMemory is a little below the nominal memory, so this slightly overestimates).
 * Unknown classes fall back to 100, PostgreSQL's own default.
 */
export function estimatedMaxConnections(instanceClass: string): number {
  const [, family = "", size = ""] = instanceClass.split(".");
  const gib = MEMORY_GIB_BY_SIZE[size];
  if (gib === undefined) return 100;
  const memoryOptimized = /^[rxz]/.test(family);
  return Math.min(Math.floor(((memoryOptimized ? 2 : 1) * gib * GIB) / 9531392), 5000);
}

/**
 * The alarms the observability tier owns: RDS CPU, free storage and connections (when a database is on AWS) and
 * data freshness from the ingestion's custom metric — plus the caller's extra specs.
 * @throws when two specs share a key (they would collide as child names)
 */
export function alarmSpecs(inputs: {
  database?: DatabaseAlarmInputs;
  freshness: FreshnessAlarmInputs;
  extra?: AlarmSpec[];
}): AlarmSpec[] {
  const specs: AlarmSpec[] = [];
  const db = inputs.database;
  if (db) {
    const dimensions = { DBInstanceIdentifier: db.instanceIdentifier };
    const rds = {
      namespace: "AWS/RDS",
      dimensions,
      periodSeconds: 300,
      treatMissingData: "missing" as const,
    };
    specs.push(
      {
        ...rds,
        key: "database-cpu",
        description: "Database CPU above 80 % for 15 minutes",
        metricName: "CPUUtilization",
        statistic: "Average",
        evaluationPeriods: 3,
        threshold: 80,
        comparisonOperator: "GreaterThanThreshold",
        unit: "%",
      },
      {
        ...rds,
        key: "database-free-storage",
        // Storage autoscaling also starts near 10 % free: if this fires for long, the ceiling is reached.
        description: `Database free storage below 10 % of the ${db.allocatedStorageGb} GiB allocated`,
        metricName: "FreeStorageSpace",
        statistic: "Minimum",
        evaluationPeriods: 2,
        threshold: Math.round(db.allocatedStorageGb * GIB * 0.1),
        comparisonOperator: "LessThanThreshold",
        unit: "bytes",
      },
      {
        ...rds,
        key: "database-connections",
        // The same saturation the Prometheus rule watches on Docker (connections / max_connections).
        description:
          db.maxConnections === undefined
            ? `Database connections above 80 % of the estimated maximum for ${db.instanceClass}`
            : `Database connections above 80 % of max_connections (${db.maxConnections})`,
        metricName: "DatabaseConnections",
        statistic: "Maximum",
        evaluationPeriods: 3,
        threshold: Math.floor((db.maxConnections ?? estimatedMaxConnections(db.instanceClass)) * 0.8),
        comparisonOperator: "GreaterThanThreshold",
      },
    );
  }
  const f = inputs.freshness;
  specs.push({
    key: "data-freshness",
    description: `Newest ingested data older than ${f.maxAgeMinutes} minutes (or the ingestion stopped reporting)`,
    namespace: f.namespace,
    metricName: f.name,
    statistic: "Maximum",
    periodSeconds: 300,
    evaluationPeriods: 1,
    threshold: f.maxAgeMinutes * 60,
    comparisonOperator: "GreaterThanThreshold",
    // No data point means nothing reported success: that is the failure this alarm exists for.
    treatMissingData: "breaching",
    unit: "s",
  });
  specs.push(...(inputs.extra ?? []));

  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.key))
      throw new Error(`two alarms share the key '${s.key}'; alarm keys must be unique per stack`);
    if (!/^[a-z][a-z0-9-]*$/.test(s.key))
      throw new Error(`alarm key '${s.key}' must be lower-case letters, digits and '-'`);
    seen.add(s.key);
  }
  return specs;
}
