/**
 * Pure renderers for what an ECS task is made of: the `containerDefinitions` JSON and the IAM policy documents of
 * its roles. No Pulumi here: the component resolves ARNs and calls these inside one `apply`, and tests call them
 * directly (the no-secret-in-environment rule is property-tested).
 *
 * The JSON contract is AWS's RegisterTaskDefinition `containerDefinitions` (research providers.md §3.4).
 */
import { type ArgsIssue, argPath } from "./errors";
import { URL_PATH } from "./formats";

/** A value ECS injects from Secrets Manager at task start (never written into the task definition). */
export interface SecretRef {
  /** The secret's full ARN. */
  secretArn: string;
  /** A key of the secret's JSON value (`password`, `DATABASE_URL`); the whole value when absent. */
  jsonKey?: string;
  /**
   * Pin one version of the secret (its `VersionId`): a new value is a new version, so the task definition changes and
   * the service rolls onto it. The current version (`AWSCURRENT`) when absent.
   */
  versionId?: string;
}

/** A port the container listens on besides `port`: published through a Network Load Balancer. */
export interface PortMappingSpec {
  port: number;
  protocol: "tcp" | "udp";
  /** The mapping's name, what an ECS Service Connect server refers to. @default unnamed */
  name?: string;
}

/** A volume of the task mounted into the container (an EFS access point). */
export interface MountSpec {
  /** The task definition volume's `name`. */
  sourceVolume: string;
  containerPath: string;
}

export interface ContainerSpec {
  /** Container name: the service key (also the log stream prefix and the load balancer's `containerName`). */
  name: string;
  image: string;
  /** Overrides the image's ENTRYPOINT. */
  entryPoint?: string[];
  command?: string[];
  /** The port the service listens on (TCP): HTTP for routed services. */
  port?: number;
  /** The name of `port`'s mapping, what an ECS Service Connect server refers to. @default unnamed */
  portName?: string;
  /** More ports it listens on (published ports). A port equal to `port` (TCP) shares its mapping. @default [] */
  ports?: PortMappingSpec[];
  /** Task volumes mounted into the container. @default [] */
  mounts?: MountSpec[];
  /** Plain configuration. A name or value that looks secret is refused (see `looksSecret`). */
  environment: Record<string, string>;
  /** Variables injected from Secrets Manager, by variable name. */
  secrets: Record<string, SecretRef>;
  /** HTTP path the container health check requests on `port` (the image must ship `wget` or `curl`). */
  healthPath?: string;
  /** A health check command (`["CMD-SHELL", "…"]`, same form as Docker's) instead of the `healthPath` probe. */
  healthCommand?: string[];
  logGroup: string;
  region: string;
}

/**
 * Variable names that carry credentials by convention. Matching is on name segments, so `TOKEN_TTL` matches
 * (better refused than leaked) while `MONKEY` does not.
 */
const SECRET_NAME =
  /(^|_)(PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|CREDENTIALS?|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|KEY|AUTH|DSN|DATABASE_URL|BROKER_URL|REDIS_URL|CONNECTION_STRING)(_|$)/i;
/** `scheme://user:password@host`. */
const URL_WITH_CREDENTIALS = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]*@/i;

/** Whether an environment variable's name or value looks like it carries a secret. */
export function looksSecret(name: string, value = ""): boolean {
  return SECRET_NAME.test(name) || URL_WITH_CREDENTIALS.test(value);
}

/**
 * ECS `valueFrom`: the ARN, or `<arn>:<json-key>:<version-stage>:<version-id>` (JSON key and version need Fargate
 * platform ≥ 1.4.0; AWS docs "Pass Secrets Manager secrets through Amazon ECS environment variables" — an empty field
 * means the whole value, resp. `AWSCURRENT`). The stage is never given: a version id alone pins the version.
 */
export const valueFrom = (ref: SecretRef) =>
  ref.jsonKey || ref.versionId
    ? `${ref.secretArn}:${ref.jsonKey ?? ""}::${ref.versionId ?? ""}`
    : ref.secretArn;

/** The secret ARNs a container reads (what its execution role must be allowed to read), sorted and unique. */
export const referencedSecretArns = (secrets: Record<string, SecretRef>) =>
  [...new Set(Object.values(secrets).map((r) => r.secretArn))].sort();

/**
 * What in a container spec would put a secret into the task definition (readable by anyone with
 * `ecs:DescribeTaskDefinition`, and kept in every revision forever), or cannot be a health probe; each at its path
 * in the spec (`environment.<NAME>`, `healthPath`).
 */
export function containerIssues(
  spec: Pick<ContainerSpec, "environment" | "secrets" | "healthPath">,
): ArgsIssue[] {
  const issues: ArgsIssue[] = Object.entries(spec.environment).flatMap(([name, value]) => {
    const path = argPath("environment", name);
    if (name in spec.secrets) {
      return [{ path, message: `is also injected as a secret; a variable is either plain or secret` }];
    }
    if (!looksSecret(name, value)) return [];
    return [
      {
        path,
        message:
          "looks like a secret, and environment values are stored in plain text in the task definition; " +
          "use the service's connections (database, storage, broker) or its `secrets` (the tier's application secrets) instead",
      },
    ];
  });
  if (spec.healthPath !== undefined && !URL_PATH.test(spec.healthPath)) {
    issues.push({ path: "healthPath", message: `'${spec.healthPath}' is not a plain URL path` });
  }
  return issues;
}

