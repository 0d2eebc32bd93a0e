import type * as pulumi from "@pulumi/pulumi";

/** What the proxy tier tells the rest of the platform and the user. */
export interface ProxyEndpoint {
  /** Base URLs users open, one per site (host). */
  urls: pulumi.Output<string[]>;
  /** Generated basic-auth passwords by user name (secrets). */
  basicAuthPasswords: Record<string, pulumi.Output<string>>;
}
