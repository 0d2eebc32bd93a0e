/**
 * An `AwsPlacement` for component tests that does not need the AWS target: an explicit provider and plain output
 * ids (provider-computed outputs come from the recorder's mockOutputs).
 */
import * as aws from "../../components/shared/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement } from "../../components/shared/placement";

export const REGION = "eu-west-1";
const ACCOUNT = "123456789012";

export function fakeAwsPlacement(): AwsPlacement {
  const out = (v: string) => pulumi.output(v);
  return {
    targetName: "cloud",
    provider: new aws.Provider("cloud-provider", { region: REGION }),
    region: REGION,
    vpcId: out("vpc-0123"),
    vpcCidr: "10.40.0.0/16",
    publicSubnetIds: [out("subnet-public-a"), out("subnet-public-b")],
    privateSubnetIds: [out("subnet-private-a"), out("subnet-private-b")],
    securityGroups: {
      alb: out("sg-alb"),
      services: out("sg-services"),
      database: out("sg-db"),
      broker: out("sg-broker"),
    },
    cluster: { arn: out(`arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/test`), name: out("test") },
    tags: { "stackport.stack": "test" },
  };
}
