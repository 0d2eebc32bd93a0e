/**
 * Application secrets on AWS: one Secrets Manager secret per secret some service uses (shared by every service that
 * uses it), its value from the stack's secrets or from `@pulumi/random`. Services reference the secret pinned to its
 * current version, so a new value makes a new task definition revision and rolls exactly those services.
 */
import * as aws from "../shared/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretRefArgs } from "../shared/fargateService";
import { standardLabels } from "../shared/labels";
import type { AppSecretSource } from "./settings";

/** The length of a generated secret when `generate.length` is not given. */
export const GENERATED_SECRET_LENGTH = 48;

export interface AppSecrets {
  /** By secret name: what a service's `secretRefs` entry for it is. */
  refs: Record<string, SecretRefArgs>;
  nodes: Record<
    string,
    {
      secret: aws.secretsmanager.Secret;
      version: aws.secretsmanager.SecretVersion;
      generated?: random.RandomPassword;
    }
  >;
}

/** Creates the secrets of `used` (names of `sources`), children of `parent`. */
export function createAppSecrets(
  parent: pulumi.Resource,
  name: string,
  args: { provider: aws.Provider; sources: Record<string, AppSecretSource>; used: string[]; tier: string },
): AppSecrets {
  const child = { parent, provider: args.provider };
  const tags = standardLabels(args.tier);
  const refs: AppSecrets["refs"] = {};
  const nodes: AppSecrets["nodes"] = {};
  for (const secretName of [...new Set(args.used)].sort()) {
    const source = args.sources[secretName]!;
    // Alphanumeric: safe in a URL, a header or a shell variable without quoting.
    const generated =
      source.generate &&
      new random.RandomPassword(
        `${name}-secret-${secretName}-generated`,
        { length: source.generate.length ?? GENERATED_SECRET_LENGTH, special: false },
        { parent },
      );
    const value = generated ? generated.result : pulumi.secret(source.value!);
    const secret = new aws.secretsmanager.Secret(
      `${name}-secret-${secretName}`,
      {
        description: `stackport ${pulumi.getStack()} ${args.tier}: application secret '${secretName}'`,
        tags: { ...tags, "stackport.secret": secretName },
      },
      child,
    );
    const version = new aws.secretsmanager.SecretVersion(
      `${name}-secret-${secretName}-value`,
      { secretId: secret.id, secretString: value },
      child,
    );
    refs[secretName] = { secretArn: secret.arn, versionId: version.versionId };
    nodes[secretName] = { secret, version, ...(generated && { generated }) };
  }
  return { refs, nodes };
}
