/**
 * Schedules (components/ingestion/schedule.ts): which expressions each backend accepts and what it says about the
 * rest, what a cron allows (fast-check against a brute-force reading of the fields), and what a scheduled service
 * becomes on Docker — a job whose container runs the schedule runner — under the mock runtime. The runner itself
 * runs for real in tests/artifacts/schedule.test.ts.
 */
import fc from "fast-check";
import { DockerIngestion } from "../../components/ingestion/dockerIngestion";
import {
  SCHEDULE_RUNNER_NAME,
  type Schedule,
  nextRun,
  parseSchedule,
  renderScheduleRunner,
  scheduleIssue,
} from "../../components/ingestion/schedule";
import {
  type DockerServiceArgs,
  type EcsServiceArgs,
  validateEcsIngestionArgs,
} from "../../components/ingestion/settings";
import { isArgsError } from "../../components/shared/errors";
import { rawNamespace, resolveConfig } from "../../src/config";
import { readStackFile } from "../../src/synth/stackFile";
import { ROOT, one, record } from "../harness";
import { testPlacement } from "../support/placement";

const IMAGE = "ghcr.io/example/goes:1.0.0";

describe("scheduleIssue", () => {
  test.each([
    "rate(1 minute)",
    "rate(15 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "cron(0 3 * * ? *)",
    "cron(*/5 * * * ? *)",
    "cron(0/15 8-18 ? * MON-FRI *)",
    "cron(0 12 1,15 JAN,JUL ? 2027-2030)",
    "cron(10-40/10 * ? * SUN,SAT *)",
  ])("%s is valid on both backends", (e) => {
    expect([scheduleIssue(e, "docker"), scheduleIssue(e, "aws")]).toEqual([undefined, undefined]);
  });

  test.each([
    ["cron(0 0 L * ? *)"],
    ["cron(0 0 LW * ? *)"],
    ["cron(0 0 15W * ? *)"],
    ["cron(0 0 ? * 6L *)"],
    ["cron(0 0 ? * 3#2 *)"],
    ["cron(0 0 ? * FRI#1 *)"],
  ])("%s (L, W, #) is EventBridge's: valid on AWS, refused on Docker saying what to write", (e) => {
    expect(scheduleIssue(e, "aws")).toBeUndefined();
    expect(scheduleIssue(e, "docker")).toMatch(
      /uses L, W or #, which only EventBridge understands; on Docker list the days instead/,
    );
  });

  test.each([
    ["every hour", "is neither rate(<n> <unit>) nor cron(<6 fields>)"],
    ["rate(1 minutes)", "EventBridge wants '1 minute' (singular only for 1)"],
    ["rate(5 minute)", "EventBridge wants '5 minutes'"],
    ["rate(0 hours)", "the rate must be a whole number ≥ 1"],
    ["rate(30 seconds)", "is neither rate"],
    ["cron(0 3 * * ?)", "a cron expression has 6 fields"],
    ["cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"],
    ["cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"],
    ["cron(0 24 * * ? *)", "hours 24 is outside 0-23"],
    ["cron(60 * * * ? *)", "minutes 60 is outside 0-59"],
    ["cron(0 0 ? * 0 *)", "day-of-week 0 is outside 1-7"],
    ["cron(0 0 * jan ? *)", "month 'jan' is not a number or JAN-DEC (upper case)"],
    ["cron(0 0 ? * FRI-MON *)", "day-of-week range 'FRI-MON' runs backwards"],
    ["cron(0 0 ? * */2 *)", "day-of-week does not allow '/'"],
    ["cron(0/0 * * * ? *)", "the step after '/' must be a whole number ≥ 1"],
    ["cron(0 0 * * ? 2200)", "year 2200 is outside 1970-2199"],
    ["cron(0 0 30 2 ? *)", "never fires"],
    ["cron(0 0 1,,2 * ? *)", "has an empty item"],
    ["cron(0 ? * * ? *)", "'?' is only allowed in day-of-month or day-of-week"],
  ])("%s is refused on both: %s", (e, message) => {
    for (const backend of ["docker", "aws"] as const) {
      const issue = scheduleIssue(e, backend);
      expect(issue).toContain(`'${e}': `);
      expect(issue).toContain(message);
    }
  });

  test("'#' takes a single expression on AWS", () => {
    expect(scheduleIssue("cron(0 0 ? * 3#1,6#3 *)", "aws")).toContain("takes a single expression");
  });
});