const byName = <T>(record: Record<string, T>) =>
  Object.entries(record).sort(([a], [b]) => a.localeCompare(b));

/** The `containerDefinitions` JSON of a one-container task. Deterministic: variables are sorted by name. */
export function renderContainerDefinitions(spec: ContainerSpec): string {
  const issues = containerIssues(spec);
  if (issues.length > 0) {
    throw new Error(`container '${spec.name}': ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`);
  }
  const container = {
    name: spec.name,
    image: spec.image,
    essential: true,
    ...(spec.entryPoint && { entryPoint: spec.entryPoint }),
    ...(spec.command && { command: spec.command }),
    ...(portMappings(spec).length > 0 && { portMappings: portMappings(spec) }),
    ...(spec.mounts?.length && {
      mountPoints: spec.mounts.map((m) => ({ ...m, readOnly: false })),
    }),
    environment: byName(spec.environment).map(([name, value]) => ({ name, value })),
    secrets: byName(spec.secrets).map(([name, ref]) => ({ name, valueFrom: valueFrom(ref) })),
    logConfiguration: {
      logDriver: "awslogs",
      options: {
        "awslogs-group": spec.logGroup,
        "awslogs-region": spec.region,
        "awslogs-stream-prefix": spec.name,
      },
    },
    ...(healthCommand(spec) && { healthCheck: { ...HEALTH_TIMING, command: healthCommand(spec) } }),
    // A real PID 1 (tini) reaps zombies and forwards SIGTERM, so tasks stop cleanly on deployments.
    linuxParameters: { initProcessEnabled: true },
  };
  return JSON.stringify([container]);
}

/** `port` first (as before published ports existed), then each other port once, by port and protocol. */
function portMappings(spec: ContainerSpec): { containerPort: number; protocol: string; name?: string }[] {
  const out: { containerPort: number; protocol: string; name?: string }[] = [];
  if (spec.port !== undefined) {
    out.push({ containerPort: spec.port, protocol: "tcp", ...(spec.portName && { name: spec.portName }) });
  }
  for (const p of spec.ports ?? []) {
    const same = out.find((m) => m.containerPort === p.port && m.protocol === p.protocol);
    if (same) {
      if (!same.name && p.name) same.name = p.name;
      continue;
    }
    out.push({ containerPort: p.port, protocol: p.protocol, ...(p.name && { name: p.name }) });
  }
  return out;
}

const HEALTH_TIMING = { interval: 30, timeout: 5, retries: 3, startPeriod: 60 };

/** The given command, else a probe of `healthPath` trying wget (busybox, Martin) then curl (Debian images). */
function healthCommand(spec: ContainerSpec): string[] | undefined {
  if (spec.healthCommand) return spec.healthCommand;
  if (spec.healthPath === undefined || spec.port === undefined) return undefined;
  const url = `http://127.0.0.1:${spec.port}${spec.healthPath}`;
  return ["CMD-SHELL", `wget -q -O /dev/null ${url} || curl -fsS -o /dev/null ${url} || exit 1`];
}

// ---------------------------------------------------------------------------------------------------------
// IAM policy documents

export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: string[];
    Condition?: Record<string, Record<string, string>>;
  }[];
}

/** Trust policy letting an AWS service (`ecs-tasks.amazonaws.com`, `events.amazonaws.com`) assume a role. */
export function assumeRolePolicy(service: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/** The execution role reads exactly the secrets the container references (and nothing else in the account). */
export function secretsReadPolicy(secretArns: string[]): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadReferencedSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [...new Set(secretArns)].sort(),
      },
    ],
  };
}

/**
 * The task role's access to its data directory: mount and write the file system only through its own access point
 * (EFS checks `elasticfilesystem:AccessPointArn` on every NFS mount made with IAM authorization).
 */
export function efsClientPolicy(fileSystemArn: string, accessPointArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "MountOwnAccessPoint",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: [fileSystemArn],
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": accessPointArn } },
      },
    ],
  };
}

/** What EventBridge needs to start a scheduled task: run that task definition family, pass its two roles. */
export function runTaskPolicy(args: {
  taskDefinitionArn: string;
  clusterArn: string;
  roleArns: string[];
}): PolicyDocument {
  // Any revision of the family: a new revision must not need a new policy before the schedule can use it.
  const family = args.taskDefinitionArn.replace(/:\d+$/, ":*");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "RunTask",
        Effect: "Allow",
        Action: ["ecs:RunTask"],
        Resource: [family],
        Condition: { ArnEquals: { "ecs:cluster": args.clusterArn } },
      },
      {
        Sid: "PassTaskRoles",
        Effect: "Allow",
        Action: ["iam:PassRole"],
        Resource: [...args.roleArns].sort(),
      },
    ],
  };
}
