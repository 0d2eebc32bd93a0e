/**
 * The Docker schedule runner (components/ingestion/schedule.ts) for real, in dash (Debian images' /bin/sh) and
 * BusyBox ash (Alpine's), started as the container starts it: `/bin/sh -c <runner> stackport-schedule <command…>`.
 *
 * Its clock is driven by the test: a fake `date` (only `+%s`, the one form the runner may use) and a fake `sleep`
 * that advance a clock file instead of waiting, first on PATH; the fake `sleep` sends TERM to the runner once the
 * clock passes STOP_AT, as `docker stop` would. A job "takes time" by calling `advance <seconds>`. So an hour of
 * schedule runs in about a second, and every time the runner acts on is exact.
 *
 * Also: the calendar's shell arithmetic agrees with `nextRun` (written with `Date`) on random cron schedules and
 * times (fast-check), the Alloy expressions pick the end time out of the lines the runner really prints, and
 * shellcheck passes.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import {
  SCHEDULE_RUNNER_NAME,
  SHELL_CIVIL,
  nextRun,
  parseSchedule,
  renderScheduleRunner,
  scheduleCalendar,
  scheduleIssue,
} from "../../components/ingestion/schedule";
import { SCHEDULE_RUN_EXPRESSIONS } from "../../components/observability/alloy";
import { requireTool, shellcheck } from "../support/tools";

// Every run is bounded by spawnSync's timeout (the runner is killed), so nothing can hang.
jest.setTimeout(120_000);

const SHELLS: [string, () => string[]][] = [
  ["dash", () => [requireTool("dash", "dash")]],
  ["busybox ash", () => [requireTool("busybox", "busybox"), "sh"]],
];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "stackport-schedule-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const tool = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  tool(
    "date",
    '[ "$*" = "+%s" ] || { echo "fake date: only +%s is portable ($*)" >&2; exit 1; }\nread -r t <"$FAKE_CLOCK"; echo "$t"',
  );
  tool(
    "sleep",
    'read -r t <"$FAKE_CLOCK"; t=$((t + $1)); echo "$t" >"$FAKE_CLOCK"\nif [ "$t" -ge "$STOP_AT" ]; then kill -TERM "$PPID"; fi',
  );
  tool("advance", 'read -r t <"$FAKE_CLOCK"; echo $((t + $1)) >"$FAKE_CLOCK"');
});
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

let runs = 0;
/** Runs the runner from `start` until the clock passes `stopAt`; returns its exit code and output lines. */
function runRunner(
  shell: string[],
  expression: string,
  command: string[],
  opts: { start: number; stopAt: number; lastStart?: number },
) {
  const here = join(dir, `run-${runs++}`);
  mkdirSync(here);
  writeFileSync(join(here, "clock"), `${opts.start}\n`);
  const state = join(here, "last-start");
  if (opts.lastStart !== undefined) writeFileSync(state, `${opts.lastStart}\n`);
  const r = spawnSync(
    shell[0]!,
    [...shell.slice(1), "-c", renderScheduleRunner(expression), SCHEDULE_RUNNER_NAME, ...command],
    {
      encoding: "utf8",
      cwd: here,
      timeout: 60_000,
      killSignal: "SIGKILL",
      env: {
        PATH: `${join(dir, "bin")}:${process.env["PATH"] ?? ""}`,
        FAKE_CLOCK: join(here, "clock"),
        STOP_AT: String(opts.stopAt),
        STACKPORT_SCHEDULE_STATE: state,
      },
    },
  );
  return { code: r.status, lines: (r.stdout + r.stderr).split("\n").filter((l) => l !== "") };
}

const T = Date.UTC(2026, 11, 3, 10, 1, 17) / 1000; // Thursday 2026-12-03 10:01:17 UTC
const iso = (t: number) => new Date(t * 1000).toISOString().replace(".000Z", "Z");
/** A job that prints the (fake) time it started at. */
const report = (extra = "") => ["sh", "-c", `echo "job at $(date +%s)"${extra}`];
const jobTimes = (lines: string[]) =>
  lines.filter((l) => l.startsWith("job at ")).map((l) => Number(l.slice(7)));

