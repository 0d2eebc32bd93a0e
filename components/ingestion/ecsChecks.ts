/**
 * What only `EcsIngestion` refuses (the checks every backend shares are in settings.ts): a port published by two
 * services (the tier has one Network Load Balancer, one listener per port and protocol), a UDP port the load balancer
 * cannot health-check, and a data path that cannot be a mount point. Pure, and part of `validateEcsIngestionArgs`:
 * the program runs it on its config before anything is registered.
 */
import { type ArgsIssue, argPath } from "../shared/errors";

/** The parts of an `EcsServiceArgs` these checks read (structural: settings.ts calls them, no import cycle). */
interface ServiceShape {
  port?: number | undefined;
  ports?:
    { port: number; protocol?: "tcp" | "udp" | undefined; publishedPort?: number | undefined }[] | undefined;
  data?: { path: string } | undefined;
}

const ABSOLUTE_PATH = /^(\/[A-Za-z0-9._-]+)+$/;

/** The issues of the ECS-only service keys across the tier (empty when valid). */
export function validateEcsServiceExtras(args: {
  services?: Record<string, ServiceShape> | undefined;
}): ArgsIssue[] {
  const issues: ArgsIssue[] = [];
  const listeners = new Map<string, string>();
  for (const svc of Object.keys(args.services ?? {}).sort()) {
    const s = args.services![svc]!;
    (s.ports ?? []).forEach((p, i) => {
      const listener = `${p.publishedPort ?? p.port}/${p.protocol ?? "tcp"}`;
      const first = listeners.get(listener);
      if (first === undefined) listeners.set(listener, argPath("services", svc, "ports", i));
      else if (!first.startsWith(argPath("services", svc, "ports")))
        issues.push({
          path: argPath("services", svc, "ports", i),
          message: `${listener} is already published by ${first}: the tier's load balancer has one listener per port; give one of them another publishedPort`,
        });
    });
    // NLB health checks of a UDP target group run over TCP: on the service's `port`, else on the same number.
    (s.ports ?? []).forEach((p, i) => {
      const tcpSame = (s.ports ?? []).some((q) => (q.protocol ?? "tcp") === "tcp" && q.port === p.port);
      if (p.protocol === "udp" && s.port === undefined && !tcpSame)
        issues.push({
          path: argPath("services", svc, "ports", i),
          message: `UDP ${p.port} cannot be health-checked by the load balancer (it checks over TCP): give the service a TCP 'port' it answers on`,
        });
    });
    if (s.data && !ABSOLUTE_PATH.test(s.data.path))
      issues.push({
        path: argPath("services", svc, "data", "path"),
        message: `must be an absolute path in the container like /app/data (not /); got '${s.data.path}'`,
      });
  }
  return issues;
}
