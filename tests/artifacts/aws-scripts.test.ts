import { chmodSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { renderBootstrapSql } from "../../components/database/bootstrapSql";
import { rdsBootstrapOptions, renderRunTaskScript } from "../../components/database/rdsBootstrap";
import { type Cluster, startCluster } from "../support/postgres";
import { run, shellcheck, tempFile } from "../support/tools";

describe("RDS bootstrap run-task script", () => {
  const script = renderRunTaskScript();

  it("passes shellcheck with no findings and is valid sh", () => {
    const result = shellcheck(script);
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
    expect(run("sh", ["-n", tempFile("run.sh", script)]).code).toBe(0);
  });

  /** Runs the script against a stand-in `aws` on PATH that logs its calls and answers like the real CLI. */
  const runWithFakeAws = (env: Record<string, string>) => {
    const fake = tempFile(
      "aws",
      [
        "#!/bin/sh",
        'echo "${AWS_ACCESS_KEY_ID:-ambient} $*" >> "$AWS_LOG"',
        'case "$1 $2" in',
        '  "sts assume-role") printf "AKIAFAKE\\tsecret\\ttoken\\n" ;;',
        '  "ecs run-task") echo "$FAKE_TASK" ;;',
        '  "ecs wait") exit "${FAKE_WAIT:-0}" ;;',
        '  "ecs describe-tasks") case "$*" in *exitCode*) echo "$FAKE_EXIT" ;; *) echo "Essential container exited" ;; esac ;;',
        "esac",
        "",
      ].join("\n"),
    );
    chmodSync(fake, 0o755);
    const log = tempFile("aws.log", "");
    const path = tempFile("run.sh", script);
    const vars = {
      CLUSTER: "c",
      TASK_DEFINITION: "arn:aws:ecs:eu-west-1:1:task-definition/boot:3",
      SUBNETS: "subnet-a,subnet-b",
      SECURITY_GROUP: "sg-1",
      AWS_REGION: "eu-west-1",
      LOG_GROUP: "/stackport/test/database-bootstrap",
      FAKE_TASK: "arn:aws:ecs:eu-west-1:1:task/c/abc",
      FAKE_EXIT: "0",
      AWS_LOG: log,
      ...env,
    };
    const assignments = Object.entries(vars)
      .map(([k, v]) => `${k}='${v}'`)
      .join(" ");
    const result = run("sh", ["-c", `PATH="${dirname(fake)}:$PATH" ${assignments} sh "${path}"`]);
    return { ...result, calls: readFileSync(log, "utf8").trim().split("\n").filter(Boolean) };
  };

  it("starts the task in the private subnets, waits, and succeeds on exit code 0", () => {
    const r = runWithFakeAws({});
    expect(r.code).toBe(0);
    expect(r.calls[0]).toContain(
      "ecs run-task --cluster c --task-definition arn:aws:ecs:eu-west-1:1:task-definition/boot:3",
    );
    expect(r.calls[0]).toContain(
      "awsvpcConfiguration={subnets=[subnet-a,subnet-b],securityGroups=[sg-1],assignPublicIp=DISABLED}",
    );
    expect(r.calls[1]).toContain(
      "ecs wait tasks-stopped --cluster c --tasks arn:aws:ecs:eu-west-1:1:task/c/abc",
    );
    expect(r.calls).toHaveLength(3);
  });

  it("fails the update when the container exits non-zero, saying where the log is", () => {
    const r = runWithFakeAws({ FAKE_EXIT: "3" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("database bootstrap failed (exit code 3, Essential container exited)");
    expect(r.stderr).toContain("aws logs tail /stackport/test/database-bootstrap");
  });

  it("fails when ECS cannot start the task, and when the task never stops", () => {
    expect(runWithFakeAws({ FAKE_TASK: "None" }).stderr).toContain("did not start");
    const stuck = runWithFakeAws({ FAKE_WAIT: "255" });
    expect(stuck.code).toBe(1);
    expect(stuck.calls.filter((c) => c.includes("ecs wait"))).toHaveLength(3);
  });

  it("acts as the target's assumed role when one is configured", () => {
    const r = runWithFakeAws({ ASSUME_ROLE_ARN: "arn:aws:iam::123456789012:role/deploy" });
    expect(r.code).toBe(0);
    expect(r.calls[0]).toContain("ambient sts assume-role --role-arn arn:aws:iam::123456789012:role/deploy");
    expect(r.calls.slice(1).every((c) => c.startsWith("AKIAFAKE "))).toBe(true);
  });
});

describe("bootstrap SQL as the RDS master user (real PostgreSQL)", () => {
  let pg: Cluster;
  beforeAll(async () => {
    pg = await startCluster();
    // An RDS-like master: not a superuser, CREATEDB + CREATEROLE, owner of the database; the extensions RDS lets
    // rds_superuser create are created here by the real superuser (vanilla PostgreSQL does not trust postgis).
    await pg.psql("CREATE ROLE rds_master LOGIN PASSWORD 'master' CREATEDB CREATEROLE");
    await pg.psql("CREATE DATABASE platform OWNER rds_master");
    await pg.psql('CREATE EXTENSION postgis; CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pgcrypto;', {
      db: "platform",
    });
  });
  afterAll(() => pg?.stop());

  const config = { database: "platform", monitoringUser: false };

  // RDS's master is no superuser: the managed-server variant of the bootstrap must run (twice) as such a role.
  const runTwice = async (sql: string) => {
    const path = tempFile("bootstrap.sql", sql);
    const vars = { db_admin_password: "a1", app_writer_password: "b2", app_reader_password: "c3" };
    for (const attempt of [1, 2]) {
      const r = await pg.runFile(path, vars, { user: "rds_master", password: "master", db: "platform" });
      expect({ attempt, code: r.code, stderr: r.stderr }).toEqual({ attempt, code: 0, stderr: "" });
    }
  };

  it("runs twice without errors as a non-superuser master, leaving no superuser roles", async () => {
    await runTwice(renderBootstrapSql(rdsBootstrapOptions(config)));
    const roles = await pg.psql(
      "SELECT string_agg(rolname || ':' || rolsuper || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('db_admin', 'app_writer', 'app_reader')",
      { db: "platform" },
    );
    expect(roles.stdout.trim()).toBe("app_reader:falsetrue,app_writer:falsetrue,db_admin:falsetrue");
  });
});
