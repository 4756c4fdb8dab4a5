/**
 * The work: the user's business logic run on one chunk. It returns nothing
 * (every item done), per-item results, or throws (every item failed); on the
 * way it may say which item it works on (`ctx.begin`) and report results early (`ctx.report`).
 */
import type { Batch } from "./batch.js";

/** The outcome of one item. Items without a result follow the chunk's outcome. */
export interface ItemResult {
  id: string;
  ok: boolean;
  error?: string;
  /** false sends a failed item straight to dead. @defaultValue true */
  retry?: boolean;
  /** Overrides the backoff delay of a retried item. */
  delayMs?: number;
}

export interface WorkResult {
  results?: ItemResult[];
}

export interface WorkContext {
  jobType: string;
  chunkId: string;
  /** Aborted on timeout or shutdown; long work should stop when it fires. */
  signal: AbortSignal;
  log: {
    info(obj: object | string, msg?: string): void;
    warn(obj: object | string, msg?: string): void;
    error(obj: object | string, msg?: string): void;
  };
  /**
   * Says that the job now works on item `id` (one item at a time: a later
   * `begin` replaces the earlier one). If the chunk then ends abnormally (a
   * crash, a timeout, a memory-limit kill, a thrown error, a non-zero exit)
   * before this item has a result, this item alone is blamed for it; the
   * other items without a result are not charged an attempt.
   *
   * An id that is not in the batch is logged (BJ_ERR_LAUNCHER_OUTPUT) and
   * leaves no item running.
   */
  begin(id: string): void;
  /**
   * Reports the result of one item as soon as it is known. It counts even if
   * the chunk later crashes, throws or times out (a returned result would be
   * lost then), and it ends the item's `begin`. The first result of an item
   * counts: the same result returned again at the end is fine, a different
   * one is logged and ignored.
   *
   * Unknown ids and malformed results are logged (BJ_ERR_LAUNCHER_OUTPUT) and ignored.
   */
  report(result: ItemResult): void;
}

// biome-ignore lint/suspicious/noConfusingVoidType: an async function that returns nothing is Promise<void>; it must type-check
type WorkReturn = WorkResult | undefined | void;

export type WorkFunction<P = unknown> = (batch: Batch<P>, ctx: WorkContext) => Promise<WorkReturn> | WorkReturn;

/** A batch job: an object with `work`, or the `work` function itself. */
export type BatchJob<P = unknown> = { work: WorkFunction<P> } | WorkFunction<P>;

/** Calls a `BatchJob` in either of its forms. */
export function runBatchJob<P>(job: BatchJob<P>, batch: Batch<P>, ctx: WorkContext) {
  return typeof job === "function" ? job(batch, ctx) : job.work(batch, ctx);
}

export function isBatchJob(value: unknown): value is BatchJob {
  return (
    typeof value === "function" ||
    (typeof value === "object" && value !== null && typeof (value as { work?: unknown }).work === "function")
  );
}
