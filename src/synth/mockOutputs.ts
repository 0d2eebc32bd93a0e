/**
 * Deterministic stand-ins for outputs only a provider knows (ids, ARNs, DNS names, generated passwords), so the
 * offline plan of the real program resolves the way a deployment would. Never real values, never real secrets.
 */
import { createHash } from "node:crypto";

const MOCK_REGION = "eu-west-1";
const MOCK_ACCOUNT = "123456789012";

const arn = (service: string, resource: string) =>
  `arn:aws:${service}:${MOCK_REGION}:${MOCK_ACCOUNT}:${resource}`;

/** AWS types the provider names itself when the program gives no `name`. */
const AUTO_NAMED = new Set([
  "aws:rds/subnetGroup:SubnetGroup",
  "aws:rds/parameterGroup:ParameterGroup",
  "aws:iam/role:Role",
  "aws:ec2/securityGroup:SecurityGroup",
  "aws:cloudwatch/eventRule:EventRule",
  "aws:sns/topic:Topic",
]);

export function mockOutputs(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): Record<string, unknown> {
  if (type.startsWith("aws:")) return awsOutputs(type, name, inputs);
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return {
        result: `mock-password-${name}`,
        bcryptHash: `$2a$10$mockhash${name.replace(/[^a-z0-9]/gi, "")}`,
      };
    case "docker:index/remoteImage:RemoteImage":
      // The real output is a sha256 id; the image reference reads better in a plan.
      return { imageId: inputs["name"], repoDigest: inputs["name"] };
    case "docker:index/network:Network":
    case "docker:index/volume:Volume":
      return { name: inputs["name"] ?? `${name}-physical` };
    case "command:local:Command":
    case "command:remote:Command":
      return { stdout: "", stderr: "" };
    default:
      return {};
  }
}

function awsOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const service = type.slice(4, type.indexOf("/"));
  const generic: Record<string, unknown> = {
    arn: inputs["arn"] ?? arn(service, name),
    ...(AUTO_NAMED.has(type) && { name: inputs["name"] ?? `${name}-mock` }),
  };
  switch (type) {
    case "aws:secretsmanager/secret:Secret":
      return { ...generic, arn: arn("secretsmanager", `secret:${name}-AbCdEf`) };
    case "aws:secretsmanager/secretVersion:SecretVersion":
      // A new value is a new version with a new id (a UUID), as PutSecretValue makes it. Offline the value is never
      // a real secret (a stack secret is the undecryptable placeholder, a generated one the mock password above).
      return { ...generic, versionId: uuidOf(JSON.stringify(inputs["secretString"] ?? null)) };
    case "aws:iam/role:Role":
      return { ...generic, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${inputs["name"] ?? name}` };
    case "aws:iam/accessKey:AccessKey":
      return { ...generic, secret: `mock-secret-${name}` };
    case "aws:ecs/taskDefinition:TaskDefinition":
      return { ...generic, arn: arn("ecs", `task-definition/${inputs["family"]}:1`), revision: 1 };
    case "aws:ecr/repository:Repository":
      return {
        ...generic,
        arn: arn("ecr", `repository/${inputs["name"]}`),
        repositoryUrl: `${MOCK_ACCOUNT}.dkr.ecr.${MOCK_REGION}.amazonaws.com/${inputs["name"]}`,
      };
    case "aws:lb/loadBalancer:LoadBalancer":
      return {
        ...generic,
        arn: arn("elasticloadbalancing", `loadbalancer/app/${name}/50dc6c495c0c9188`),
        arnSuffix: `app/${name}/50dc6c495c0c9188`,
        dnsName: `${name}-1234567890.${MOCK_REGION}.elb.amazonaws.com`,
        zoneId: "Z32O12XQLNTSW2",
      };
    case "aws:lb/targetGroup:TargetGroup":
      return {
        ...generic,
        arn: arn("elasticloadbalancing", `targetgroup/${name}/73e2d6bc24d8a067`),
        arnSuffix: `targetgroup/${name}/73e2d6bc24d8a067`,
      };
    case "aws:lb/listener:Listener":
      return {
        ...generic,
        arn: arn("elasticloadbalancing", `listener/app/${name}/50dc6c495c0c9188/f2f7dc8efc522ab2`),
      };
    case "aws:acm/certificate:Certificate": {
      const domains = [inputs["domainName"], ...((inputs["subjectAlternativeNames"] as string[]) ?? [])];
      return {
        ...generic,
        arn: arn("acm", `certificate/${name}`),
        domainValidationOptions: domains.map((d) => ({
          domainName: d,
          resourceRecordName: `_x1.${d}.`,
          resourceRecordType: "CNAME",
          resourceRecordValue: "_y1.acm-validations.aws.",
        })),
      };
    }
    case "aws:acm/certificateValidation:CertificateValidation":
      return { ...generic, certificateArn: inputs["certificateArn"] };
    case "aws:route53/record:Record":
      return { ...generic, fqdn: inputs["name"] };
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return {
        ...generic,
        primaryEndpointAddress: `master.${inputs["replicationGroupId"]}.abc123.euw1.cache.amazonaws.com`,
      };
    case "aws:rds/instance:Instance": {
      const address = `${inputs["identifier"] ?? name}.mock.${MOCK_REGION}.rds.amazonaws.com`;
      return {
        ...generic,
        address,
        endpoint: `${address}:5432`,
        masterUserSecrets: [
          { secretArn: arn("secretsmanager", "secret:rds!db-mock"), secretStatus: "active" },
        ],
      };
    }
    case "aws:s3/bucket:Bucket":
      return {
        ...generic,
        arn: `arn:aws:s3:::${inputs["bucket"] ?? name}`,
        bucket: inputs["bucket"] ?? name,
      };
    default:
      return generic;
  }
}

/** A UUID-shaped stand-in derived from `text` (a hash: the same input gives the same id, and reveals nothing). */
function uuidOf(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
