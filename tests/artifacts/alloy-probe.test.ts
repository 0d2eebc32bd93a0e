/**
 * Alloy's health probe runs in real bash (the image's only way to speak HTTP) against a real HTTP server: ready
 * means healthy; an error status, a silent port or nothing listening means unhealthy. shellcheck checks it as bash.
 */
import { spawn } from "node:child_process";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ALLOY_READY_PATH, alloyReadyScript } from "../../components/observability/alloy";
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
