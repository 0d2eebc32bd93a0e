/**
 * Every rule: a passing case, a violating case, and — for rules whose default or production level is mandatory —
 * an unknown-input case that must report "cannot check: …" rather than pass. All through the SDK's real
 * property proxy (harness.ts). A coverage test fails when a rule is added without cases.
 */
import { allRules, type StackportRule } from "../../policies/rules";
import { type ResourceCase, UNKNOWN, runRule } from "./harness";

const labels = (tier: string, extra: Record<string, string> = {}) =>
  Object.entries({
    "stackport.stack": "test",
    "stackport.tier": tier,
    "stackport.managed-by": "stackport",
    ...extra,
  }).map(([label, value]) => ({ label, value }));
const tags = (tier: string, extra: Record<string, string> = {}) => ({
  "stackport.stack": "test",
  "stackport.tier": tier,
  "stackport.managed-by": "stackport",
  ...extra,
});

const C = "docker:index/container:Container";
const container = (over: Record<string, unknown> = {}): ResourceCase => ({
  type: C,
  props: {
    name: "test-storage",
    image: "sha256:0123",
    labels: labels("storage", { "stackport.role": "server" }),
    ports: [{ internal: 9000, external: 9000, ip: "127.0.0.1", protocol: "tcp" }],
    volumes: [{ volumeName: "test-storage-data", containerPath: "/data" }],
    healthcheck: { tests: ["CMD", "mc", "ready", "local"] },
    memory: 1024,
    envs: ["MINIO_ROOT_USER=stackport-root", "[secret]", "MINIO_PROMETHEUS_AUTH_TYPE=public"],
    ...over,
  },
});
const job = (over: Record<string, unknown> = {}) =>
  container({ mustRun: false, healthcheck: undefined, memory: undefined, ports: [], ...over });

/** A Docker proxy component with its own inputs (routes, TLS mode). */
const proxy = (props: Record<string, unknown>): ResourceCase => ({
  type: "stackport:docker:Proxy",
  props: { domain: "home.lan", tls: { mode: "internal" }, ...props },
});

