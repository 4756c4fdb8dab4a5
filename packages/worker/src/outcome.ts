/**
 * Whose fault each outcome is: turns a launcher's ChunkReport into a settle.
 *   1. results the job reported settle as reported (even if the chunk then crashed);
 *   2. a normal end acks the unreported items; a shutdown abort gives them back (no attempt);
 *   3. a chunk that failed as a whole (crash, throw, timeout, exit code, memory kill):
 *      the item the job said it was running is charged alone and the rest requeued;
 *      with no known culprit, a lone item is charged and two or more are split in
 *      halves that run as chunks of their own (bisection), nobody charged.
 */
import type { Batch, ItemFailure, SettleOutcome } from "@batchjob/core";
import type { ChunkReport } from "./launchers/types.js";

export interface Settlement extends SettleOutcome {
  ack: string[];
  fail: ItemFailure[];
}

/** The label kept in the failure record of an item charged for a whole-chunk failure. */
function howAlone(batch: Batch): string {
  const depth = batch.splitDepth ?? 0;
  return depth > 0 ? `isolated by bisection (depth ${depth})` : "failed alone in its chunk";
}

export function settlementOf(
  batch: Batch,
  report: ChunkReport,
  options: { giveBackUnreported: boolean; giveBackReason?: string },
): Settlement {
  const ack: string[] = [];
  const fail: ItemFailure[] = [];
  const unreported: string[] = [];
  for (const item of batch.items) {
    const r = report.results.get(item.id);
    if (!r) unreported.push(item.id);
    else if (r.ok) ack.push(item.id);
    else
      fail.push({
        id: item.id,
        error: r.error ?? "failed",
        how: "reported by the job",
        ...(r.retry === false ? { retry: false } : {}),
        ...(r.delayMs !== undefined ? { delayMs: r.delayMs } : {}),
      });
  }
  const out: Settlement = { ack, fail };
  const u = report.unreported;
  if (unreported.length === 0) return out;
  if (u.ok) {
    ack.push(...unreported);
    return out;
  }
  if (options.giveBackUnreported) {
    out.giveBack = { ids: unreported, reason: options.giveBackReason ?? u.error };
    return out;
  }
  const running = report.running !== undefined && unreported.includes(report.running) ? report.running : undefined;
  if (running !== undefined) {
    fail.push({ id: running, error: u.error, retry: u.retry, how: "running when its chunk failed" });
    const rest = unreported.filter((id) => id !== running);
    if (rest.length > 0) out.requeue = rest;
  } else if (unreported.length === 1) {
    fail.push({ id: unreported[0] as string, error: u.error, retry: u.retry, how: howAlone(batch) });
  } else {
    out.split = { ids: unreported, depth: (batch.splitDepth ?? 0) + 1 };
  }
  return out;
}
