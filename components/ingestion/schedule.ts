/**
 * Schedules of the ingestion tier's services, as pure text and numbers: the EventBridge expressions both backends
 * accept (`rate(15 minutes)`, `cron(0 3 * * ? *)`, always UTC), checked once, and the runner that makes a scheduled
 * service a job on Docker.
 *
 * On AWS the expression becomes an EventBridge rule as it is. Docker has no scheduler, and this library adds no
 * container with the Docker socket for one: the service's own container runs a POSIX-sh loop (`/bin/sh -c <runner>`
 * with the service's `command` as the job's argv) that sleeps until the next due time in UTC, runs the command in the
 * foreground, and logs one line when a run starts and one when it ends (`SCHEDULE_LOG`). Runs never overlap: slots
 * that pass while a run is still going are skipped, and the skip is logged. A failed run never ends the loop.
 *
 * The runner needs only `date +%s` and `sleep 1` from the image (coreutils or BusyBox) and shell arithmetic for the
 * calendar, so it runs in dash (Debian) and BusyBox ash (Alpine) alike. Tests put a fake `date` and `sleep` first on
 * PATH to drive its clock (tests/artifacts/schedule.test.ts); in a container the image's own are used.
 */
import { PAUSE_AND_STOP, SECONDS_UNTIL_DUE, shQuote } from "../shared/shell";

export type ScheduleBackend = "docker" | "aws";

/** A parsed schedule: a fixed interval, or the values each cron field allows (one of `daysOfMonth`/`daysOfWeek`). */
export type Schedule =
  | { kind: "rate"; seconds: number }
  | {
      kind: "cron";
      minutes: number[];
      hours: number[];
      /** Days of the month (1–31), or undefined when the field is `?`. */
      daysOfMonth?: number[];
      months: number[];
      /** EventBridge numbering: 1 = Sunday … 7 = Saturday; undefined when the field is `?`. */
      daysOfWeek?: number[];
      years: number[];
    };

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((.*)\)$/;
const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86400 };
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Upper-case names for min, min+1, … (months, weekdays). */
  names?: string[];
  /** `/` allowed (EventBridge allows it everywhere but in day-of-week). */
  step: boolean;
}
const FIELDS: FieldSpec[] = [
  { name: "minutes", min: 0, max: 59, step: true },
  { name: "hours", min: 0, max: 23, step: true },
  { name: "day-of-month", min: 1, max: 31, step: true },
  { name: "month", min: 1, max: 12, names: MONTHS, step: true },
  { name: "day-of-week", min: 1, max: 7, names: WEEKDAYS, step: false },
  { name: "year", min: 1970, max: 2199, step: true },
];

const EXAMPLES = "e.g. rate(15 minutes), rate(1 hour) or cron(0 3 * * ? *)";

class ScheduleError extends Error {}

function value(text: string, f: FieldSpec): number {
  const named = f.names?.indexOf(text) ?? -1;
  if (named >= 0) return f.min + named;
  if (!/^\d+$/.test(text)) {
    const names = f.names ? ` or ${f.names[0]}-${f.names[f.names.length - 1]} (upper case)` : "";
    throw new ScheduleError(`${f.name} '${text}' is not a number${names}`);
  }
  const n = Number(text);
  if (n < f.min || n > f.max) throw new ScheduleError(`${f.name} ${n} is outside ${f.min}-${f.max}`);
  return n;
}

