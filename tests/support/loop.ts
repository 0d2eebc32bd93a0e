import { spawn } from "node:child_process";

/**
 * A rendered loop script (a backup loop, a bucket sync, an object mirror) running as a container's main process.
 * It runs in its own process group so `stop()` can tell whether anything outlived the script, and `dispose()`
 * can end whatever did: a stray `sleep` holding the output pipe would otherwise keep Jest alive for the whole
 * interval (an hour, for the backup loop).
 */
export interface RunningLoop {
  /** Everything the script printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Waits until `text` appears after offset `from` of the output; fails with the output so far after `ms`. */
  waitFor(text: string | RegExp, from?: number, ms?: number): Promise<void>;
  /**
   * Sends TERM to the script alone, as `docker stop` does to PID 1, and resolves with its exit code and the
   * whether a process of its group is still alive a second later (none should be). Rejects if it runs on after 5 s.
   */
  stop(): Promise<{ code: number | null; leftBehind: boolean }>;
  /** Kills the whole process group; safe to call at any time, and more than once. */
  dispose(): void;
}

export function runLoop(script: string, args: string[], env: NodeJS.ProcessEnv): RunningLoop {
  const child = spawn("sh", [script, ...args], { env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const group = child.pid;
  if (group === undefined) throw new Error(`could not start sh ${script}`);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  const groupAlive = (): boolean => {
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      return false;
    }
  };

  return {
    output: () => out,
    async waitFor(text, from = 0, ms = 10_000) {
      const seen = () =>
        typeof text === "string" ? out.slice(from).includes(text) : text.test(out.slice(from));
      for (const deadline = Date.now() + ms; !seen() && Date.now() < deadline;)
        await new Promise((r) => setTimeout(r, 25));
      if (!seen()) throw new Error(`no ${String(text)} in the script's output after ${ms} ms:\n${out}`);
    },
    async stop() {
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const tooSlow = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`still running 5 s after TERM:\n${out}`)), 5000);
      });
      try {
        const code = await Promise.race([exited, tooSlow]);
        // Give the kernel a moment to end and reap anything the script left on its way out (nothing should be left).
        for (const deadline = Date.now() + 1000; groupAlive() && Date.now() < deadline;)
          await new Promise((r) => setTimeout(r, 10));
        return { code, leftBehind: groupAlive() };
      } finally {
        clearTimeout(timer);
      }
    },
    dispose() {
      if (groupAlive()) process.kill(-group, "SIGKILL");
    },
  };
}
