import type * as pulumi from "@pulumi/pulumi";

/** The roles the bootstrap creates (seed 002): migrations, read-write runtime, read-only analytics. */
export const DATABASE_ROLES = ["db_admin", "app_writer", "app_reader"] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];

/** How one role connects. `password` and `url` are Pulumi secrets. */
export interface RoleConnection {
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  database: pulumi.Output<string>;
  user: pulumi.Output<string>;
  password: pulumi.Output<string>;
  /** `postgresql://user:password@host:port/database` */
  url: pulumi.Output<string>;
}

/**
 * How consumers reach the database, whichever backend made it (PostGIS on Docker, RDS on AWS): one connection
 * per role, so a service can be given `app_writer` or `app_reader` and never `db_admin`.
 */
export interface DatabaseConnection {
  roles: Record<DatabaseRole, RoleConnection>;
}
