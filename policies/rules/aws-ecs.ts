/**
 * ECS Fargate: services without public IPs; task definitions log with awslogs, run nothing privileged and keep
 * secrets in `secrets` (Secrets Manager `valueFrom`), never in plain `environment`.
 * `containerDefinitions` is a JSON string; built with `pulumi.jsonStringify` around any Output it is unknown at
 * preview as a whole, and these rules then report "cannot check" rather than pass.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import { asArray, parseJsonDocument, resourceRule } from "./common";
import { SECRET_KEY } from "./docker";

export const ECS_SERVICE = "aws:ecs/service:Service";
export const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";

const containers = (props: any): any[] =>
  asArray(parseJsonDocument(props.containerDefinitions, "containerDefinitions"));

export const ecsNoPublicIp = resourceRule(
  {
    name: "aws-ecs-no-public-ip",
    description: "ECS services must not assign public IP addresses to their tasks.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `networkConfiguration.assignPublicIp: false`; run tasks in private subnets behind the load balancer (NAT or VPC endpoints for egress).",
    area: "aws-ecs",
    appliesTo: [ECS_SERVICE],
  },
  (props, _args, report) => {
    if (props.networkConfiguration?.assignPublicIp === true)
      report("networkConfiguration.assignPublicIp is true (CKV_AWS_333)");
  },
);

export const ecsAwslogs = resourceRule(
  {
    name: "aws-ecs-awslogs",
    description: "Every ECS container must send its logs to CloudWatch with the awslogs driver.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps:
      'Set `logConfiguration: {logDriver: "awslogs", options: {"awslogs-group", "awslogs-region", "awslogs-stream-prefix"}}` on each container.',
    area: "aws-ecs",
    appliesTo: [TASK_DEFINITION],
  },
  (props, _args, report) => {
    for (const c of containers(props)) {
      if (c?.logConfiguration?.logDriver !== "awslogs")
        report(`container ${c?.name ?? "(unnamed)"} does not log with awslogs`);
    }
  },
);

export const ecsNotPrivileged = resourceRule(
  {
    name: "aws-ecs-not-privileged",
    description: "ECS containers must not run privileged.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove `privileged: true` from the container definition.",
    area: "aws-ecs",
    appliesTo: [TASK_DEFINITION],
  },
  (props, _args, report) => {
    for (const c of containers(props)) {
      if (c?.privileged === true) report(`container ${c?.name ?? "(unnamed)"} runs privileged (CKV_AWS_334)`);
    }
  },
);

export const ecsNoPlainSecrets = resourceRule(
  {
    name: "aws-ecs-no-plain-secrets",
    description:
      "Secret-looking ECS environment variables must come from `secrets`, never plain `environment`.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "In stackport, give the service the value as an application secret: `pulumi config set --secret --path 'stackport:secrets.<name>' <value>` (or `ingestion.generatedSecrets.<name>`) and map it with `ingestion.services.<svc>.secrets: { <VARIABLE>: <name> }` (the component arg `services.<svc>.secrets`); it then reaches the task through Secrets Manager. Elsewhere, move the variable to `secrets: [{name, valueFrom: <Secrets Manager ARN>[:json-key::]}]`; the execution role needs secretsmanager:GetSecretValue on it.",
    area: "aws-ecs",
    appliesTo: [TASK_DEFINITION],
  },
  (props, _args, report) => {
    for (const c of containers(props)) {
      for (const e of asArray(c?.environment)) {
        const key = String(e?.name ?? "");
        if (SECRET_KEY.test(key) && !/_FILE$/i.test(key) && e?.value) {
          report(`container ${c?.name ?? "(unnamed)"} sets ${key} in plain environment`);
        }
      }
    }
  },
);

export const ecsRules = [ecsNoPublicIp, ecsAwslogs, ecsNotPrivileged, ecsNoPlainSecrets];
