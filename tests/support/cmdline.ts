/**
 * Samples the command line of every process on the machine (`/proc/<pid>/cmdline`, which any local user can read)
 * while a job runs, so a test can prove that no secret is passed as an argument. The broker test records the
 * arguments its wrappers receive; this reads what `ps` run as anybody would show, for jobs whose tools we do not wrap.
 */
import { readFileSync, readdirSync } from "node:fs";

export interface CmdlineWatch {
  /** Stops sampling; resolves with every distinct command line seen (arguments joined by spaces). */
  stop(): Promise<string[]>;
}

/** Reads the command line of every process right now; processes that exit meanwhile are skipped. */
function sample(into: Set<string>): void {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (raw) into.add(raw.replace(/\0+$/, "").split("\0").join(" "));
    } catch {
      // Gone between readdir and read.
    }
  }
}

/** Starts sampling as often as the event loop allows (every few milliseconds) until `stop()`. */
export function watchCmdlines(): CmdlineWatch {
  const seen = new Set<string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      sample(seen);
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return [...seen];
    },
  };
}