describe("what a cron allows", () => {
  test("steps, ranges and names", () => {
    const s = parseSchedule("cron(0/15 10-22/10 ? JAN,MAR-APR MON-FRI *)") as Extract<
      Schedule,
      { kind: "cron" }
    >;
    expect(s.minutes).toEqual([0, 15, 30, 45]);
    expect(s.hours).toEqual([10, 20]);
    expect(s.months).toEqual([1, 3, 4]);
    expect(s.daysOfWeek).toEqual([2, 3, 4, 5, 6]);
    expect(s.daysOfMonth).toBeUndefined();
    expect(s.years).toHaveLength(230);
    expect(parseSchedule("rate(2 hours)")).toEqual({ kind: "rate", seconds: 7200 });
  });

  const at = (iso: string) => Date.parse(iso) / 1000;
  test.each([
    ["cron(*/5 * * * ? *)", "2026-12-03T10:01:30Z", "2026-12-03T10:05:00Z"],
    ["cron(*/5 * * * ? *)", "2026-12-03T10:05:00Z", "2026-12-03T10:10:00Z"],
    ["cron(0 3 * * ? *)", "2026-12-03T03:00:01Z", "2026-12-04T03:00:00Z"],
    ["cron(0 9 ? * MON-FRI *)", "2026-12-04T09:30:00Z", "2026-12-07T09:00:00Z"], // Friday → Monday
    ["cron(0 0 29 FEB ? *)", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"],
    ["cron(0 0 31 * ? *)", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"],
  ])("%s after %s is %s", (e, after, expected) => {
    expect(new Date(nextRun(parseSchedule(e), at(after))! * 1000).toISOString().replace(".000", "")).toBe(
      expected,
    );
  });
  test("none is left after the last year", () => {
    expect(nextRun(parseSchedule("cron(0 0 1 1 ? 2027)"), at("2027-01-01T00:00:00Z"))).toBeUndefined();
  });

  /** A brute-force reading of the fields, minute by minute. */
  const matches = (s: Extract<Schedule, { kind: "cron" }>, t: number) => {
    const d = new Date(t * 1000);
    return (
      s.minutes.includes(d.getUTCMinutes()) &&
      s.hours.includes(d.getUTCHours()) &&
      s.months.includes(d.getUTCMonth() + 1) &&
      s.years.includes(d.getUTCFullYear()) &&
      (s.daysOfMonth ? s.daysOfMonth.includes(d.getUTCDate()) : s.daysOfWeek!.includes(d.getUTCDay() + 1))
    );
  };
  test("nextRun is the first matching minute after the time (fast-check, frequent schedules)", () => {
    const field = (min: number, max: number) =>
      fc.oneof(
        fc.constant("*"),
        fc.integer({ min, max }).map(String),
        fc.integer({ min: 1, max: max - min + 1 }).map((s) => `*/${s}`),
        fc
          .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
          .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      );
    const days = fc.oneof(
      field(1, 31).map((d) => `${d} *`),
      fc.constantFrom("MON-FRI", "SAT,SUN", "WED", "*").map((w) => `? * ${w}`),
    );
    fc.assert(
      fc.property(
        field(0, 59),
        field(0, 23),
        days,
        fc.integer({ min: at("2020-01-01T00:00:00Z"), max: at("2030-01-01T00:00:00Z") }),
        (mi, h, d, after) => {
          const [dom, rest] = d.startsWith("?") ? ["?", d.slice(2)] : [d.split(" ")[0]!, `* ?`];
          const expression = `cron(${mi} ${h} ${dom} ${rest} *)`;
          const s = parseSchedule(expression) as Extract<Schedule, { kind: "cron" }>;
          const next = nextRun(s, after)!;
          expect(next % 60).toBe(0);
          expect(next).toBeGreaterThan(after);
          expect(matches(s, next)).toBe(true);
          // Nothing matches in between (searched up to 8 days on).
          const bound = Math.min(next, after + 8 * 86400);
          let t = Math.floor(after / 60) * 60 + 60;
          while (t < bound && !matches(s, t)) t += 60;
          expect({ expression, after, firstMatch: t < bound ? t : "none before nextRun" }).toEqual({
            expression,
            after,
            firstMatch: "none before nextRun",
          });
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe("a scheduled service on Docker is a job", () => {
  const build = (services: Record<string, DockerServiceArgs>) =>
    new DockerIngestion("ingestion", { placement: testPlacement(), broker: false, services });

  test("its container runs the runner with the command as the job's argv; always-on services are unchanged", async () => {
    const { recorder } = await record(() =>
      build({
        goes: {
          image: IMAGE,
          command: ["python", "-m", "goes.poll", "--since", "it's 1h"],
          schedule: "rate(15 minutes)",
        },
        api: { image: IMAGE, command: ["uvicorn", "app:api"], port: 8000, health: { path: "/healthz" } },
      }),
    );
    const job = one(recorder, "ingestion-goes-1").inputs;
    expect(job["entrypoints"]).toEqual([
      "/bin/sh",
      "-c",
      renderScheduleRunner("rate(15 minutes)"),
      SCHEDULE_RUNNER_NAME,
    ]);
    // The command stays argv: nothing of it is spliced into the script, so no quoting can break it.
    expect(job["command"]).toEqual(["python", "-m", "goes.poll", "--since", "it's 1h"]);
    expect(job["restart"]).toBe("unless-stopped");
    expect(job["healthcheck"]).toBeUndefined();
    const api = one(recorder, "ingestion-api-1").inputs;
    expect(api["entrypoints"]).toBeUndefined();
    expect(api["command"]).toEqual(["uvicorn", "app:api"]);
  });

  test("its restart policy is the service's: the loop, not the job, is what Docker restarts", async () => {
    const { recorder } = await record(() =>
      build({ goes: { image: IMAGE, command: ["poll"], schedule: "cron(0 3 * * ? *)", restart: "always" } }),
    );
    expect(one(recorder, "ingestion-goes-1").inputs["restart"]).toBe("always");
  });

  const refused = (services: Record<string, DockerServiceArgs>): string => {
    try {
      build(services);
    } catch (e) {
      expect(isArgsError(e)).toBe(true);
      return (e as Error).message;
    }
    throw new Error("accepted");
  };
  test.each<[string, Partial<DockerServiceArgs>, string]>([
    [
      "a wrong schedule",
      { schedule: "cron(0 3 * * *)" },
      "services.goes.schedule: 'cron(0 3 * * *)': a cron expression has 6 fields",
    ],
    [
      "L on Docker",
      { schedule: "cron(0 3 L * ? *)" },
      "services.goes.schedule: 'cron(0 3 L * ? *)': day-of-month 'L' uses L, W or #",
    ],
    ["no command", { command: undefined }, "services.goes.command: is required with 'schedule' on Docker"],
    ["two replicas", { replicas: 2 }, "services.goes.replicas: must be 1 with 'schedule'"],
    [
      "a health check",
      { health: { command: ["CMD", "true"] } },
      "services.goes.health: has no effect with 'schedule'",
    ],
    ["a route", { routed: true, port: 8000 }, "services.goes.routed: cannot be set with 'schedule'"],
    ["metrics", { metrics: { port: 9100 } }, "services.goes.metrics: cannot be set with 'schedule'"],
  ])("%s is refused naming the key", (_name, over, message) => {
    const service = {
      image: IMAGE,
      command: ["poll"],
      schedule: "rate(1 hour)",
      ...over,
    } as DockerServiceArgs;
    if ("command" in over && over.command === undefined) delete service.command;
    expect(refused({ goes: service })).toContain(message);
  });
});

describe("on AWS the schedule is EventBridge's", () => {
  const issues = (service: EcsServiceArgs) =>
    validateEcsIngestionArgs(
      { services: { goes: service } },
      { database: false, buckets: undefined, broker: false },
    ).filter((i) => i.path.startsWith("services.goes"));

  test("L, W and # are accepted, and a command is not required (the task definition's image runs)", () => {
    expect(issues({ image: IMAGE, schedule: "cron(0 3 L * ? *)" })).toEqual([]);
  });
  test("a wrong expression is refused at services.<svc>.schedule", () => {
    expect(issues({ image: IMAGE, schedule: "rate(1 minutes)" })).toContainEqual({
      path: "services.goes.schedule",
      message: "'rate(1 minutes)': EventBridge wants '1 minute' (singular only for 1)",
    });
  });
});

describe("through the stack config (Pulumi.local.yaml plus one scheduled service): refused at its config key", () => {
  const stackWith = (goes: Record<string, unknown>) => {
    const file = readStackFile(ROOT, "local");
    const ingestion = JSON.parse(file.config["stackport:ingestion"]!) as {
      services: Record<string, unknown>;
    };
    ingestion.services["goes"] = { image: IMAGE, ...goes };
    return { ...file, config: { ...file.config, "stackport:ingestion": JSON.stringify(ingestion) } };
  };

  test.each<[Record<string, unknown>, string]>([
    [
      { command: ["poll"], schedule: "cron(0 3 L * ? *)" },
      "stackport:ingestion.services.goes.schedule: 'cron(0 3 L * ? *)'",
    ],
    [
      { schedule: "rate(1 hour)" },
      "stackport:ingestion.services.goes.command: is required with 'schedule' on Docker",
    ],
  ])("%j is refused naming its config key", (goes, message) => {
    expect(() => resolveConfig(rawNamespace(stackWith(goes).config))).toThrow(message);
  });
});