describe.each(SHELLS)("the runner in %s", (_name, shellOf) => {
  let shell: string[];
  beforeAll(() => {
    shell = shellOf();
  });

  test("rate(1 minute): a first run at start, then one every 60 s; TERM stops it with exit 0", () => {
    const r = runRunner(shell, "rate(1 minute)", report(), { start: T, stopAt: T + 150 });
    expect(jobTimes(r.lines)).toEqual([T, T + 60, T + 120]);
    expect(r.lines[0]).toBe("stackport-schedule: running the command on rate(1 minute) (UTC)");
    expect(r.lines.at(-1)).toBe("stackport-schedule: stopping");
    expect(r.code).toBe(0);
  });

  test("rate keeps its cadence across a container restart (the last due time is kept)", () => {
    const r = runRunner(shell, "rate(15 minutes)", report(), {
      start: T,
      stopAt: T + 100,
      lastStart: T - 840,
    });
    expect(jobTimes(r.lines)).toEqual([T + 60]);
  });

  test("cron(*/5 * * * ? *) fires at :05:00 and :10:00 exactly, not at start (10:01:17)", () => {
    const r = runRunner(shell, "cron(*/5 * * * ? *)", report(), { start: T, stopAt: T + 600 });
    const five = Date.UTC(2026, 11, 3, 10, 5) / 1000;
    expect(jobTimes(r.lines)).toEqual([five, five + 300]);
    expect(r.lines).toContain(`stackport-schedule: next run at ${iso(five)}`);
    expect(r.lines).toContain(`stackport-schedule: run start slot=${iso(five)}`);
  });

  test("a failed run is logged with its exit code and duration, and the loop goes on", () => {
    // Fails with 3 on its first run (after 42 s), succeeds after.
    const job = ["sh", "-c", "if [ -e ran ]; then echo fine; else : >ran; advance 42; exit 3; fi"];
    const r = runRunner(shell, "rate(1 minute)", job, { start: T, stopAt: T + 90 });
    const ends = r.lines.filter((l) => l.includes(" run end "));
    expect(ends).toEqual([
      `stackport-schedule: run end status=failed exit=3 duration=42s at=${T + 42} slot=${iso(T)}`,
      `stackport-schedule: run end status=ok exit=0 duration=0s at=${T + 60} slot=${iso(T + 60)}`,
    ]);
  });

  test("runs never overlap: slots that pass during a long run are skipped and logged, the next one runs on time", () => {
    const r = runRunner(shell, "rate(1 minute)", report("; advance 150"), { start: T, stopAt: T + 200 });
    expect(jobTimes(r.lines)).toEqual([T, T + 180]);
    const events = r.lines.filter((l) => / run (start|end) /.test(l)).map((l) => l.split(" ")[2]);
    expect(events).toEqual(["start", "end", "start", "end"]);
    expect(r.lines).toContain(
      "stackport-schedule: skipped 2 run(s) due while the previous run was still running",
    );
  });

  test("a cron overrun skips to the next matching minute too", () => {
    const r = runRunner(shell, "cron(0/2 10 * * ? *)", report("; advance 200"), {
      start: T,
      stopAt: T + 500,
    });
    const ten02 = Date.UTC(2026, 11, 3, 10, 2) / 1000;
    // 10:02 runs until 10:05:20; 10:04 is skipped; 10:06 runs.
    expect(jobTimes(r.lines)).toEqual([ten02, ten02 + 240]);
    expect(r.lines).toContain(
      "stackport-schedule: skipped 1 run(s) due while the previous run was still running",
    );
  });

  test("without a command it says so and exits 2 (the component refuses this first)", () => {
    const r = runRunner(shell, "rate(1 hour)", [], { start: T, stopAt: T + 10 });
    expect(r.lines).toEqual(["stackport-schedule: no command to run: give the service a command"]);
    expect(r.code).toBe(2);
  });

  test("a schedule with no run left idles instead of exiting (a restart policy would loop it)", () => {
    const r = runRunner(shell, "cron(0 0 1 1 ? 2020)", report(), { start: T, stopAt: T + 5 });
    expect(r.lines).toContain("stackport-schedule: the schedule has no further run; idle until stopped");
    expect(jobTimes(r.lines)).toEqual([]);
    expect(r.code).toBe(0);
  });

  test("Alloy's expressions read the end time from the lines the runner prints, each only its own status", () => {
    // The failing run's output has no final newline: the runner's line then shares its log line.
    const job = ["sh", "-c", "if [ -e ran ]; then echo fine; else : >ran; printf 'no newline'; exit 7; fi"];
    const r = runRunner(shell, "rate(1 minute)", job, { start: T, stopAt: T + 90 });
    // Go's RE2 and JavaScript read these expressions alike, except for the spelling of a named group.
    const re = (e: string) => new RegExp(e.replace(/\(\?P</g, "(?<"));
    const captures = (e: string) => r.lines.map((l) => re(e).exec(l)?.groups).filter((g) => g !== undefined);
    expect(captures(SCHEDULE_RUN_EXPRESSIONS.failed)).toEqual([{ stackport_failed_at: String(T) }]);
    expect(captures(SCHEDULE_RUN_EXPRESSIONS.ok)).toEqual([{ stackport_ok_at: String(T + 60) }]);
  });
});

describe("the calendar's shell arithmetic agrees with nextRun on random cron schedules", () => {
  const num = (min: number, max: number) => fc.integer({ min, max });
  const item = (min: number, max: number) =>
    fc.oneof(
      fc.constant("*"),
      num(min, max).map(String),
      fc.tuple(num(min, max), num(min, max)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      fc.tuple(num(min, max), num(1, max - min + 1)).map(([a, s]) => `${a}/${s}`),
      num(1, max - min + 1).map((s) => `*/${s}`),
    );
  const list = (min: number, max: number) =>
    fc.array(item(min, max), { minLength: 1, maxLength: 3 }).map((l) => l.join(","));
  const weekdays = fc.oneof(list(1, 7), fc.constantFrom("MON-FRI", "SAT,SUN", "TUE", "MON,WED,FRI"));
  const schedules = fc
    .tuple(
      list(0, 59),
      list(0, 23),
      fc.oneof(
        list(1, 31).map((d) => [d, "?"]),
        weekdays.map((w) => ["?", w]),
      ),
      fc.oneof(list(1, 12), fc.constantFrom("JAN,JUL", "MAR-OCT", "DEC")),
      fc.oneof(fc.constant("*"), list(2020, 2040)),
    )
    .map(([mi, h, [dom, dow], mo, y]) => `cron(${mi} ${h} ${dom} ${mo} ${dow} ${y})`)
    .filter((e) => scheduleIssue(e, "docker") === undefined);
  const times = fc.array(fc.integer({ min: Date.UTC(2019, 0, 1) / 1000, max: Date.UTC(2041, 0, 1) / 1000 }), {
    minLength: 5,
    maxLength: 5,
  });

  test.each(SHELLS)("in %s", (_name, shellOf) => {
    const shell = shellOf();
    fc.assert(
      fc.property(schedules, times, (expression, ts) => {
        const script = [
          ...SHELL_CIVIL,
          ...scheduleCalendar(expression),
          'for t in "$@"; do next_slot "$t"; if [ -n "$NEXT" ]; then iso "$NEXT"; echo "$NEXT $ISO"; else echo none; fi; done',
        ].join("\n");
        const r = spawnSync(shell[0]!, [...shell.slice(1), "-c", script, "calendar", ...ts.map(String)], {
          encoding: "utf8",
          timeout: 30_000,
        });
        const s = parseSchedule(expression);
        const expected = ts.map((t) => {
          const n = nextRun(s, t);
          return n === undefined ? "none" : `${n} ${iso(n)}`;
        });
        expect({ expression, got: r.stdout.trim().split("\n") }).toEqual({ expression, got: expected });
      }),
      { numRuns: 60 },
    );
  });
});

test.each([
  "rate(1 minute)",
  "rate(7 days)",
  "cron(*/5 * * * ? *)",
  "cron(0 9 ? * MON-FRI *)",
  "cron(30 2 1,15 JAN-JUN ? 2027-2030)",
])("the runner for %s passes shellcheck", (expression) => {
  const r = shellcheck(renderScheduleRunner(expression));
  expect(r.output).toBe("");
  expect(r.code).toBe(0);
});
