import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Environment } from "../../src/config/schema";
import type { AwsProxyConfig } from "../../src/config/tiers/awsServices";
import type { AwsPlacement } from "../shared/placement";
import { type Transform, transformed } from "../shared/component";
import { standardLabels } from "../shared/labels";
import {
  type AlbRoute,
  type AlbUpstream,
  albHosts,
  checkAlbRoutes,
  ingressCidrs,
  pathPatterns,
  rulePriorities,
  stripPrefixTransform,
} from "./albRules";
import type { ProxyEndpoint } from "./contract";

export interface AlbProxyArgs {
  /** `stackport:proxy`: the default domain and the routes (`auth: basic` is refused on AWS). */
  config: { domain: string; routes: Record<string, AlbRoute> };
  /** `stackport:proxy.aws` (parsed with `awsProxySchema`). */
  aws: AwsProxyConfig;
  environment: Environment;
  placement: AwsPlacement;
  /** ECS services routes may forward to, by the name routes use in `to:`; port and health path from their config. */
  upstreams: Record<string, AlbUpstream>;
  /** Bucket (name) for access logs — the storage tier's `logs` bucket; its policy must admit ELB log delivery. */
  accessLogsBucket?: pulumi.Input<string>;
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
    const { config, placement, environment } = args;
    checkAlbRoutes(config.routes, args.upstreams, args.aws, config.domain);
    super("stackport:aws:Proxy", name, { config, aws: args.aws }, opts);
    const provider = placement.provider;
    const child = { parent: this, provider };
    const tags = standardLabels("proxy");
    const hosts = albHosts(config.domain, config.routes);

    this.ingress(name, placement, ingressCidrs(args.aws.allowedCidrs, config.routes));

    const [lbArgs, lbOpts] = transformed<aws.lb.LoadBalancerArgs>(
      args.transform?.loadBalancer,
      {
        loadBalancerType: "application",
        internal: false,
        subnets: placement.publicSubnetIds,
        securityGroups: [placement.securityGroups.alb],
        // Requests with header names a backend could parse differently are dropped (request smuggling).
        dropInvalidHeaderFields: true,
        enableDeletionProtection: args.aws.deletionProtection ?? environment === "production",
        idleTimeout: args.aws.idleTimeoutSeconds,
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

    const { certificateArn, certificate } = this.certificate(name, args, hosts);
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

    const routed = [...new Set(Object.values(config.routes).map((r) => r.to))].sort();
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

    const priorities = rulePriorities(config.routes);
    const rules = Object.fromEntries(
      Object.keys(config.routes)
        .sort()
        .map((routeName) => {
          const route = config.routes[routeName]!;
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

    const records = this.aliasRecords(name, args, hosts, loadBalancer);

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
  private certificate(name: string, args: AlbProxyArgs, hosts: string[]) {
    if (args.aws.certificateArn) return { certificateArn: pulumi.output(args.aws.certificateArn) };
    const zoneId = args.aws.hostedZoneId!;
    const child = { parent: this, provider: args.placement.provider };
    const [primary, ...others] = [args.config.domain, ...hosts.filter((h) => h !== args.config.domain)];
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
  private aliasRecords(name: string, args: AlbProxyArgs, hosts: string[], lb: aws.lb.LoadBalancer) {
    const zoneId = args.aws.hostedZoneId;
    if (!zoneId || !args.aws.dnsRecords) return {};
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
          { parent: this, provider: args.placement.provider },
        ),
      ]),
    );
  }
}
