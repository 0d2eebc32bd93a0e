import fc from "fast-check";
import { isArgsError } from "../../components/shared/errors";
import {
  AwsTarget,
  availabilityZones,
  carveSubnets,
  natFor,
  vpcCidrProblem,
} from "../../components/targets/aws";
import { type AwsTargetConfig, type Environment, awsTargetArgs } from "../../src/config";
import { RdsDatabase } from "../../components/database/rdsDatabase";
import { S3Storage } from "../../components/storage/s3Storage";
import { one, record, synthesizeStack, valueOf } from "../harness";

const awsConfig = (vpc: Partial<AwsTargetConfig["vpc"]> = {}, extra: Partial<AwsTargetConfig> = {}) =>
  ({
    kind: "aws",
    region: "eu-west-1",
    vpc: { cidr: "10.40.0.0/16", availabilityZones: 2, ...vpc },
    ...extra,
  }) as AwsTargetConfig;

/** The target as the program builds it: the environment picks NAT and flow-log defaults, 90 days in production. */
const target = (environment: Environment, config = awsConfig()) =>
  record(
    () => new AwsTarget("cloud", awsTargetArgs(config, environment, environment === "production" ? 90 : 30)),
  );

const toRange = (cidr: string) => {
  const [ip, prefix] = cidr.split("/");
  const base = ip!.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  return { start: base, end: base + 2 ** (32 - Number(prefix)) - 1 };
};

describe("subnet carving (pure)", () => {
  it("gives each AZ a private and a public /20 out of a /16", () => {
    expect(carveSubnets("10.40.0.0/16", "eu-west-1", 3)).toEqual([
      {
        letter: "a",
        availabilityZone: "eu-west-1a",
        privateCidr: "10.40.0.0/20",
        publicCidr: "10.40.128.0/20",
      },
      {
        letter: "b",
        availabilityZone: "eu-west-1b",
        privateCidr: "10.40.16.0/20",
        publicCidr: "10.40.144.0/20",
      },
      {
        letter: "c",
        availabilityZone: "eu-west-1c",
        privateCidr: "10.40.32.0/20",
        publicCidr: "10.40.160.0/20",
      },
    ]);
  });

  const vpcs = fc
    .record({
      octets: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
      prefix: fc.integer({ min: 16, max: 24 }),
    })
    .map(({ octets, prefix }) => {
      const raw = octets.reduce((a, o) => a * 256 + o, 0);
      const base = raw - (raw % 2 ** (32 - prefix));
      const ip = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
      return `${ip}/${prefix}`;
    });

  it("never overlaps, stays inside the VPC, and never moves a subnet when AZs are added (property)", () => {
    fc.assert(
      fc.property(vpcs, fc.integer({ min: 2, max: 6 }), (vpc, azs) => {
        const plan = carveSubnets(vpc, "eu-west-1", azs);
        const blocks = plan.flatMap((p) => [p.privateCidr, p.publicCidr]).map(toRange);
        const outer = toRange(vpc);
        for (const b of blocks) expect(b.start >= outer.start && b.end <= outer.end).toBe(true);
        blocks.forEach((a, i) =>
          blocks.slice(i + 1).forEach((b) => expect(a.end < b.start || b.end < a.start).toBe(true)),
        );
        expect(carveSubnets(vpc, "eu-west-1", 6).slice(0, azs)).toEqual(plan);
      }),
    );
  });

  it.each([
    ["10.40.0.0/8", /\/16 to \/24/],
    ["10.40.0.0/26", /\/16 to \/24/],
    ["10.40.1.0/16", /host bits set; use the network address 10.40.0.0\/16/],
    ["10.40.0.1", /\/16 to \/24/],
  ])("refuses %s", (cidr, message) => {
    expect(vpcCidrProblem(cidr)).toMatch(message);
  });

  it("derives AZ names from the region instead of looking them up", () => {
    expect(availabilityZones("us-east-2", 3).map((a) => a.name)).toEqual([
      "us-east-2a",
      "us-east-2b",
      "us-east-2c",
    ]);
  });

  it("NAT layout: perAz in production, one shared elsewhere, none when asked", () => {
    const nat = (env: Environment, natGateways?: AwsTargetConfig["vpc"]["natGateways"]) =>
      awsTargetArgs(awsConfig(natGateways && { natGateways }), env, 30).vpc?.natGateways;
    expect(nat("production")).toBe("perAz");
    expect(nat("staging")).toBe("single");
    expect(nat("production", "single")).toBe("single");
    expect(natFor("single", ["a", "b", "c"])).toEqual({ a: "a", b: "a", c: "a" });
    expect(natFor("perAz", ["a", "b"])).toEqual({ a: "a", b: "b" });
    expect(natFor("none", ["a", "b"])).toEqual({ a: undefined, b: undefined });
  });
});

