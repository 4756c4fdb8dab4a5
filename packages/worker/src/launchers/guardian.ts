/**
 * The guardian (an entry point: it starts when run): kills the spawned jobs' process groups when
 * the daemon that started it dies, however it dies (kill -9 included). It runs in its own session.
 *   1. reads lines on stdin from the daemon: "+<pgid>" registers a group, "-<pgid>" forgets it;
 *   2. when stdin ends (the daemon exited or was killed: its end of the pipe closed),
 *      SIGKILLs every registered group and exits.
 */
import { createInterface } from "node:readline";

const groups = new Set<number>();

function killAllAndExit(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // ESRCH: the group is gone already
    }
  }
  process.exit(0);
}

const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
lines.on("line", (line) => {
  const m = /^([+-])(\d+)$/.exec(line.trim());
  const pgid = Number(m?.[2]);
  // pgid 0 or 1 would mean our own group or every process: never registered
  if (!m || !Number.isSafeInteger(pgid) || pgid <= 1) return;
  if (m[1] === "+") groups.add(pgid);
  else groups.delete(pgid);
});
lines.on("close", killAllAndExit);
process.stdin.on("error", killAllAndExit);
