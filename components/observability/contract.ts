/**
 * What a tier tells observability about itself: where its metrics are. Platform collects these from every placed
 * tier and hands them to Prometheus (Docker) or turns them into CloudWatch alarms (AWS).
 */
export interface ScrapeTarget {
  /** Prometheus job name, unique per stack (`storage`, `proxy`, `ingestion-api`). */
  job: string;
  tier: string;
  /** `host:port` on the target's backend network. */
  addresses: string[];
  /** @default "/metrics" */
  metricsPath?: string;
}
