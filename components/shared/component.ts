import * as pulumi from "@pulumi/pulumi";

/**
 * A per-child escape hatch: mutate the child's args (and options) before it is created. Use sparingly: it is how
 * users reach a provider setting a component does not expose, without forking it.
 */
export type Transform<Args> = (args: Args, opts: pulumi.CustomResourceOptions) => void;

/** Applies a transform, if any, to a child's args and options, and returns them. */
export function transformed<Args>(
  transform: Transform<Args> | undefined,
  args: Args,
  opts: pulumi.CustomResourceOptions,
): [Args, pulumi.CustomResourceOptions] {
  transform?.(args, opts);
  return [args, opts];
}

/** Stateful safety, set explicitly on each stateful child (never inherited: inheritance differs across SDKs). */
export interface StatefulSafety {
  protect: boolean;
  retainOnDelete: boolean;
}

export function statefulOptions(
  parent: pulumi.Resource,
  safety: StatefulSafety,
  extra: pulumi.CustomResourceOptions = {},
): pulumi.CustomResourceOptions {
  return { ...extra, parent, protect: safety.protect, retainOnDelete: safety.retainOnDelete };
}
