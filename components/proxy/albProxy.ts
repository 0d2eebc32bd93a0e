import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import { type Transform, transformed } from "../shared/component";
import { assertValidArgs } from "../shared/errors";
import { standardLabels } from "../shared/labels";
import type { AwsPlacement } from "../shared/placement";
import {
  type AlbUpstream,
  albHosts,
  ingressCidrs,
  pathPatterns,
  rulePriorities,
  stripPrefixTransform,
  validateAlbProxyArgs,
} from "./albRules";
import type { ProxyEndpoint, ProxyRoute } from "./contract";

export interface AlbProxyArgs {
  /** The AWS target: the ALB goes into its public subnets behind its `alb` security group. */
  placement: AwsPlacement;
  /** Host of routes without their own `host`; with the route hosts, what the certificate covers. @example "example.org" */
  domain: string;
  /** Routes by name; `to` names an entry of `upstreams`. `auth` must be `none` (an ALB checks no credentials). @default {} */
  routes?: Record<string, ProxyRoute>;
  /** The ECS services routes may forward to, by name: their port and health path. */
  upstreams: Record<string, AlbUpstream>;
  /** An ACM certificate for every host. @default a DNS-validated certificate in `hostedZoneId` */
  certificateArn?: string;
  /** The Route 53 zone holding the hosts: certificate validation records and alias records go here. @default none */
  hostedZoneId?: string;
  /** A Route 53 alias record per host pointing at the ALB (needs `hostedZoneId`). @default true */
  dnsRecords?: boolean;
  /**
   * Client networks allowed to reach the ALB on 80/443.
   * @default the union of the routes' `allowFrom` when every route has one, else 0.0.0.0/0
   */
  allowedCidrs?: string[];
  /**
   * Refuse any route without an explicit exposure decision: `allowFrom` or `public: true` (an ALB checks no
   * credentials), unless `allowedCidrs` without `0.0.0.0/0` restricts the whole ALB. The stackport program sets
   * it outside the `local` environment.
   * @default false
   */
  requireExposureDecision?: boolean;
  /** Refuse to delete the load balancer (its DNS name is what clients and DNS records point at). @default false */
  deletionProtection?: boolean;
  /** Seconds an idle connection stays open (long tile or upload requests need more than 60). @default 60 */
  idleTimeoutSeconds?: number;
  /** Bucket (name) for access logs; its policy must admit ELB log delivery under `AWSLogs/` (S3Storage's `logs`). @default no access logs */
  accessLogsBucket?: pulumi.Input<string>;
  /** Per-child escape hatches. @default none */
  transform?: {
    loadBalancer?: Transform<aws.lb.LoadBalancerArgs>;
    httpsListener?: Transform<aws.lb.ListenerArgs>;
    targetGroup?: Transform<aws.lb.TargetGroupArgs>;
  };
}

/** The target group of one upstream, for the service that registers in it. */
export interface ProxyTargetGroup {
  arn: pulumi.Output<string>;
  arnSuffix: pulumi.Output<string>;
  loadBalancerArnSuffix: pulumi.Output<string>;
}

const HTTP = 80;
const HTTPS = 443;
/** TLS 1.3 + 1.2 with forward secrecy only (the provider's default is the 2016 policy, which allows TLS 1.0). */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** Stable resource-name fragment for a CIDR: `10.0.0.0/8` → `10-0-0-0-8`. */
const cidrSlug = (cidr: string) => cidr.replace(/[./]/g, "-");

/**
 * The proxy tier on AWS: an internet-facing ALB in the public subnets. HTTP only redirects (301) to HTTPS; the HTTPS
 * listener (TLS 1.3 policy) answers 404 unless a rule matches; one listener rule per route (host, path, source-IP
 * conditions; deterministic priorities, see `rulePriorities`); one target group per routed service (IP targets for
 * Fargate). The ALB security group admits 80/443 from the allowed networks only and may reach the services group
 * only on the routed ports — both sides of that hop are created here, once per port, because AWS refuses a
 * duplicate rule when two services share a port.
 * @example
 * const alb = new AlbProxy("proxy", {
 *   placement: cloud.placement,
 *   domain: "example.org",
 *   hostedZoneId: "Z0123456789ABCDEFGHIJ",
 *   routes: { api: { path: "/api", to: "api" } },
 *   upstreams: { api: { port: 8000, healthPath: "/healthz" } },
 * });
 * // alb.targetGroups.api: register a Fargate service's tasks there
 */
