/**
 * Turns a launcher's ChunkReport into what the queue needs: the ids to ack,
 * the failures (each with its own error and retry flag), and the ids to
 * hand back untouched (unreported items of a chunk aborted for shutdown).
 */
import type { Batch, ItemFailure } from "@batchjob/core";
import type { ChunkReport } from "./launchers/types.js";

export interface Settlement {
  ack: string[];
  fail: ItemFailure[];
  /** Unreported ids to return to pending without an attempt (shutdown abort). */
  giveBack: string[];
}

export function settlementOf(batch: Batch, report: ChunkReport, options: { giveBackUnreported: boolean }): Settlement {
  const ack: string[] = [];
  const fail: ItemFailure[] = [];
  const giveBack: string[] = [];
  const u = report.unreported;
  for (const item of batch.items) {
    const r = report.results.get(item.id);
    if (r) {
      if (r.ok) ack.push(item.id);
      else
        fail.push({
          id: item.id,
          error: r.error ?? "failed",
          ...(r.retry === false ? { retry: false } : {}),
          ...(r.delayMs !== undefined ? { delayMs: r.delayMs } : {}),
        });
    } else if (u.ok) ack.push(item.id);
    else if (options.giveBackUnreported) giveBack.push(item.id);
    else fail.push({ id: item.id, error: u.error, retry: u.retry });
  }
  return { ack, fail, giveBack };
}