const policyDoc = (statements: unknown[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const tlsOnly = {
  Effect: "Deny",
  Principal: "*",
  Action: "s3:*",
  Resource: ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
  Condition: { Bool: { "aws:SecureTransport": "false" } },
};
const task = (defs: unknown[]) => ({
  type: "aws:ecs/taskDefinition:TaskDefinition",
  props: { family: "api", containerDefinitions: JSON.stringify(defs), tags: tags("ingestion") },
});
const apiContainer = {
  name: "api",
  image: "x@sha256:00",
  environment: [{ name: "LOG_LEVEL", value: "info" }],
  secrets: [{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:eu-west-1:1:secret:db:password::" }],
  logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/api" } },
};
const rds = (over: Record<string, unknown> = {}): ResourceCase => ({
  type: "aws:rds/instance:Instance",
  environment: "production",
  props: {
    engine: "postgres",
    storageEncrypted: true,
    publiclyAccessible: false,
    backupRetentionPeriod: 7,
    multiAz: true,
    deletionProtection: true,
    skipFinalSnapshot: false,
    tags: tags("database"),
    ...over,
  },
});

interface RuleCases {
  pass: ResourceCase[];
  fail: { c: ResourceCase; expect: RegExp }[];
  unknown?: ResourceCase;
}

const cases: Record<string, RuleCases> = {
  "docker-no-privileged": {
    pass: [container(), container({ privileged: false, capabilities: { adds: ["NET_BIND_SERVICE"] } })],
    fail: [
      { c: container({ privileged: true }), expect: /privileged/ },
      { c: container({ capabilities: { adds: ["CAP_SYS_ADMIN"] } }), expect: /SYS_ADMIN/ },
    ],
    unknown: container({ privileged: UNKNOWN }),
  },
  "docker-no-host-namespaces": {
    pass: [container({ networkMode: "bridge" })],
    fail: [
      { c: container({ networkMode: "host" }), expect: /network/ },
      { c: container({ pidMode: "host" }), expect: /PID/ },
      { c: container({ ipcMode: "host" }), expect: /IPC/ },
    ],
    unknown: container({ networkMode: UNKNOWN }),
  },
  "docker-no-socket-mount": {
    pass: [
      container(),
      container({
        labels: labels("observability", { "stackport.role": "log-collector" }),
        volumes: [
          { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
        ],
      }),
      // A service with a reviewed exemption (`dockerSocket: { reason }`), read-write as Portainer needs it.
      container({
        labels: labels("ingestion", {
          "stackport.role": "service",
          "stackport.docker-socket-reason": "Portainer manages this host (reviewed in ops#42)",
        }),
        volumes: [
          { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: false },
        ],
      }),
    ],
    fail: [
      {
        // An empty or token reason is no review.
        c: container({
          labels: labels("ingestion", {
            "stackport.role": "service",
            "stackport.docker-socket-reason": " ok ",
          }),
          volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
        }),
        expect: /mounts the Docker socket/,
      },
      {
        c: container({
          volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
        }),
        expect: /mounts the Docker socket/,
      },
      {
        c: container({
          mounts: [{ type: "bind", source: "/run/docker.sock", target: "/var/run/docker.sock" }],
        }),
        expect: /Docker socket/,
      },
      {
        c: container({
          labels: labels("observability", { "stackport.role": "log-collector" }),
          volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }],
        }),
        expect: /read-write/,
      },
    ],
    unknown: container({ volumes: [{ hostPath: UNKNOWN, containerPath: "/x" }] }),
  },
  "docker-internal-not-public": {
    pass: [
      container(),
      container({ labels: labels("proxy"), ports: [{ internal: 80, external: 80, ip: "0.0.0.0" }] }),
      {
        type: "stackport:docker:ObjectStorage",
        props: { publishApi: { port: 9000, address: "127.0.0.1" } },
      },
      // A service's port on every interface that the stack's policy config lists as a reviewed exception.
      {
        ...container({
          labels: labels("ingestion"),
          ports: [{ internal: 1883, external: 1883, ip: "0.0.0.0", protocol: "tcp" }],
        }),
        config: {
          "docker-internal-not-public": { enforcementLevel: "mandatory", allInterfaces: ["1883/tcp"] },
        },
      },
    ],
    fail: [
      {
        // `bind: all` without the exception; the exception names port and protocol, so 1883/udp is not covered.
        c: {
          ...container({
            labels: labels("ingestion"),
            ports: [
              { internal: 1883, external: 1883, ip: "0.0.0.0", protocol: "tcp" },
              { internal: 1883, external: 1883, ip: "0.0.0.0", protocol: "udp" },
            ],
          }),
          config: { "docker-internal-not-public": { allInterfaces: ["1883/tcp"] } },
        },
        expect: /^port 1883->1883\/udp is published on all interfaces/,
      },
      {
        c: container({
          labels: labels("ingestion"),
          ports: [{ internal: 1883, external: 1883, ip: "0.0.0.0", protocol: "tcp" }],
        }),
        expect: /port 1883->1883\/tcp is published on all interfaces \(0\.0\.0\.0\); only the proxy tier/,
      },
      {
        c: container({ ports: [{ internal: 9000, external: 9000 }] }),
        expect: /all interfaces \(0\.0\.0\.0\)/,
      },
      {
        c: container({ ports: [{ internal: 9000, external: 9000, ip: "0.0.0.0" }] }),
        expect: /only the proxy tier/,
      },
      { c: container({ publishAllPorts: true }), expect: /publishAllPorts/ },
      {
        c: {
          type: "stackport:docker:Database",
          props: { publish: { port: 5432, address: "0.0.0.0" } },
        },
        expect: /^publish publishes port 5432/,
      },
    ],
    unknown: container({ ports: [{ internal: 9000, external: 9000, ip: UNKNOWN }] }),
  },
  "docker-image-pinned": {
    pass: [
      { type: "docker:index/remoteImage:RemoteImage", props: { name: "caddy:2.11.4-alpine" } },
      {
        type: "docker:index/remoteImage:RemoteImage",
        props: { name: "registry:5000/team/app@sha256:" + "a".repeat(64) },
      },
    ],
    fail: [
      { c: { type: "docker:index/remoteImage:RemoteImage", props: { name: "caddy" } }, expect: /no tag/ },
      {
        c: { type: "docker:index/remoteImage:RemoteImage", props: { name: "registry:5000/app" } },
        expect: /no tag/,
      },
      {
        c: { type: "docker:index/remoteImage:RemoteImage", props: { name: "caddy:latest" } },
        expect: /latest/,
      },
    ],
    unknown: { type: "docker:index/remoteImage:RemoteImage", props: { name: UNKNOWN } },
  },
  "docker-healthcheck": {
    pass: [container(), job()],
    fail: [
      { c: container({ healthcheck: undefined }), expect: /no health check/ },
      { c: container({ healthcheck: { tests: ["NONE"] } }), expect: /no health check/ },
    ],
    unknown: container({ healthcheck: UNKNOWN }),
  },
  "docker-memory-limit": {
    pass: [container(), job()],
    fail: [{ c: container({ memory: undefined }), expect: /no memory limit/ }],
    unknown: container({ memory: UNKNOWN }),
  },
  "docker-no-plain-secret-envs": {
    pass: [
      container(),
      container({ envs: "[secret]" }),
      container({ envs: ["POSTGRES_PASSWORD_FILE=/run/secrets/pg", "GRAFANA_TOKEN="] }),
    ],
    fail: [
      { c: container({ envs: ["POSTGRES_PASSWORD=hunter2"] }), expect: /POSTGRES_PASSWORD/ },
      { c: container({ envs: ["AWS_SECRET_ACCESS_KEY=abc", "X=1"] }), expect: /AWS_SECRET_ACCESS_KEY/ },
    ],
    unknown: container({ envs: ["A=1", UNKNOWN] }),
  },
  "proxy-route-exposure": {
    pass: [
      proxy({
        routes: {
          lan: { to: "storage", allowFrom: ["10.0.0.0/8"] },
          admin: { to: "storage-console", auth: "basic" },
          tiles: { to: "basemap", path: "/tiles", public: true },
        },
      }),
    ],
    fail: [
      { c: proxy({ routes: { grafana: { to: "grafana", auth: "none" } } }), expect: /open to anyone/ },
      {
        c: {
          type: C,
          props: {
            uploads: [
              { file: "/etc/caddy/Caddyfile", content: "example.org {\n\treverse_proxy app:80\n}\n" },
            ],
          },
        },
        expect: /proxies to app:80 for anyone/,
      },
    ],
    unknown: proxy({ routes: UNKNOWN }),
  },
  "proxy-admin-auth": {
    pass: [proxy({ routes: { console: { to: "storage-console", auth: "basic" } } })],
    fail: [
      {
        c: proxy({ routes: { console: { to: "storage-console", allowFrom: ["10.0.0.0/8"] } } }),
        expect: /admin interface storage-console with auth none/,
      },
    ],
    unknown: proxy({ routes: { console: UNKNOWN } }),
  },
  "proxy-tls": {
    pass: [
      proxy({ tls: { mode: "internal" }, routes: { s3: { to: "storage", allowFrom: ["10.0.0.0/8"] } } }),
    ],
    fail: [{ c: proxy({ tls: { mode: "http" }, routes: { s3: { to: "storage" } } }), expect: /plain HTTP/ }],
    unknown: proxy({ tls: UNKNOWN, routes: { s3: { to: "storage" } } }),
  },
  "docker-ssh-host-keys": {
    pass: [
      { type: "pulumi:providers:docker", props: { host: "unix:///var/run/docker.sock" } },
      {
        type: "pulumi:providers:docker",
        props: {
          host: "ssh://deploy@h",
          sshOpts: JSON.stringify(["-o", "StrictHostKeyChecking=accept-new"]),
        },
      },
    ],
    fail: [
      {
        c: {
          type: "pulumi:providers:docker",
          props: { host: "ssh://deploy@h", sshOpts: JSON.stringify(["-o", "StrictHostKeyChecking=no"]) },
        },
        expect: /StrictHostKeyChecking=no/,
      },
      {
        c: { type: "pulumi:providers:docker", props: { sshOpts: ["-oUserKnownHostsFile=/dev/null"] } },
        expect: /UserKnownHostsFile=\/dev\/null/,
      },
    ],
    unknown: { type: "pulumi:providers:docker", props: { sshOpts: UNKNOWN } },
  },
  "stateful-protected": {
    pass: [
      {
        type: "docker:index/volume:Volume",
        props: { labels: labels("storage") },
        protect: true,
        retainOnDelete: true,
      },
      {
        type: "docker:index/volume:Volume",
        props: { labels: labels("proxy", { "stackport.stateful": "false" }) },
      },
    ],
    fail: [
      { c: { type: "docker:index/volume:Volume", props: {}, retainOnDelete: true }, expect: /not protected/ },
      { c: { type: "docker:index/volume:Volume", props: {}, protect: true }, expect: /not retainOnDelete/ },
      { c: { type: "aws:s3/bucket:Bucket", props: {}, environment: "production" }, expect: /not protected/ },
      // The environment label no longer switches the rule off: a stack relaxes it in its own policy config.
      {
        c: { type: "docker:index/volume:Volume", props: { labels: labels("storage") }, environment: "local" },
        expect: /not protected/,
      },
    ],
    unknown: {
      type: "docker:index/volume:Volume",
      props: { labels: UNKNOWN },
      protect: true,
      retainOnDelete: true,
    },
  },
  "labels-standard": {
    pass: [
      container(),
      { type: "aws:s3/bucket:Bucket", props: { tags: tags("storage") } },
      {
        type: "aws:ecs/cluster:Cluster",
        props: { tags: { "stackport.tier": "ingestion" } },
        provider: { type: "pulumi:providers:aws", inputs: { defaultTags: { tags: tags("ignored") } } },
      },
    ],
    fail: [
      { c: container({ labels: [] }), expect: /missing labels: stackport\.stack, stackport\.tier/ },
      {
        c: {
          type: "docker:index/network:Network",
          props: { labels: labels("x", { "stackport.managed-by": "terraform" }) },
        },
        expect: /managed-by/,
      },
      { c: { type: "aws:s3/bucket:Bucket", props: { tags: { Name: "b" } } }, expect: /missing tags/ },
    ],
    unknown: { type: "docker:index/volume:Volume", props: { labels: UNKNOWN } },
  },
  "aws-s3-public-access-block": {
    pass: [
      {
        type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        props: {
          bucket: UNKNOWN,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
          props: { blockPublicAcls: true, blockPublicPolicy: false, ignorePublicAcls: true },
        },
        expect: /blockPublicPolicy, restrictPublicBuckets/,
      },
    ],
    unknown: {
      type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      props: { blockPublicAcls: UNKNOWN },
    },
  },
  "aws-s3-encryption": {
    pass: [
      {
        type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        props: {
          bucket: UNKNOWN,
          rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }],
        },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          props: { rules: [] },
        },
        expect: /no rule/,
      },
    ],
    unknown: {
      type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      props: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: UNKNOWN } }] },
    },
  },
  "aws-s3-versioning": {
    pass: [
      {
        type: "aws:s3/bucketVersioning:BucketVersioning",
        props: { versioningConfiguration: { status: "Enabled" } },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:s3/bucketVersioning:BucketVersioning",
          props: { versioningConfiguration: { status: "Suspended" } },
        },
        expect: /Suspended/,
      },
    ],
    unknown: {
      type: "aws:s3/bucketVersioning:BucketVersioning",
      props: { versioningConfiguration: { status: UNKNOWN } },
    },
  },
  "aws-s3-tls-only": {
    pass: [{ type: "aws:s3/bucketPolicy:BucketPolicy", props: { policy: policyDoc([tlsOnly]) } }],
    fail: [
      {
        c: {
          type: "aws:s3/bucketPolicy:BucketPolicy",
          props: { policy: policyDoc([{ ...tlsOnly, Effect: "Allow" }]) },
        },
        expect: /SecureTransport/,
      },
      {
        c: { type: "aws:s3/bucketPolicy:BucketPolicy", props: { policy: "[secret]" } },
        expect: /^cannot check: .*secret/,
      },
    ],
    unknown: { type: "aws:s3/bucketPolicy:BucketPolicy", props: { policy: UNKNOWN } },
  },
  "aws-rds-encrypted": {
    pass: [rds(), rds({ storageEncrypted: undefined, replicateSourceDb: "primary" })],
    fail: [{ c: rds({ storageEncrypted: false }), expect: /storageEncrypted/ }],
    unknown: rds({ storageEncrypted: UNKNOWN }),
  },
  "aws-rds-not-public": {
    pass: [rds()],
    fail: [{ c: rds({ publiclyAccessible: true }), expect: /publiclyAccessible/ }],
    unknown: rds({ publiclyAccessible: UNKNOWN }),
  },
  "aws-rds-backup-retention": {
    pass: [
      rds(),
      { ...rds({ backupRetentionPeriod: 3 }), config: { "aws-rds-backup-retention": { minDays: 3 } } },
    ],
    fail: [
      { c: rds({ backupRetentionPeriod: undefined }), expect: /is 0, below 7/ },
      {
        c: { ...rds({ backupRetentionPeriod: 7 }), config: { "aws-rds-backup-retention": { minDays: 14 } } },
        expect: /below 14/,
      },
    ],
    unknown: rds({ backupRetentionPeriod: UNKNOWN }),
  },
  "aws-rds-multi-az": {
    pass: [rds()],
    fail: [
      { c: rds({ multiAz: false }), expect: /multiAz/ },
      { c: { ...rds({ multiAz: false }), environment: "staging" }, expect: /multiAz/ },
    ],
    unknown: rds({ multiAz: UNKNOWN }),
  },
  "aws-rds-deletion-protection": {
    pass: [rds()],
    fail: [
      { c: rds({ deletionProtection: false }), expect: /deletionProtection/ },
      { c: { ...rds({ deletionProtection: false }), environment: "local" }, expect: /deletionProtection/ },
      { c: rds({ skipFinalSnapshot: true }), expect: /skipFinalSnapshot/ },
      { c: rds({ deleteAutomatedBackups: true }), expect: /deleteAutomatedBackups is true/ },
    ],
    unknown: rds({ deletionProtection: UNKNOWN }),
  },
  "aws-alb-https-redirect": {
    pass: [
      {
        type: "aws:lb/listener:Listener",
        props: {
          protocol: "HTTP",
          port: 80,
          defaultActions: [
            { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
          ],
        },
      },
      {
        type: "aws:alb/listener:Listener",
        props: { protocol: "HTTPS", port: 443, defaultActions: [{ type: "forward" }] },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:lb/listener:Listener",
          props: {
            protocol: "HTTP",
            port: 80,
            defaultActions: [{ type: "forward", targetGroupArn: UNKNOWN }],
          },
        },
        expect: /redirect/,
      },
    ],
    unknown: { type: "aws:lb/listener:Listener", props: { protocol: UNKNOWN } },
  },
  "aws-alb-deletion-protection": {
    pass: [
      { type: "aws:lb/loadBalancer:LoadBalancer", props: { enableDeletionProtection: true } },
      { type: "aws:lb/loadBalancer:LoadBalancer", props: { loadBalancerType: "network" } },
    ],
    fail: [
      { c: { type: "aws:alb/loadBalancer:LoadBalancer", props: {} }, expect: /enableDeletionProtection/ },
    ],
    unknown: { type: "aws:lb/loadBalancer:LoadBalancer", props: { enableDeletionProtection: UNKNOWN } },
  },
  "aws-alb-access-logs": {
    pass: [
      { type: "aws:lb/loadBalancer:LoadBalancer", props: { accessLogs: { enabled: true, bucket: "logs" } } },
    ],
    fail: [
      {
        c: {
          type: "aws:lb/loadBalancer:LoadBalancer",
          props: { accessLogs: { enabled: false, bucket: "logs" } },
        },
        expect: /access logs/,
      },
    ],
    unknown: { type: "aws:lb/loadBalancer:LoadBalancer", props: { accessLogs: { enabled: UNKNOWN } } },
  },
  "aws-sg-no-public-ingress": {
    pass: [
      {
        type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        props: { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0", tags: tags("proxy") },
        config: { "aws-sg-no-public-ingress": { publicIngress: [80, 443] } },
      },
      {
        type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        props: {
          ipProtocol: "udp",
          fromPort: 5683,
          toPort: 5683,
          cidrIpv4: "0.0.0.0/0",
          tags: tags("ingestion", { "stackport.ingress": "nlb" }),
        },
        config: { "aws-sg-no-public-ingress": { publicIngress: [5683] } },
      },
      {
        type: "aws:ec2/securityGroup:SecurityGroup",
        props: {
          ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"] }],
          tags: tags("database"),
        },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
          props: {
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "0.0.0.0/0",
            tags: tags("proxy"),
          },
        },
        expect: /0\.0\.0\.0\/0 to port 443\/tcp.*publicIngress lists none/,
      },
      {
        c: {
          type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
          props: { ipProtocol: "tcp", fromPort: 22, toPort: 22, cidrIpv4: "0.0.0.0/0", tags: tags("proxy") },
          config: { "aws-sg-no-public-ingress": { publicIngress: [80, 443] } },
        },
        expect: /0\.0\.0\.0\/0 to port 22\/tcp/,
      },
      {
        // The published-ports NLB's listener: world-open only with the port in publicIngress.
        c: {
          type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
          props: {
            ipProtocol: "udp",
            fromPort: 5683,
            toPort: 5683,
            cidrIpv4: "0.0.0.0/0",
            tags: tags("ingestion", { "stackport.ingress": "nlb" }),
          },
          config: { "aws-sg-no-public-ingress": { publicIngress: [1883] } },
        },
        expect: /0\.0\.0\.0\/0 to port 5683\/udp.*publicIngress lists 1883/,
      },
      {
        // The exception is a load balancer's: a service's own group gets none, even for a listed port.
        c: {
          type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
          props: {
            ipProtocol: "tcp",
            fromPort: 1883,
            toPort: 1883,
            cidrIpv4: "0.0.0.0/0",
            tags: tags("ingestion"),
          },
          config: { "aws-sg-no-public-ingress": { publicIngress: [1883] } },
        },
        expect: /port 1883\/tcp/,
      },
      {
        c: {
          type: "aws:ec2/securityGroup:SecurityGroup",
          props: {
            ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, ipv6CidrBlocks: ["::/0"] }],
            tags: tags("database"),
          },
        },
        expect: /::\/0 to all ports/,
      },
      {
        c: {
          type: "aws:ec2/securityGroupRule:SecurityGroupRule",
          props: { type: "ingress", protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] },
        },
        expect: /port 443/,
      },
    ],
    unknown: {
      type: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      props: { ipProtocol: "tcp", cidrIpv4: UNKNOWN },
    },
  },
  "aws-efs-encrypted": {
    pass: [{ type: "aws:efs/fileSystem:FileSystem", props: { encrypted: true, tags: tags("ingestion") } }],
    fail: [
      {
        c: { type: "aws:efs/fileSystem:FileSystem", props: { tags: tags("ingestion") } },
        expect: /encrypted is not true/,
      },
      {
        c: { type: "aws:efs/fileSystem:FileSystem", props: { encrypted: false, tags: tags("ingestion") } },
        expect: /unencrypted/,
      },
    ],
    unknown: { type: "aws:efs/fileSystem:FileSystem", props: { encrypted: UNKNOWN } },
  },
  "aws-efs-backup": {
    pass: [
      {
        type: "aws:efs/backupPolicy:BackupPolicy",
        props: { fileSystemId: "fs-1", backupPolicy: { status: "ENABLED" } },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:efs/backupPolicy:BackupPolicy",
          props: { fileSystemId: "fs-1", backupPolicy: { status: "DISABLED" } },
        },
        expect: /DISABLED, not ENABLED/,
      },
    ],
    unknown: { type: "aws:efs/backupPolicy:BackupPolicy", props: { backupPolicy: { status: UNKNOWN } } },
  },
  "aws-ecs-no-public-ip": {
    pass: [
      {
        type: "aws:ecs/service:Service",
        props: { networkConfiguration: { assignPublicIp: false, subnets: UNKNOWN } },
      },
    ],
    fail: [
      {
        c: { type: "aws:ecs/service:Service", props: { networkConfiguration: { assignPublicIp: true } } },
        expect: /assignPublicIp/,
      },
    ],
    unknown: {
      type: "aws:ecs/service:Service",
      props: { networkConfiguration: { assignPublicIp: UNKNOWN } },
    },
  },
  "aws-ecs-awslogs": {
    pass: [task([apiContainer])],
    fail: [
      { c: task([{ ...apiContainer, logConfiguration: undefined }]), expect: /container api does not log/ },
    ],
    unknown: { type: "aws:ecs/taskDefinition:TaskDefinition", props: { containerDefinitions: UNKNOWN } },
  },
  "aws-ecs-not-privileged": {
    pass: [task([apiContainer])],
    fail: [{ c: task([{ ...apiContainer, privileged: true }]), expect: /runs privileged/ }],
    unknown: { type: "aws:ecs/taskDefinition:TaskDefinition", props: { containerDefinitions: UNKNOWN } },
  },
  "aws-ecs-no-plain-secrets": {
    pass: [task([apiContainer])],
    fail: [
      {
        c: task([{ ...apiContainer, environment: [{ name: "DB_PASSWORD", value: "hunter2" }] }]),
        expect: /DB_PASSWORD in plain environment/,
      },
    ],
    unknown: { type: "aws:ecs/taskDefinition:TaskDefinition", props: { containerDefinitions: UNKNOWN } },
  },
  "aws-cloudwatch-log-retention": {
    pass: [{ type: "aws:cloudwatch/logGroup:LogGroup", props: { retentionInDays: 30 } }],
    fail: [
      { c: { type: "aws:cloudwatch/logGroup:LogGroup", props: {} }, expect: /kept forever/ },
      {
        c: {
          type: "aws:cloudwatch/logGroup:LogGroup",
          props: { retentionInDays: 7 },
          config: { "aws-cloudwatch-log-retention": { minDays: 30 } },
        },
        expect: /below 30/,
      },
    ],
    unknown: { type: "aws:cloudwatch/logGroup:LogGroup", props: { retentionInDays: UNKNOWN } },
  },
  "aws-iam-no-wildcard-admin": {
    pass: [
      {
        type: "aws:iam/rolePolicy:RolePolicy",
        props: {
          policy: policyDoc([{ Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: "*" }]),
        },
      },
      {
        type: "aws:iam/policy:Policy",
        props: { policy: { Statement: [{ Effect: "Deny", Action: "*", Resource: "*" }] } },
      },
    ],
    fail: [
      {
        c: {
          type: "aws:iam/policy:Policy",
          props: { policy: policyDoc([{ Effect: "Allow", Action: "*", Resource: "*" }]) },
        },
        expect: /allows "\*"/,
      },
      {
        c: {
          type: "aws:iam/role:Role",
          props: {
            inlinePolicies: [
              { name: "admin", policy: policyDoc([{ Effect: "Allow", Action: ["*:*"], Resource: ["*"] }]) },
            ],
          },
        },
        expect: /inlinePolicies\[0\]/,
      },
    ],
    unknown: { type: "aws:iam/rolePolicy:RolePolicy", props: { policy: UNKNOWN } },
  },
};

