/** Application load balancers: HTTP only redirects to HTTPS, deletion protection, access logs. */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import { asArray, resourceRule } from "./common";

export const LOAD_BALANCERS = ["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer"];
export const LISTENERS = ["aws:lb/listener:Listener", "aws:alb/listener:Listener"];

const isApplication = (props: any) => (props.loadBalancerType ?? "application") === "application";

export const albHttpsRedirect = resourceRule(
  {
    name: "aws-alb-https-redirect",
    description: "Plain HTTP listeners must only redirect to HTTPS.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      'Give the port-80 listener one default action `{type: "redirect", redirect: {protocol: "HTTPS", port: "443", statusCode: "HTTP_301"}}`.',
    area: "aws-alb",
    appliesTo: LISTENERS,
  },
  (props, _args, report) => {
    if (String(props.protocol ?? "").toUpperCase() !== "HTTP") return;
    const actions = asArray(props.defaultActions);
    const redirects =
      actions.length === 1 && actions[0]?.type === "redirect" && actions[0]?.redirect?.protocol === "HTTPS";
    if (!redirects)
      report("the HTTP listener serves traffic instead of redirecting every request to HTTPS (CKV2_AWS_20)");
  },
);

export const albDeletionProtection = resourceRule(
  {
    name: "aws-alb-deletion-protection",
    description: "Application load balancers must have deletion protection on.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set `enableDeletionProtection: true`.",
    area: "aws-alb",
    appliesTo: LOAD_BALANCERS,
  },
  (props, _args, report) => {
    if (!isApplication(props)) return;
    if (props.enableDeletionProtection !== true) report("enableDeletionProtection is not true (CKV_AWS_150)");
  },
);

export const albAccessLogs = resourceRule(
  {
    name: "aws-alb-access-logs",
    description: "Application load balancers must write access logs to S3.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set `accessLogs: {enabled: true, bucket: <the logs bucket>}`.",
    area: "aws-alb",
    appliesTo: LOAD_BALANCERS,
  },
  (props, _args, report) => {
    if (!isApplication(props)) return;
    const logs = props.accessLogs;
    if (!logs || logs.enabled !== true || !logs.bucket) report("access logs are not enabled (CKV_AWS_91)");
  },
);

export const albRules = [albHttpsRedirect, albDeletionProtection, albAccessLogs];
