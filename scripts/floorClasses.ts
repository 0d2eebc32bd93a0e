/**
 * Which provider class registers a recorded resource, for the benchmark floor: the class is loaded from its own
 * module file (`@pulumi/aws/ecs/taskDefinition`), not through a package or service index, so the floor pays for
 * no module it does not use.
 */
import type * as pulumi from "@pulumi/pulumi";

/** What the floor needs of a resource in a synth plan (`synth --json`). */
export interface RecordedPlanResource {
  type: string;
  name: string;
  parent?: string;
  provider?: string;
  inputs: Record<string, unknown>;
}

type ResourceClass = new (
  name: string,
  args: Record<string, unknown>,
  opts: pulumi.CustomResourceOptions,
) => pulumi.Resource;

/** The package that registers stackport's own components; they have no provider class. */
const COMPONENT_PACKAGE = "stackport";

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/**
 * The module file and export of a type token's class: `pulumi:providers:aws` → `@pulumi/aws/provider` Provider;
 * `aws:ecs/taskDefinition:TaskDefinition` → `@pulumi/aws/ecs/taskDefinition`; `docker:index/container:Container`
 * → `@pulumi/docker/container`; `command:local:Command` → `@pulumi/command/local/command`. Undefined for a
 * stackport component.
 */
export function providerModule(type: string): { module: string; exportName: string } | undefined {
  const [pkg, modulePath, className] = type.split(":");
  if (!pkg || !modulePath || !className) throw new Error(`'${type}' is not a Pulumi type token`);
  if (pkg === COMPONENT_PACKAGE) return undefined;
  if (pkg === "pulumi" && modulePath === "providers")
    return { module: `@pulumi/${className}/provider`, exportName: "Provider" };
  const file = modulePath.includes("/")
    ? modulePath.replace(/^index\//, "")
    : `${modulePath}/${lowerFirst(className)}`;
  return { module: `@pulumi/${pkg}/${file}`, exportName: className };
}

/** The class that registers `type`, or undefined for a stackport component. */
export function providerClass(type: string): ResourceClass | undefined {
  const where = providerModule(type);
  if (!where) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Class = (require(where.module) as Record<string, unknown>)[where.exportName];
  if (typeof Class !== "function")
    throw new Error(`${where.module} has no class ${where.exportName} (for resources of type ${type})`);
  return Class as ResourceClass;
}