const byName = new Map(allRules.map((r) => [r.name, r]));
const resourceRules = allRules.filter((r) => r.kind === "resource");

/** Mandatory by default or in production's config (`all: mandatory`): every rule, so every rule gets an unknown case. */
const needsUnknownCase = (r: StackportRule) => r.kind === "resource";

describe("rule cases cover every rule", () => {
  it.each(resourceRules.map((r) => r.name))("%s has pass and fail cases (and an unknown case)", (name) => {
    const c = cases[name];
    expect(c).toBeDefined();
    expect(c!.pass.length).toBeGreaterThan(0);
    expect(c!.fail.length).toBeGreaterThan(0);
    if (needsUnknownCase(byName.get(name)!)) expect(c!.unknown).toBeDefined();
  });
  it("has no cases for rules that do not exist", () => {
    expect(Object.keys(cases).filter((n) => !byName.has(n))).toEqual([]);
  });
});

describe.each(Object.entries(cases))("%s", (name, c) => {
  const rule = () => byName.get(name)!;

  it.each(c.pass.map((p, i) => [i, p] as const))("passes case %i", async (_i, p) => {
    const out = await runRule(rule(), p);
    expect(out.notApplicable).toBeUndefined();
    expect(out.violations).toEqual([]);
  });

  it.each(c.fail.map((f, i) => [i, f] as const))("reports case %i", async (_i, f) => {
    const out = await runRule(rule(), f.c);
    expect(out.notApplicable).toBeUndefined();
    expect(out.violations.length).toBeGreaterThan(0);
    expect(out.violations.join("\n")).toMatch(f.expect);
  });

  if (c.unknown) {
    it("reports an unknown input as 'cannot check', never a pass", async () => {
      const out = await runRule(rule(), c.unknown!);
      expect(out.violations.length).toBeGreaterThan(0);
      expect(out.violations.some((v) => /^cannot check: .*can't be known during preview/.test(v))).toBe(true);
    });
  }

  it("is not applicable to an unrelated type", async () => {
    const out = await runRule(rule(), {
      type: "random:index/randomPassword:RandomPassword",
      props: { length: 8 },
    });
    expect(out.notApplicable).toMatch(/only applies to/);
    expect(out.violations).toEqual([]);
  });
});
