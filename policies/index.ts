/**
 * The stackport CrossGuard policy pack. The only place a `PolicyPack` is constructed (constructing one starts a
 * gRPC server: never import this file from tests or synth — they use `./rules`).
 *
 *   pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json
 *
 * Levels: each rule's default, overridden per stack by the config file (`all`, then per-policy). Rules marked
 * `synthOnly` run in the offline synth gate only (see their `synthOnly` reason and docs/policies.md).
 */
import { PolicyPack, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { allRules, type StackportRule } from "./rules";

/** The plain policy object the SDK expects: stackport-only metadata (area, appliesTo, …) left out. */
function toPolicy(rule: StackportRule): ResourceValidationPolicy | StackValidationPolicy {
  const common = {
    name: rule.name,
    description: rule.description,
    enforcementLevel: rule.enforcementLevel,
    severity: rule.severity,
    remediationSteps: rule.remediationSteps,
    ...(rule.configSchema && { configSchema: rule.configSchema }),
  };
  return rule.kind === "stack"
    ? { ...common, validateStack: rule.validateStack }
    : { ...common, validateResource: rule.validateResource };
}

new PolicyPack("stackport", {
  description:
    "stackport platform rules: Docker container hardening, proxy exposure and TLS, backups, stateful safety, labels, and AWS S3/RDS/ALB/network/monitoring/ECS/CloudWatch/IAM.",
  enforcementLevel: "advisory",
  policies: allRules.filter((r) => !r.synthOnly).map(toPolicy),
});
