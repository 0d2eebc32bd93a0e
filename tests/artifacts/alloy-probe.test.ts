/**
 * Alloy's health probe runs in real bash (the image's only way to speak HTTP) against a real HTTP server: ready
 * means healthy; an error status, a silent port or nothing listening means unhealthy. shellcheck checks it as bash.
 *
 * Also the part of the Alloy config that turns scheduled runs into metrics, structurally (no Alloy binary here): its
 * expressions are the ones tests/artifacts/schedule.test.ts runs against the runner's real output.
 */
import { spawn } from "node:child_process";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  ALLOY_READY_PATH,
  SCHEDULE_RUN_EXPRESSIONS,
  SCHEDULE_RUN_METRICS,
  alloyReadyScript,
  renderAlloyConfig,
} from "../../components/observability/alloy";
import { freePort, requireTool, run, tempFile } from "../support/tools";

// The probe is killed after 10 s and every server closes its connections: the suite cannot hang.
jest.setTimeout(30_000);

let bash: string;
beforeAll(() => {
  bash = requireTool("bash", "bash");
});

/** Runs the probe as Docker would, without blocking this process, which also serves the HTTP side. */
function probe(port: number): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bash, ["-c", alloyReadyScript(port)], {
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 10_000,
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stderr }));
  });
}

async function serve(status: number): Promise<{ server: Server; port: number; paths: string[] }> {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url!);
    res.writeHead(status).end(status === 200 ? "Alloy is ready.\n" : "not ready\n");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port, paths };
}

const close = (server: Server) =>
  new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });

test("healthy when Alloy answers 200 on /-/ready", async () => {
  const { server, port, paths } = await serve(200);
  try {
    const r = await probe(port);
    expect([r.status, r.stderr]).toEqual([0, ""]);
    expect(paths).toEqual([ALLOY_READY_PATH]);
  } finally {
    await close(server);
  }
});

test("unhealthy when Alloy is not ready (503)", async () => {
  const { server, port } = await serve(503);
  try {
    expect((await probe(port)).status).toBe(1);
  } finally {
    await close(server);
  }
});

test("unhealthy when nothing listens", async () => {
  expect((await probe(await freePort())).status).toBe(1);
});

test("passes shellcheck as bash", () => {
  requireTool("shellcheck", "shellcheck");
  const r = run("shellcheck", ["-s", "bash", "-S", "style", tempFile("probe.sh", alloyReadyScript(12345))]);
  expect(r.stdout + r.stderr).toBe("");
  expect(r.code).toBe(0);
});

describe("scheduled runs become gauges on Alloy's /metrics", () => {
  const config = renderAlloyConfig({ lokiUrl: "http://loki:3100/loki/api/v1/push", stack: "local" });
  const block = (header: string) => {
    const start = config.indexOf(`${header} {`);
    expect(start).toBeGreaterThanOrEqual(0);
    let depth = 0;
    for (let i = config.indexOf("{", start); i < config.length; i++) {
      depth += config[i] === "{" ? 1 : config[i] === "}" ? -1 : 0;
      if (depth === 0) return config.slice(start, i + 1);
    }
    throw new Error(`unterminated ${header}`);
  };

  test("every log line passes through the schedules stage on its way to Loki, unchanged", () => {
    expect(block('loki.source.docker "containers"')).toContain(
      "forward_to = [loki.process.schedules.receiver]",
    );
    const stage = block('loki.process "schedules"');
    expect(stage).toContain("forward_to = [loki.write.local.receiver]");
    // Only extracting stages: nothing that drops lines or rewrites them or their labels.
    expect(stage.match(/stage\.\w+/g)).toEqual(["stage.regex", "stage.regex", "stage.metrics"]);
  });

  test("each gauge is set from its own expression's capture, named as the alert rules read it", () => {
    const stage = block('loki.process "schedules"');
    const expressions = [...stage.matchAll(/expression = (".*")$/gm)].map((m) => JSON.parse(m[1]!) as string);
    expect(expressions).toEqual([SCHEDULE_RUN_EXPRESSIONS.failed, SCHEDULE_RUN_EXPRESSIONS.ok]);
    const gauges = [...stage.matchAll(/metric\.gauge \{([^}]*)\}/g)].map((m) => {
      const attr = (k: string) => JSON.parse(new RegExp(`${k}\\s+= (".*")`).exec(m[1]!)![1]!) as string;
      return { metric: attr("prefix") + attr("name"), source: attr("source"), action: attr("action") };
    });
    expect(gauges).toEqual([
      { metric: SCHEDULE_RUN_METRICS.lastFailure, source: "stackport_failed_at", action: "set" },
      { metric: SCHEDULE_RUN_METRICS.lastSuccess, source: "stackport_ok_at", action: "set" },
    ]);
    expect(SCHEDULE_RUN_EXPRESSIONS.failed).toContain("(?P<stackport_failed_at>");
    expect(SCHEDULE_RUN_EXPRESSIONS.ok).toContain("(?P<stackport_ok_at>");
  });

  test("the stream (so each gauge) carries the service's name", () => {
    expect(config).toMatch(
      /source_labels = \["__meta_docker_container_label_stackport_service"\]\n\s+target_label\s+= "service"/,
    );
  });
});
