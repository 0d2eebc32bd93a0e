import type * as pulumi from "@pulumi/pulumi";

/** The roles the bootstrap creates (seed 002): migrations, read-write runtime, read-only analytics. */
export const DATABASE_ROLES = ["db_admin", "app_writer", "app_reader"] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];

/** The roles of each extra database (`databases`): `<database>_owner` (migrations), `_writer`, `_reader`. */
export const DATABASE_ACCESS_ROLES = ["owner", "writer", "reader"] as const;
export type DatabaseAccessRole = (typeof DATABASE_ACCESS_ROLES)[number];

/** The login role of an extra database's access role: `telemetry` + `writer` → `telemetry_writer`. */
export const databaseRoleName = (database: string, role: DatabaseAccessRole) => `${database}_${role}`;

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
  /**
   * The extra databases (`databases` of the component), each with one connection per access role; a role of one
   * database cannot connect to any other. @default {}
   */
  databases?: Record<string, Record<DatabaseAccessRole, RoleConnection>>;
}

/** A consumer's choice of an extra database's role (what a service's config names). */
export interface DatabaseRoleRef {
  database: string;
  role: Exclude<DatabaseAccessRole, "owner">;
}

/**
 * The connection of an extra database's writer or reader, or a readable error naming what exists: consumers pick
 * a role by name in config, and a typo must not reach the engine as an undefined URL.
 */
export function extraDatabaseConnection(
  connection: DatabaseConnection,
  ref: DatabaseRoleRef,
): RoleConnection {
  const databases = connection.databases ?? {};
  const db = databases[ref.database];
  if (!db) {
    const known = Object.keys(databases);
    throw new Error(
      `unknown database '${ref.database}'; ${known.length ? `extra databases: ${known.join(", ")}` : "there are no extra databases"}`,
    );
  }
  return db[ref.role];
}
