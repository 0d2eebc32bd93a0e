/** IAM: no statement allows every action on every resource (CKV_AWS_62 / CKV_AWS_274). */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource props and parsed documents are untyped JSON */
import { asArray, parseJsonDocument, resourceRule } from "./common";

export const IAM_POLICY_TYPES = [
  "aws:iam/policy:Policy",
  "aws:iam/rolePolicy:RolePolicy",
  "aws:iam/userPolicy:UserPolicy",
  "aws:iam/groupPolicy:GroupPolicy",
  "aws:iam/role:Role",
];

/** Statements of a policy document that allow `*` (or `*:*`) on `*`. */
export function adminStatements(doc: any): number {
  return asArray(doc?.Statement).filter((s) => {
    if (s?.Effect !== "Allow") return false;
    const actions = asArray(s.Action).map(String);
    const resources = asArray(s.Resource).map(String);
    return actions.some((a) => a === "*" || a === "*:*") && resources.some((r) => r === "*");
  }).length;
}

export const iamNoWildcardAdmin = resourceRule(
  {
    name: "aws-iam-no-wildcard-admin",
    description: "IAM policies must not allow every action on every resource.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Name the actions and resource ARNs the role needs (e.g. `secretsmanager:GetSecretValue` on one secret ARN).",
    area: "aws-iam",
    appliesTo: IAM_POLICY_TYPES,
  },
  (props, args, report) => {
    const docs: [string, unknown][] =
      args.type === "aws:iam/role:Role"
        ? asArray(props.inlinePolicies).map((p, i) => [`inlinePolicies[${i}]`, p?.policy])
        : [["policy", props.policy]];
    for (const [where, raw] of docs) {
      if (raw === undefined || raw === null || raw === "") continue;
      const n = adminStatements(parseJsonDocument(raw, where));
      if (n > 0) report(`${where} allows "*" actions on "*" resources (${n} statement${n > 1 ? "s" : ""})`);
    }
  },
);

export const iamRules = [iamNoWildcardAdmin];
