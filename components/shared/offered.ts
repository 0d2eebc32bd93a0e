/**
 * Which connections a tier component was given, as its validators take them: a service or job that declares a
 * connection the component was not given is refused at its arg path before anything is registered. The program
 * passes "all of them" instead, since its own config checks say which tier is missing, by config key.
 */
export interface OfferedConnections {
  database: boolean;
  /** The database connection's extra databases; undefined when unknown (the program checks them by config key). */
  databases?: string[] | undefined;
  /** The storage connection's bucket keys; undefined without storage. */
  buckets: string[] | undefined;
  broker: boolean;
}

/** The connections in a component's args (a broker unless it is `false`). */
export function offeredBy(args: {
  database?: { databases?: Record<string, unknown> | undefined } | undefined;
  storage?: { buckets: Record<string, unknown> } | undefined;
  broker?: unknown;
}): OfferedConnections {
  return {
    database: args.database !== undefined,
    databases: args.database && Object.keys(args.database.databases ?? {}),
    buckets: args.storage && Object.keys(args.storage.buckets),
    broker: args.broker !== false,
  };
}