describe("AwsTarget", () => {
  it("refuses bad args naming each arg path, before registering anything", () => {
    let error: unknown;
    try {
      new AwsTarget("cloud", { region: "Europe", vpc: { cidr: "10.0.0.0/8", availabilityZones: 7 } });
    } catch (e) {
      error = e;
    }
    expect(isArgsError(error)).toBe(true);
    expect(String(error)).toContain("Invalid args for stackport:aws:Target 'cloud' (3 problems)");
    expect(String(error)).toContain("region: must be an AWS region like eu-west-1");
    expect(String(error)).toContain("vpc.cidr: '10.0.0.0/8' must be a /16 to /24 block");
    expect(String(error)).toContain("vpc.availabilityZones: must be a whole number from 2 to 6");
  });

  it("defaults to a small network: 10.40.0.0/16 over two AZs, one NAT gateway, no flow logs", async () => {
    const { recorder } = await record(() => new AwsTarget("cloud", { region: "eu-west-1" }));
    expect(one(recorder, "cloud-vpc").inputs["cidrBlock"]).toBe("10.40.0.0/16");
    expect(recorder.byType("aws:ec2/subnet:Subnet")).toHaveLength(4);
    expect(recorder.byType("aws:ec2/natGateway:NatGateway")).toHaveLength(1);
    expect(recorder.byType("aws:ec2/flowLog:FlowLog")).toHaveLength(0);
  });

  it("creates the provider with region, default tags and the assumed role", async () => {
    const role = "arn:aws:iam::123456789012:role/deploy";
    const { recorder } = await target("staging", awsConfig({}, { assumeRoleArn: role }));
    const provider = one(recorder, "cloud-aws");
    expect(provider.type).toBe("pulumi:providers:aws");
    expect(provider.inputs["region"]).toBe("eu-west-1");
    // Provider inputs are JSON-encoded on the wire.
    const decode = (v: unknown) => (typeof v === "string" ? JSON.parse(v) : v);
    expect(decode(provider.inputs["defaultTags"])).toEqual({
      tags: {
        "stackport.stack": "test",
        "stackport.tier": "platform",
        "stackport.managed-by": "stackport",
        "stackport.target": "cloud",
      },
    });
    expect(decode(provider.inputs["assumeRoles"])).toEqual([expect.objectContaining({ roleArn: role })]);
    // Every AWS child uses the explicit provider, never the ambient default.
    const awsChildren = recorder.resources.filter((r) => r.custom && r.type.startsWith("aws:"));
    expect(awsChildren.length).toBeGreaterThan(10);
    for (const r of awsChildren) expect(r.provider).toBe("cloud-aws");
  });

  it.each([
    ["staging", 2, undefined, 1],
    ["production", 3, undefined, 3],
    ["production", 2, "single", 1],
    ["staging", 2, "none", 0],
  ] as const)("%s with %i AZs (nat %s) has %i NAT gateways", async (env, azs, nat, expected) => {
    const { recorder } = await target(
      env,
      awsConfig({ availabilityZones: azs, ...(nat && { natGateways: nat }) }),
    );
    const subnets = recorder.byType("aws:ec2/subnet:Subnet");
    expect(subnets.map((s) => s.name).sort()).toEqual(
      [..."abcdef".slice(0, azs)].flatMap((l) => [`cloud-private-${l}`, `cloud-public-${l}`]).sort(),
    );
    expect(recorder.byType("aws:ec2/natGateway:NatGateway")).toHaveLength(expected);
    expect(recorder.byType("aws:ec2/eip:Eip")).toHaveLength(expected);
    const egress = recorder.byType("aws:ec2/route:Route").filter((r) => r.inputs["natGatewayId"]);
    expect(egress).toHaveLength(expected === 0 ? 0 : azs);
    if (nat === "single") {
      expect(new Set(egress.map((r) => r.inputs["natGatewayId"]))).toEqual(new Set(["cloud-nat-a-id"]));
    }
  });

  it("keeps NAT gateways in public subnets, gives no subnet public IPs, and hands out subnet ids that wait for routes", async () => {
    const { recorder, result } = await target("production");
    expect(one(recorder, "cloud-nat-b").inputs["subnetId"]).toBe("cloud-public-b-id");
    for (const s of recorder.byType("aws:ec2/subnet:Subnet"))
      expect(s.inputs["mapPublicIpOnLaunch"]).toBe(false);
    // Placement subnet ids resolve only after the routes exist: consumers wait for egress implicitly.
    expect(await Promise.all(result.placement.privateSubnetIds.map(valueOf))).toEqual([
      "cloud-private-a-id",
      "cloud-private-b-id",
    ]);
    expect(await Promise.all(result.placement.publicSubnetIds.map(valueOf))).toEqual([
      "cloud-public-a-id",
      "cloud-public-b-id",
    ]);
  });

  it("turns on VPC flow logs in production only (unless configured)", async () => {
    const prod = (await target("production")).recorder;
    const flow = prod.byType("aws:ec2/flowLog:FlowLog");
    expect(flow).toHaveLength(1);
    expect(flow[0]!.inputs).toMatchObject({
      vpcId: "cloud-vpc-id",
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
    });
    expect(one(prod, "cloud-flow-logs").inputs["retentionInDays"]).toBe(90);
    expect((await target("staging")).recorder.byType("aws:ec2/flowLog:FlowLog")).toHaveLength(0);
    expect(
      (await target("staging", awsConfig({ flowLogs: true }))).recorder.byType("aws:ec2/flowLog:FlowLog"),
    ).toHaveLength(1);
  });

  it("creates four described security groups with no inline rules and least-privilege egress", async () => {
    const { recorder } = await target("staging");
    const groups = recorder.byType("aws:ec2/securityGroup:SecurityGroup");
    expect(groups.map((g) => g.name).sort()).toEqual([
      "cloud-alb-sg",
      "cloud-broker-sg",
      "cloud-database-sg",
      "cloud-services-sg",
    ]);
    for (const g of groups) {
      expect(g.inputs["ingress"] ?? []).toEqual([]);
      expect(g.inputs["egress"] ?? []).toEqual([]);
      expect(String(g.inputs["description"]).length).toBeGreaterThan(20);
    }
    expect(recorder.byType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")).toEqual([]);
    const egress = Object.fromEntries(
      recorder
        .byType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        .map((r) => [r.name, r.inputs]),
    );
    expect(Object.keys(egress).sort()).toEqual([
      "cloud-alb-to-vpc",
      "cloud-services-to-broker",
      "cloud-services-to-database",
      "cloud-services-to-https",
    ]);
    expect(egress["cloud-alb-to-vpc"]).toMatchObject({
      securityGroupId: "cloud-alb-sg-id",
      cidrIpv4: "10.40.0.0/16",
    });
    // The only rule open to the internet is HTTPS out of the services.
    const open = Object.values(egress).filter((r) => r["cidrIpv4"] === "0.0.0.0/0");
    expect(open).toEqual([
      expect.objectContaining({ securityGroupId: "cloud-services-sg-id", fromPort: 443, toPort: 443 }),
    ]);
    expect(egress["cloud-services-to-database"]).toMatchObject({
      fromPort: 5432,
      referencedSecurityGroupId: "cloud-database-sg-id",
    });
  });

  it("creates the ECS cluster with Container Insights", async () => {
    const { recorder, result } = await target("staging");
    const cluster = one(recorder, "cloud-cluster");
    expect(cluster.inputs["settings"]).toEqual([{ name: "containerInsights", value: "enabled" }]);
    expect(await valueOf(result.placement.cluster.name)).toBe("stackport-test-cloud");
  });
});

/** What a target's network is made of: none of it may exist on a target that holds only buckets. */
const NETWORK_TYPES = /^aws:(ec2|ecs|vpc|servicediscovery)\//;

describe("an AWS target that needs no network", () => {
  it("network: false creates only the provider; S3 still builds on it", async () => {
    const { recorder } = await record(() => {
      const cloud = new AwsTarget("cloud", { region: "eu-west-1", network: false });
      new S3Storage("storage", { placement: cloud.placement });
      return cloud;
    });
    expect(recorder.resources.filter((r) => NETWORK_TYPES.test(r.type))).toEqual([]);
    expect(recorder.byType("aws:cloudwatch/logGroup:LogGroup")).toEqual([]);
    expect(recorder.byType("aws:s3/bucket:Bucket").length).toBeGreaterThan(0);
    expect(one(recorder, "cloud").inputs).toMatchObject({ network: false });
  });

  it("a tier that needs the network fails on it naming the target and the arg, before registering", async () => {
    let error: unknown;
    const { recorder } = await record(() => {
      const cloud = new AwsTarget("cloud", { region: "eu-west-1", network: false });
      try {
        new RdsDatabase("database", { placement: cloud.placement });
      } catch (e) {
        error = e;
      }
    });
    expect(isArgsError(error)).toBe(true);
    expect(String(error)).toMatch(
      /stackport:aws:Target 'cloud'[\s\S]*network: is false, but a tier placed on this target needs its network/,
    );
    expect(recorder.resources.filter((r) => r.type.startsWith("aws:rds"))).toEqual([]);
  });

  it("the program gives a target holding only buckets no network (examples/aws-s3-only)", async () => {
    const plan = await synthesizeStack("examples/aws-s3-only/Pulumi.aws-s3-only.yaml");
    expect(plan.resources.filter((r) => NETWORK_TYPES.test(r.type)).map((r) => r.name)).toEqual([]);
    expect(
      plan
        .byType("aws:s3/bucket:Bucket")
        .map((b) => b.name)
        .sort(),
    ).toEqual(["storage-derived", "storage-raw"]);
    expect(one(plan, "cloud").inputs).toMatchObject({ network: false });
  });

  it("a target holding a tier that runs in the VPC keeps its network, inputs unchanged (examples/aws-staging)", async () => {
    const plan = await synthesizeStack("examples/aws-staging/Pulumi.aws-staging.yaml");
    expect(one(plan, "cloud").inputs).not.toHaveProperty("network");
    for (const name of ["cloud-vpc", "cloud-nat-a", "cloud-cluster", "cloud-services"])
      expect(one(plan, name)).toBeDefined();
  });
});

describe("the target's Service Connect namespace", () => {
  it("an HTTP namespace (no Route 53 zone) is the cluster's Service Connect default and in the placement", async () => {
    const { recorder, result } = await target("staging");
    expect(one(recorder, "cloud-services").type).toBe("aws:servicediscovery/httpNamespace:HttpNamespace");
    expect(one(recorder, "cloud-services").inputs["name"]).toBe("stackport-test-cloud");
    expect(one(recorder, "cloud-cluster").inputs["serviceConnectDefaults"]).toEqual({
      namespace: "arn:aws:servicediscovery:eu-west-1:123456789012:cloud-services",
    });
    expect(await valueOf(result.placement.serviceConnect!.namespaceArn)).toBe(
      "arn:aws:servicediscovery:eu-west-1:123456789012:cloud-services",
    );
    expect(recorder.byType("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")).toEqual([]);
  });
});