/** The values one standard field item allows: `*`, `5`, `MON`, `1-5`, `MON-FRI`, `*\/5`, `0/15`, `10-40/10`. */
function item(text: string, f: FieldSpec): number[] {
  const [base, stepText, extra] = text.split("/");
  if (extra !== undefined) throw new ScheduleError(`${f.name} '${text}' has more than one '/'`);
  let step = 1;
  if (stepText !== undefined) {
    if (!f.step) throw new ScheduleError(`${f.name} does not allow '/' (EventBridge)`);
    if (!/^\d+$/.test(stepText) || Number(stepText) < 1)
      throw new ScheduleError(`${f.name} '${text}': the step after '/' must be a whole number ≥ 1`);
    step = Number(stepText);
  }
  let from: number;
  let to: number;
  if (base === "*") [from, to] = [f.min, f.max];
  else if (base!.includes("-")) {
    const [a, b, more] = base!.split("-");
    if (more !== undefined || !a || !b) throw new ScheduleError(`${f.name} '${text}' is not a range`);
    [from, to] = [value(a, f), value(b, f)];
    if (from > to)
      throw new ScheduleError(
        `${f.name} range '${base}' runs backwards; write it as two ranges joined by ','`,
      );
  } else {
    from = value(base!, f);
    // `0/15`: from 0 to the end of the field in steps of 15 (EventBridge); a bare value is just itself.
    to = stepText === undefined ? from : f.max;
  }
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** `L`, `W`, `#` (last day, nearest weekday, n-th weekday of the month): EventBridge has them, the Docker runner not. */
const AWS_ONLY_DAY = {
  "day-of-month": /^(L|LW|L-([1-9]|[12]\d|30)|([1-9]|[12]\d|3[01])W)$/,
  "day-of-week": /^(L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$/,
};

function field(text: string, f: FieldSpec, backend: ScheduleBackend): number[] | "?" | "aws-only" {
  if (text === "?") return "?";
  const items = text.split(",");
  if (items.includes("")) throw new ScheduleError(`${f.name} '${text}' has an empty item`);
  const aws = AWS_ONLY_DAY[f.name as keyof typeof AWS_ONLY_DAY];
  // WED is the only name with one of the letters in it.
  if (aws && /[LW#]/.test(text.replace(/WED/g, ""))) {
    if (backend === "docker") {
      throw new ScheduleError(
        `${f.name} '${text}' uses L, W or #, which only EventBridge understands; on Docker list the days instead (e.g. 28-31 or MON-FRI)`,
      );
    }
    if (text.includes("#") && items.length > 1)
      throw new ScheduleError(
        `${f.name} '${text}': with '#' the field takes a single expression (EventBridge)`,
      );
    for (const i of items) if (!aws.test(i)) item(i, f);
    return "aws-only";
  }
  const values = new Set(items.flatMap((i) => item(i, f)));
  return [...values].sort((a, b) => a - b);
}

/** Parses an EventBridge schedule as `backend` can run it; throws a ScheduleError saying what is wrong. */
function parse(expression: string, backend: ScheduleBackend): Schedule | "aws-only" {
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2]!;
    if (!/^[1-9]\d*$/.test(rate[1]!))
      throw new ScheduleError(`the rate must be a whole number ≥ 1 (${rate[1]})`);
    const singular = !unit.endsWith("s");
    if (singular !== (n === 1))
      throw new ScheduleError(
        `EventBridge wants '${n} ${singular ? `${unit}s` : unit.slice(0, -1)}' (singular only for 1)`,
      );
    return { kind: "rate", seconds: n * UNIT_SECONDS[unit.replace(/s$/, "")]! };
  }
  const cron = CRON.exec(expression);
  if (!cron) throw new ScheduleError(`is neither rate(<n> <unit>) nor cron(<6 fields>), ${EXAMPLES}`);
  const parts = cron[1]!.trim().split(/ +/);
  if (parts.length !== 6)
    throw new ScheduleError(
      `a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), this one has ${parts.length}`,
    );
  const [mi, h, dom, mo, dow, y] = parts.map((p, i) => field(p, FIELDS[i]!, backend));
  if ((dom === "?") === (dow === "?"))
    throw new ScheduleError(
      "exactly one of day-of-month and day-of-week must be '?' (EventBridge), e.g. cron(0 3 * * ? *) or cron(0 3 ? * MON-FRI *)",
    );
  if ([mi, h, mo, y].includes("?"))
    throw new ScheduleError("'?' is only allowed in day-of-month or day-of-week");
  if (dom === "aws-only" || dow === "aws-only") return "aws-only";
  const schedule: Schedule = {
    kind: "cron",
    minutes: mi as number[],
    hours: h as number[],
    ...(dom !== "?" && { daysOfMonth: dom as number[] }),
    months: mo as number[],
    ...(dow !== "?" && { daysOfWeek: dow as number[] }),
    years: y as number[],
  };
  if (nextRun(schedule, Date.UTC(1970, 0, 1) / 1000 - 60) === undefined)
    throw new ScheduleError("never fires: no date in 1970-2199 matches its day, month and year");
  return schedule;
}

/**
 * What is wrong with a schedule on `backend` (undefined: valid). Both check EventBridge's syntax; Docker also
 * refuses what its runner cannot do (`L`, `W`, `#`). A cron that matches no date at all is refused on both.
 */
export function scheduleIssue(expression: string, backend: ScheduleBackend): string | undefined {
  try {
    parse(expression, backend);
    return undefined;
  } catch (e) {
    if (e instanceof ScheduleError) return `'${expression}': ${e.message}`;
    throw e;
  }
}

/** What a scheduled service is checked for (a structural subset of `IngestionServiceArgs`/`DockerServiceArgs`). */
export interface ScheduledServiceShape {
  schedule?: string | undefined;
  command?: string[] | undefined;
  health?: unknown;
  routed?: boolean | undefined;
  metrics?: unknown;
  replicas?: number | undefined;
}

/**
 * What is wrong with a scheduled service on `backend`, by the key of the service to blame: its `schedule`, and on
 * Docker the keys that cannot work for a job run by the runner (no `command` to run; several replicas, each of which
 * would run every run; a health check, a route or a metrics scrape of a process that only exists during a run).
 */
export function scheduledServiceIssues(
  s: ScheduledServiceShape,
  backend: ScheduleBackend,
): { key: string; message: string }[] {
  if (s.schedule === undefined) return [];
  const issues: { key: string; message: string }[] = [];
  const issue = scheduleIssue(s.schedule, backend);
  if (issue !== undefined) issues.push({ key: "schedule", message: issue });
  if (backend === "aws") return issues;
  const job = "a scheduled service runs its command as a job between idle waits";
  if (!s.command?.length)
    issues.push({
      key: "command",
      message: `is required with 'schedule' on Docker: the schedule runner replaces the image's entrypoint and runs this command as the job (give the whole command line)`,
    });
  if ((s.replicas ?? 1) > 1)
    issues.push({
      key: "replicas",
      message: `must be 1 with 'schedule': each replica would run every run (${job})`,
    });
  if (s.health !== undefined)
    issues.push({
      key: "health",
      message: `has no effect with 'schedule': ${job}; remove it (failed runs alert instead)`,
    });
  if (s.routed)
    issues.push({
      key: "routed",
      message: `cannot be set with 'schedule': ${job}, there is nothing to route to`,
    });
  if (s.metrics !== undefined)
    issues.push({
      key: "metrics",
      message: `cannot be set with 'schedule': ${job}, Prometheus would see it down; runs are counted from its log`,
    });
  return issues;
}

/** The schedule as the Docker runner runs it; throws on an expression `scheduleIssue` refuses for Docker. */
export function parseSchedule(expression: string): Schedule {
  const issue = scheduleIssue(expression, "docker");
  if (issue !== undefined) throw new Error(`schedule ${issue}`);
  return parse(expression, "docker") as Schedule;
}

/**
 * The first cron slot (a minute, Unix seconds) strictly after `after`; undefined when none is left before 2200.
 * A reference for tests of the runner's own calendar, written with `Date` rather than the runner's arithmetic.
 */
export function nextRun(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === "rate") return after + schedule.seconds;
  const lastYear = schedule.years[schedule.years.length - 1]!;
  let t = (Math.floor(after / 60) + 1) * 60 * 1000;
  for (;;) {
    const d = new Date(t);
    const [y, mo, day] = [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
    if (y > lastYear) return undefined;
    if (!schedule.years.includes(y)) t = Date.UTC(y + 1, 0, 1);
    else if (!schedule.months.includes(mo)) t = Date.UTC(y, mo, 1);
    else if (
      !(schedule.daysOfMonth ?? schedule.daysOfWeek!).includes(schedule.daysOfMonth ? day : d.getUTCDay() + 1)
    )
      t = Date.UTC(y, mo - 1, day + 1);
    else if (!schedule.hours.includes(d.getUTCHours())) t = Date.UTC(y, mo - 1, day, d.getUTCHours() + 1);
    else if (!schedule.minutes.includes(d.getUTCMinutes())) t += 60_000;
    else return t / 1000;
  }
}

/** The runner's log lines, fixed so Alloy can turn them into metrics (components/observability/alloy.ts). */
export const SCHEDULE_LOG = {
  /** Every line of the runner starts with this; the job's own output has no prefix. */
  prefix: "stackport-schedule:",
  /** `run start slot=<ISO due time>` */
  start: "run start slot=",
  /**
   * `run end status=<ok|failed> exit=<code> duration=<s>s at=<Unix end time> slot=<ISO due time>`: one per run.
   * `at` is what the metrics are made of (components/observability/alloy.ts `SCHEDULE_RUN_EXPRESSIONS`).
   */
  end: "run end status=",
  /** `skipped <n> run(s) due while the previous run was still running` */
  skipped: "skipped ",
} as const;

/**
 * `civil T` sets C_Y C_M C_D (UTC date), C_H C_MI C_S (time) and C_W (1 = Sunday … 7 = Saturday, as EventBridge counts)
 * from Unix time T: shell arithmetic after H. Hinnant's `civil_from_days`, so no `date -d` (GNU and BusyBox differ)
 * and no subshell.
 */
export const SHELL_CIVIL = [
  "# shellcheck disable=SC2034 # C_W is read by day-of-week schedules only",
  "civil() {",
  "  c_days=$(($1 / 86400)); c_rem=$(($1 % 86400))",
  "  C_H=$((c_rem / 3600)); C_MI=$((c_rem % 3600 / 60)); C_S=$((c_rem % 60)); C_W=$(((c_days + 4) % 7 + 1))",
  "  c_z=$((c_days + 719468)); c_era=$((c_z / 146097)); c_doe=$((c_z - c_era * 146097))",
  "  c_yoe=$(((c_doe - c_doe / 1460 + c_doe / 36524 - c_doe / 146096) / 365))",
  "  c_doy=$((c_doe - (365 * c_yoe + c_yoe / 4 - c_yoe / 100))); c_mp=$(((5 * c_doy + 2) / 153))",
  "  C_D=$((c_doy - (153 * c_mp + 2) / 5 + 1)); C_M=$((c_mp < 10 ? c_mp + 3 : c_mp - 9))",
  "  C_Y=$((c_yoe + c_era * 400 + (C_M <= 2)))",
  "}",
  'iso() { civil "$1"; ISO=$(printf \'%04d-%02d-%02dT%02d:%02d:%02dZ\' "$C_Y" "$C_M" "$C_D" "$C_H" "$C_MI" "$C_S"); }',
];

/** `day_start Y M` sets DAY to the Unix time that month begins (for a cron with a year or month field). */
const DAY_START = [
  "# day_start Y M: sets DAY to the Unix time that month begins.",
  "day_start() {",
  "  d_y=$(($1 - ($2 <= 2))); d_era=$((d_y / 400)); d_yoe=$((d_y - d_era * 400))",
  "  d_doy=$(((153 * ($2 > 2 ? $2 - 3 : $2 + 9) + 2) / 5))",
  "  DAY=$(((d_era * 146097 + d_yoe * 365 + d_yoe / 4 - d_yoe / 100 + d_doy - 719468) * 86400))",
  "}",
];

/**
 * The runner's calendar (after `SHELL_CIVIL`): `next_slot T` sets NEXT to the first due time (Unix seconds) after T,
 * or to empty when none is left. Exported for tests, which run the same text the runner contains.
 */
export function scheduleCalendar(expression: string): string[] {
  const s = parseSchedule(expression);
  if (s.kind === "rate") {
    return [`INTERVAL_SECONDS=${s.seconds}`, "next_slot() { NEXT=$(($1 + INTERVAL_SECONDS)); }"];
  }
  const [dayVar, dayValues, dayMax] = s.daysOfMonth ? ["C_D", s.daysOfMonth, 31] : ["C_W", s.daysOfWeek!, 7];
  // A field that does not match skips to the start of the next year, month, day or hour; a field that allows
  // every value has no line. So a search takes at most a few hundred steps.
  const check = (variable: string, values: number[], min: number, max: number, skip: string[]) =>
    values.length === max - min + 1
      ? []
      : [
          `    case "$${variable}" in ${values.join("|")}) ;; *)`,
          ...skip.map((l) => `      ${l}`),
          "      continue ;;",
          "    esac",
        ];
  return [
    ...(s.years.length < 230 || s.months.length < 12 ? DAY_START : []),
    `# ${expression}: the first matching minute after $1.`,
    "next_slot() {",
    "  t=$((($1 / 60 + 1) * 60))",
    "  while :; do",
    '    civil "$t"',
    `    if [ "$C_Y" -gt ${s.years[s.years.length - 1]} ]; then NEXT=''; return 0; fi`,
    ...check("C_Y", s.years, 1970, 2199, ["day_start $((C_Y + 1)) 1; t=$DAY"]),
    ...check("C_M", s.months, 1, 12, [
      'if [ "$C_M" -eq 12 ]; then day_start $((C_Y + 1)) 1; else day_start "$C_Y" $((C_M + 1)); fi',
      "t=$DAY",
    ]),
    ...check(dayVar, dayValues, 1, dayMax, ["t=$(((t / 86400 + 1) * 86400))"]),
    ...check("C_H", s.hours, 0, 23, ["t=$(((t / 3600 + 1) * 3600))"]),
    ...check("C_MI", s.minutes, 0, 59, ["t=$((t + 60))"]),
    "    NEXT=$t; return 0",
    "  done",
    "}",
  ];
}

/** Where the runner keeps the due time of its last run (a rate's cadence survives a container restart). */
export const SCHEDULE_STATE_FILE = "/tmp/stackport-schedule-last-start";

/**
 * The runner: `/bin/sh -c <this> stackport-schedule <command…>` runs `<command…>` on `expression`. See the file's
 * comment; every line it prints starts with `SCHEDULE_LOG.prefix`.
 */
export function renderScheduleRunner(expression: string): string {
  const s = parseSchedule(expression);
  const first =
    s.kind === "rate"
      ? [
          "# A rate keeps its cadence across a restart of the container: the next run is due one interval after the",
          "# last one's due time (recorded in $LAST_SUCCESS; none yet: at once).",
          ...SECONDS_UNTIL_DUE,
          "first_slot() { FIRST=$(($(date +%s) + $(seconds_until_due))); }",
        ]
      : [
          "# A cron's first run is its first slot from now on (now included).",
          "first_slot() { next_slot $(($(date +%s) - 1)); FIRST=$NEXT; }",
        ];
  const lines = [
    "#!/bin/sh",
    `# Rendered by stackport: run the service's command on ${expression} (UTC). Do not edit; change the schedule instead.`,
    // Not `set -e`: a failed run is logged and the loop goes on; every other step is checked where it matters.
    "set -u",
    `SCHEDULE=${shQuote(expression)}`,
    `LAST_SUCCESS="\${STACKPORT_SCHEDULE_STATE:-${SCHEDULE_STATE_FILE}}"`,
    `log() { echo "${SCHEDULE_LOG.prefix} $*"; }`,
    ...PAUSE_AND_STOP,
    "# Waits until Unix time $1, re-reading the clock every minute: one-second sleeps drift.",
    "sleep_until() {",
    "  while :; do",
    "    left=$(($1 - $(date +%s)))",
    '    if [ "$left" -le 0 ]; then return 0; fi',
    '    if [ "$left" -gt 60 ]; then left=60; fi',
    '    pause "$left"',
    "  done",
    "}",
    ...SHELL_CIVIL,
    ...scheduleCalendar(expression),
    ...first,
    "",
    "# One run of the job, in the foreground: its output goes to the container log between the two lines.",
    "run_once() {",
    '  slot=$1; shift; iso "$slot"',
    '  echo "$slot" >"$LAST_SUCCESS" 2>/dev/null || true',
    "  started=$(date +%s)",
    `  log "${SCHEDULE_LOG.start}$ISO"`,
    '  if "$@"; then code=0; else code=$?; fi',
    "  ended=$(date +%s)",
    '  if [ "$code" -eq 0 ]; then status=ok; else status=failed; fi',
    `  log "${SCHEDULE_LOG.end}$status exit=$code duration=$((ended - started))s at=$ended slot=$ISO"`,
    "}",
    "",
    "main() {",
    "  trap stop TERM INT",
    '  log "running the command on $SCHEDULE (UTC)"',
    "  first_slot; slot=$FIRST",
    "  while :; do",
    '    if [ -z "$slot" ]; then',
    '      log "the schedule has no further run; idle until stopped"',
    "      while :; do pause 3600; done",
    "    fi",
    '    iso "$slot"; log "next run at $ISO"',
    '    sleep_until "$slot"',
    '    run_once "$slot" "$@"',
    "    # Slots that passed during the run are skipped, never run late or at once: runs never overlap.",
    '    next_slot "$slot"; skipped=0; now=$(date +%s)',
    '    while [ -n "$NEXT" ] && [ "$NEXT" -lt "$now" ]; do skipped=$((skipped + 1)); next_slot "$NEXT"; done',
    '    if [ "$skipped" -gt 0 ]; then',
    `      log "${SCHEDULE_LOG.skipped}$skipped run(s) due while the previous run was still running"`,
    "    fi",
    "    slot=$NEXT",
    "  done",
    "}",
    "",
    'if [ "$#" -eq 0 ]; then log "no command to run: give the service a command"; exit 2; fi',
    'main "$@"',
    "",
  ];
  return lines.join("\n");
}

/** `$0` of the runner, so `ps` and error messages name it. */
export const SCHEDULE_RUNNER_NAME = "stackport-schedule";

/**
 * The container of a scheduled Docker service: the runner as its entrypoint, the service's command as the job.
 * The image's own ENTRYPOINT is replaced, so `command` must be the whole command line.
 */
export function scheduledContainer(expression: string, command: string[]) {
  return {
    entrypoints: ["/bin/sh", "-c", renderScheduleRunner(expression), SCHEDULE_RUNNER_NAME],
    command,
  };
}