export class AlbProxy extends pulumi.ComponentResource {
  readonly endpoint: ProxyEndpoint;
  /** By upstream name: what a `FargateService` registers in. Depend on this component before creating services. */
  readonly targetGroups: Record<string, ProxyTargetGroup>;
  readonly loadBalancer: {
    arn: pulumi.Output<string>;
    arnSuffix: pulumi.Output<string>;
    dnsName: pulumi.Output<string>;
  };
  readonly nodes: {
    loadBalancer: aws.lb.LoadBalancer;
    httpListener: aws.lb.Listener;
    httpsListener: aws.lb.Listener;
    certificate?: aws.acm.Certificate;
    targetGroups: Record<string, aws.lb.TargetGroup>;
    rules: Record<string, aws.lb.ListenerRule>;
    records: Record<string, aws.route53.Record>;
  };

  constructor(name: string, args: AlbProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    const routes = args.routes ?? {};
    assertValidArgs(`stackport:aws:Proxy '${name}'`, validateAlbProxyArgs(args));
    const config = {
      domain: args.domain,
      routes,
      upstreams: args.upstreams,
      ...(args.certificateArn !== undefined && { certificateArn: args.certificateArn }),
      ...(args.hostedZoneId !== undefined && { hostedZoneId: args.hostedZoneId }),
      dnsRecords: args.dnsRecords ?? true,
      ...(args.allowedCidrs !== undefined && { allowedCidrs: args.allowedCidrs }),
      deletionProtection: args.deletionProtection ?? false,
      idleTimeoutSeconds: args.idleTimeoutSeconds ?? 60,
      requireExposureDecision: args.requireExposureDecision ?? false,
    };
    super("stackport:aws:Proxy", name, config, opts);
    const { placement } = args;
    const provider = placement.provider;
    const child = { parent: this, provider };
    const tags = standardLabels("proxy");
    const hosts = albHosts(config.domain, routes);

    this.ingress(name, placement, ingressCidrs(config.allowedCidrs, routes));

    const [lbArgs, lbOpts] = transformed<aws.lb.LoadBalancerArgs>(
      args.transform?.loadBalancer,
      {
        loadBalancerType: "application",
        internal: false,
        subnets: placement.publicSubnetIds,
        securityGroups: [placement.securityGroups.alb],
        // Requests with header names a backend could parse differently are dropped (request smuggling).
        dropInvalidHeaderFields: true,
        enableDeletionProtection: config.deletionProtection,
        idleTimeout: config.idleTimeoutSeconds,
        ...(args.accessLogsBucket !== undefined && {
          // No prefix: the logs bucket's policy admits ELB log delivery under `AWSLogs/` (storage's s3Storage.ts).
          accessLogs: { bucket: args.accessLogsBucket, enabled: true },
        }),
        tags,
      },
      { ...child },
    );
    const loadBalancer = new aws.lb.LoadBalancer(`${name}-alb`, lbArgs, lbOpts);

    const httpListener = new aws.lb.Listener(
      `${name}-http`,
      {
        loadBalancerArn: loadBalancer.arn,
        port: HTTP,
        protocol: "HTTP",
        defaultActions: [
          { type: "redirect", redirect: { port: String(HTTPS), protocol: "HTTPS", statusCode: "HTTP_301" } },
        ],
        tags,
      },
      child,
    );

    const { certificateArn, certificate } = this.certificate(name, config, placement, hosts);
    const [httpsArgs, httpsOpts] = transformed<aws.lb.ListenerArgs>(
      args.transform?.httpsListener,
      {
        loadBalancerArn: loadBalancer.arn,
        port: HTTPS,
        protocol: "HTTPS",
        sslPolicy: TLS_POLICY,
        certificateArn,
        defaultActions: [
          {
            type: "fixed-response",
            fixedResponse: { contentType: "text/plain", statusCode: "404", messageBody: "not found" },
          },
        ],
        tags,
      },
      { ...child },
    );
    const httpsListener = new aws.lb.Listener(`${name}-https`, httpsArgs, httpsOpts);

    const routed = [...new Set(Object.values(routes).map((r) => r.to))].sort();
    const targetGroups = Object.fromEntries(
      routed.map((upstream) => {
        const { port, healthPath } = args.upstreams[upstream]!;
        const [tgArgs, tgOpts] = transformed<aws.lb.TargetGroupArgs>(
          args.transform?.targetGroup,
          {
            port,
            protocol: "HTTP",
            targetType: "ip",
            vpcId: placement.vpcId,
            // Long enough for in-flight requests, short enough that deployments do not wait 5 minutes per task.
            deregistrationDelay: 30,
            healthCheck: {
              path: healthPath ?? "/",
              matcher: "200-399",
              interval: 15,
              timeout: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 3,
            },
            tags: { ...tags, "stackport.upstream": upstream },
          },
          { ...child },
        );
        return [upstream, new aws.lb.TargetGroup(`${name}-tg-${upstream}`, tgArgs, tgOpts)];
      }),
    );
    this.servicePorts(
      name,
      placement,
      [...new Set(routed.map((u) => args.upstreams[u]!.port))].sort((a, b) => a - b),
    );

    const priorities = rulePriorities(routes);
    const rules = Object.fromEntries(
      Object.keys(routes)
        .sort()
        .map((routeName) => {
          const route = routes[routeName]!;
          const paths = pathPatterns(route.path);
          const rule = new aws.lb.ListenerRule(
            `${name}-rule-${routeName}`,
            {
              listenerArn: httpsListener.arn,
              priority: priorities[routeName]!,
              conditions: [
                { hostHeader: { values: [route.host ?? config.domain] } },
                ...(paths.length > 0 ? [{ pathPattern: { values: paths } }] : []),
                ...(route.allowFrom?.length ? [{ sourceIp: { values: route.allowFrom } }] : []),
              ],
              ...(route.stripPrefix && route.path && { transforms: [stripPrefixTransform(route.path)] }),
              actions: [{ type: "forward", targetGroupArn: targetGroups[route.to]!.arn }],
              tags: { ...tags, "stackport.route": routeName },
            },
            child,
          );
          return [routeName, rule];
        }),
    );

    const records = this.aliasRecords(name, config, placement, hosts, loadBalancer);

    this.nodes = { loadBalancer, httpListener, httpsListener, certificate, targetGroups, rules, records };
    this.loadBalancer = {
      arn: loadBalancer.arn,
      arnSuffix: loadBalancer.arnSuffix,
      dnsName: loadBalancer.dnsName,
    };
    this.targetGroups = Object.fromEntries(
      Object.entries(targetGroups).map(([u, tg]) => [
        u,
        { arn: tg.arn, arnSuffix: tg.arnSuffix, loadBalancerArnSuffix: loadBalancer.arnSuffix },
      ]),
    );
    this.endpoint = {
      urls: pulumi.output(hosts.map((h) => `https://${h}`)),
      // The ALB has no basic auth (refused above): nothing to hand out.
      basicAuthPasswords: {},
    };
    this.registerOutputs({ urls: this.endpoint.urls, dnsName: loadBalancer.dnsName });
  }

