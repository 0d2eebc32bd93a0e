/**
 * The PostgreSQL exporter the observability tier runs on Docker: when it is deployed (the database's monitoring role
 * on the same target), how it logs in (the role's password only in its secret environment), that Prometheus scrapes
 * it and gets its rules, and the config errors when explicit settings cannot take effect.
 */
import * as pulumi from "@pulumi/pulumi";
import { DockerObservability } from "../../components/observability/dockerObservability";
import { resolveConfig } from "../../src/config";
import { SECRET_MASK } from "../../src/synth/recorder";
import { isSecret, one, record, synthesizeConfig, valueOf } from "../harness";
import { testPlacement } from "../support/placement";

describe("the PostgreSQL exporter (stackport:observability.postgresExporter)", () => {
  const stack = (database: Record<string, unknown>, observability: Record<string, unknown> = {}) =>
    synthesizeConfig("staging", {
      environment: "staging",
      targets: { t: { kind: "docker" }, other: { kind: "docker" } },
      database: { on: "t", ...database },
      observability: { on: "t", alerts: { freshness: false }, ...observability },
    });

  it("runs as the monitoring role when it exists on the same target: scraped, alerting, its password a secret", async () => {
    const plan = await stack({ monitoringUser: true });
    const exporter = plan.resources.find((r) => r.name === "observability-postgres-exporter")!;
    expect(exporter.inputs["image"]).toBe("prometheuscommunity/postgres-exporter:v0.20.1");
    expect(exporter.inputs["command"]).toBeUndefined();
    // The password is only in the (secret) environment, never in arguments; it starts after the bootstrap.
    expect(exporter.inputs["envs"]).toBe(SECRET_MASK);
    expect(exporter.dependsOn).toContain("database-bootstrap");
    const prometheus = plan.resources.find((r) => r.name === "observability-prometheus")!;
    const uploads = prometheus.inputs["uploads"] as { file: string; content: string }[];
    const config = uploads.find((u) => u.file.endsWith("prometheus.yml"))!.content;
    expect(config).toContain("job_name: postgres");
    expect(config).toContain("postgres-exporter:9187");
    const rules = uploads.find((u) => u.file.endsWith("stackport.yml"))!.content;
    expect(rules).toContain("name: stackport-postgres");
  });

  it("the exporter's environment: where and as whom it connects, the password from the role's secret", async () => {
    const { recorder, result } = await record(
      () =>
        new DockerObservability("obs", {
          placement: testPlacement(),
          logs: false,
          postgresExporter: {
            connection: {
              host: "database",
              port: 5432,
              database: "platform",
              user: "monitoring",
              password: pulumi.secret("monitor-pw"),
            },
          },
        }),
    );
    const exporter = one(recorder, "obs-postgres-exporter");
    const container = result.nodes.postgresExporter!.container;
    expect(await isSecret(container.envs)).toBe(true);
    const envs = await valueOf(container.envs as pulumi.Output<string[]>);
    expect(envs).toEqual(
      expect.arrayContaining([
        "DATA_SOURCE_URI=database:5432/platform?sslmode=disable",
        "DATA_SOURCE_USER=monitoring",
        "DATA_SOURCE_PASS=monitor-pw",
      ]),
    );
    expect(JSON.stringify(exporter.inputs["command"] ?? [])).not.toContain("monitor-pw");
    expect(exporter.inputs["healthcheck"]).toMatchObject({
      tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9187/"],
    });
  });

  it("is not deployed without the monitoring role, nor when the database is on another target, nor when false", async () => {
    const names = async (database: Record<string, unknown>, observability: Record<string, unknown> = {}) =>
      (await stack(database, observability)).resources.map((r) => r.name);
    expect(await names({})).not.toContain("observability-postgres-exporter");
    expect(await names({ on: "other", monitoringUser: true })).not.toContain(
      "observability-postgres-exporter",
    );
    expect(await names({ monitoringUser: true }, { postgresExporter: false })).not.toContain(
      "observability-postgres-exporter",
    );
  });

  it("explicit settings that cannot take effect are refused, naming the key and why", () => {
    const error = (
      database: Record<string, unknown>,
      targets: Record<string, unknown> = { t: { kind: "docker" } },
    ) => {
      try {
        resolveConfig({
          environment: "staging",
          targets,
          database: { on: "t", ...database },
          observability: { on: "t", alerts: { freshness: false }, postgresExporter: { memoryMb: 128 } },
        });
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(error({})).toContain(
      "stackport:observability.postgresExporter: set, but it logs in as the monitoring role: set stackport:database.monitoringUser: true",
    );
    expect(error({ monitoringUser: true }, { t: { kind: "aws", region: "eu-west-1" } })).toContain(
      "stackport:observability.postgresExporter: set, but it runs with Prometheus on a Docker target",
    );
    expect(error({ monitoringUser: true })).toBe("");
  });
});
