/**
 * The stack's safety level is pinned in its own policy config. `stackport:environment` chooses the program's
 * protections (volume and bucket protection, RDS deletion protection and final snapshots, backup retention, log
 * retention): one line of the stack file. This rule makes a change of that line a mandatory violation until the pin
 * in `policies/config/<stack>.json` changes with it, in the same reviewed change.
 */
import { environmentOf, stackRule } from "./common";

export const stackEnvironmentPinned = stackRule(
  {
    name: "stack-environment-pinned",
    description: "A stack's `stackport:environment` must be the environment its policy config pins.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps:
      "Set `stackport:environment` back to the pinned value. If the stack really changes environment, change this rule's `environment` in `policies/config/<stack>.json` in the same change, so reviewers see the protections it switches off.",
    area: "stack",
    appliesTo: ["pulumi:pulumi:Stack"],
    configSchema: {
      properties: {
        environment: {
          type: "string",
          default: "",
          description:
            "The environment the stack must declare (`local`, `staging`, `production`, …); empty: not pinned.",
        },
      },
    },
  },
  (args, report) => {
    const { environment: pinned } = args.getConfig<{ environment: string }>();
    if (!pinned) return;
    const declared = environmentOf(args);
    if (declared !== pinned) {
      report(
        `stackport:environment is '${declared}', but this stack's policy config pins '${pinned}': the environment sets the stack's protections, so this change switches them off unreviewed`,
      );
    }
  },
);

export const stackRules = [stackEnvironmentPinned];