  /** ALB ingress on 80 and 443, one rule resource per network × port (stable names: the CIDR, not a list index). */
  private ingress(name: string, placement: AwsPlacement, cidrs: string[]) {
    for (const cidr of cidrs) {
      for (const port of [HTTP, HTTPS]) {
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-in-${port}-${cidrSlug(cidr)}`,
          {
            securityGroupId: placement.securityGroups.alb,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            cidrIpv4: cidr,
            description: `${port === HTTP ? "HTTP (redirect)" : "HTTPS"} from ${cidr}`,
            tags: standardLabels("proxy"),
          },
          { parent: this, provider: placement.provider },
        );
      }
    }
  }

  /** ALB → services, only on the ports of routed services: the egress on the ALB group and the matching ingress. */
  private servicePorts(name: string, placement: AwsPlacement, ports: number[]) {
    const child = { parent: this, provider: placement.provider };
    for (const port of ports) {
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-to-services-${port}`,
        {
          securityGroupId: placement.securityGroups.alb,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          referencedSecurityGroupId: placement.securityGroups.services,
          description: `to routed services on ${port}`,
          tags: standardLabels("proxy"),
        },
        child,
      );
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-services-from-alb-${port}`,
        {
          securityGroupId: placement.securityGroups.services,
          ipProtocol: "tcp",
          fromPort: port,
          toPort: port,
          referencedSecurityGroupId: placement.securityGroups.alb,
          description: `from the ALB on ${port}`,
          tags: standardLabels("proxy"),
        },
        child,
      );
    }
  }

  /** The given certificate, or an ACM certificate for every host validated through Route 53 records. */
  private certificate(
    name: string,
    config: { domain: string; certificateArn?: string; hostedZoneId?: string },
    placement: AwsPlacement,
    hosts: string[],
  ) {
    if (config.certificateArn) return { certificateArn: pulumi.output(config.certificateArn) };
    const zoneId = config.hostedZoneId!;
    const child = { parent: this, provider: placement.provider };
    const [primary, ...others] = [config.domain, ...hosts.filter((h) => h !== config.domain)];
    const certificate = new aws.acm.Certificate(
      `${name}-certificate`,
      {
        domainName: primary!,
        subjectAlternativeNames: others,
        validationMethod: "DNS",
        tags: standardLabels("proxy"),
      },
      // A renewed/changed certificate must exist before the listener lets go of the old one.
      { ...child, deleteBeforeReplace: false },
    );
    // One record per host (known from config); its name and value come from the certificate's validation options.
    const option = (host: string) =>
      certificate.domainValidationOptions.apply((opts) => {
        const found = (opts ?? []).find((o) => o.domainName === host);
        return {
          name: found?.resourceRecordName ?? "",
          type: found?.resourceRecordType ?? "CNAME",
          value: found?.resourceRecordValue ?? "",
        };
      });
    const validationRecords = hosts.map((host) => {
      const o = option(host);
      return new aws.route53.Record(
        `${name}-certificate-validation-${host}`,
        { zoneId, name: o.name, type: o.type, records: [o.value], ttl: 60, allowOverwrite: true },
        child,
      );
    });
    const validation = new aws.acm.CertificateValidation(
      `${name}-certificate-validation`,
      { certificateArn: certificate.arn, validationRecordFqdns: validationRecords.map((r) => r.fqdn) },
      child,
    );
    return { certificateArn: validation.certificateArn, certificate };
  }

  /** An A alias per host pointing at the ALB, when a hosted zone is configured. */
  private aliasRecords(
    name: string,
    config: { hostedZoneId?: string; dnsRecords: boolean },
    placement: AwsPlacement,
    hosts: string[],
    lb: aws.lb.LoadBalancer,
  ) {
    const zoneId = config.hostedZoneId;
    if (!zoneId || !config.dnsRecords) return {};
    return Object.fromEntries(
      hosts.map((host) => [
        host,
        new aws.route53.Record(
          `${name}-dns-${host}`,
          {
            zoneId,
            name: host,
            type: "A",
            aliases: [{ name: lb.dnsName, zoneId: lb.zoneId, evaluateTargetHealth: true }],
          },
          { parent: this, provider: placement.provider },
        ),
      ]),
    );
  }
}
