/**
 * The finished-workers table that `history` and `status` print: one row per
 * worker, columns chosen to fit 80 (the start time, seconds, pid and chunk
 * count are in `--json`); reasons that come from a failure in red.
 */
import type { ExitReason, WorkerHistoryItem } from "@batchjob/core";
import { ago, bytes, table } from "./table.js";
import type { Colors } from "./terminal.js";

const FAILED: ReadonlySet<ExitReason> = new Set(["crashed", "memory-limit", "timeout", "lost"]);

/** "05-31 14:02": the month, day, hour and minute in UTC, as the history stores them. */
export function shortTime(iso: string): string {
  return iso.replace("T", " ").slice(5, 16);
}

export function historyTable(items: WorkerHistoryItem[], width: number | undefined, colors: Colors): string {
  return table(
    ["FINISHED", "TYPE", "HOST", "TOOK", "DONE", "FAIL", "RETRY", "PEAK MEM", "REASON"],
    items.map((h) => [
      shortTime(h.finishedAt),
      h.jobType,
      h.hostId,
      ago(h.durationMs),
      h.itemsDone,
      h.itemsFailed,
      h.itemsRetried,
      bytes(h.peakMemoryBytes),
      {
        text: h.error ? `${h.exitReason}: ${h.error}` : h.exitReason,
        paint: FAILED.has(h.exitReason) ? colors.red : (s: string) => s,
      },
    ]),
    { width, head: colors.bold, fixed: ["FINISHED", "TOOK", "PEAK MEM"] },
  );
}
