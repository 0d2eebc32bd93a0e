/**
 * `stackport history`: rows from recorded-shape history (file backend: version 0 → start time as the ref; Cloud:
 * versions), both renderings, and the command itself (usage, exit codes, no config values printed).
 */
import { main } from "../../src/ops/cli";
import { formatChanges, historyRows, renderHistoryMarkdown, renderHistoryText } from "../../src/ops/history";
import { StackOpsError } from "../../src/ops/stackOps";
import { cliWorld, historyFixture, memoryStackOps } from "./fakePulumi";

const diy = historyFixture("history-diy.json");
const cloud = historyFixture("history-cloud.json");

describe("historyRows", () => {
  it("identifies file-backend entries by start time, and shows commit, dirty flag, result and changes", () => {
    const rows = historyRows(diy);
    expect(rows.map((r) => r.ref)).toEqual([
      "2026-03-04T09:15:02.000Z",
      "2026-03-03T18:02:11.000Z",
      "2026-03-02T12:00:00.000Z",
      "2026-03-01T08:30:00.000Z",
      "2026-02-27T21:00:00.000Z",
    ]);
    expect(rows[0]).toMatchObject({
      result: "succeeded",
      commit: "f00dfac",
      dirty: "yes",
      message: "try a bigger shm",
    });
    expect(rows[1]).toMatchObject({ result: "failed", commit: "0badc0d", dirty: "no" });
    expect(rows[2]!.kind).toBe("refresh");
    expect(rows[3]!.changes).toBe("replace 1, create 2, update 1, same 11");
    expect(rows[4]).toMatchObject({ commit: "-", dirty: "?" });
  });

  it("identifies Pulumi Cloud entries by version; an unfinished update has no changes yet", () => {
    const rows = historyRows(cloud);
    expect(rows.map((r) => r.ref)).toEqual(["12", "11"]);
    expect(rows[0]).toMatchObject({ result: "in-progress", changes: "-" });
  });

  it("orders changes destructive first and drops zero counts", () => {
    expect(formatChanges({ same: 3, update: 0, create: 1, delete: 2 })).toBe("delete 2, create 1, same 3");
    expect(formatChanges(undefined)).toBe("-");
  });
});

describe("rendering", () => {
  it("text: aligned columns; the start-time column is dropped when the ref already is the start time", () => {
    const text = renderHistoryText(historyRows(diy));
    const [header, first] = text.split("\n");
    expect(header).toMatch(/^ref \(--to\) +kind +result +commit +dirty +changes +message$/);
    expect(first).toMatch(
      /^2026-03-04T09:15:02\.000Z +update +succeeded +f00dfac +yes +update 1, same 14 +try a bigger shm$/,
    );
    expect(renderHistoryText(historyRows(cloud)).split("\n")[0]).toContain("started (UTC)");
    expect(renderHistoryText([])).toBe("no updates recorded for this stack");
  });

  it("markdown: one row per update, pipes in messages escaped", () => {
    const md = renderHistoryMarkdown(historyRows(diy)).split("\n");
    expect(md).toHaveLength(2 + diy.length);
    expect(md[5]).toContain("database: 4 GiB \\| shm 256 MiB");
    expect(md[5]!.split(/(?<!\\)\|/)).toHaveLength(10);
  });
});

describe("stackport history", () => {
  it("prints the table, asks for the limit, and never prints config values", async () => {
    const ops = memoryStackOps({ history: diy });
    const history = jest.spyOn(ops, "history");
    const w = cliWorld({ stackOps: () => ops });
    expect(await main(["history", "staging", "--limit", "5"], w.deps)).toBe(0);
    expect(history).toHaveBeenCalledWith("staging", { pageSize: 5 });
    expect(w.stdout()).toContain("2026-03-01T08:30:00.000Z");
    expect(w.stdout()).not.toMatch(/4096|homelab/);
  });

  it("--help explains the ref column; bad usage exits 64 with the verb's usage", async () => {
    const help = cliWorld();
    expect(await main(["history", "--help"], help.deps)).toBe(0);
    expect(help.stdout()).toContain("start time on a file");

    const bad = cliWorld();
    expect(await main(["history", "staging", "--limit", "0"], bad.deps)).toBe(64);
    expect(bad.stderr()).toContain("--limit must be a positive number");
    expect(await main(["history"], bad.deps)).toBe(64);
    expect(await main(["histroy", "staging"], bad.deps)).toBe(64);
    expect(bad.stderr()).toContain("unknown command 'histroy'");
  });

  it("exits 2 with one readable line when the stack does not exist", async () => {
    const w = cliWorld({
      stackOps: () => ({
        ...memoryStackOps({}),
        history: async () => {
          throw new StackOpsError("no stack named 'prod' in this project's backend");
        },
      }),
    });
    expect(await main(["history", "prod"], w.deps)).toBe(2);
    expect(w.stderr()).toBe("stackport history: no stack named 'prod' in this project's backend\n");
  });
});
