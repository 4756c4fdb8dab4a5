/**
 * The launcher contract: how one chunk is executed (inline, fork, spawn, process, http,
 * or a kind of one's own), independent of the worker that runs it. A launcher
 * reports per-item results, what happens to items it has no result for,
 * whether the run ended abnormally, and the peak memory it could measure. It never rejects for
 * anything the job does: a crash, a timeout or bad output is a report.
 */
import type { Batch, Logger } from "@batchjob/core";

/** The outcome of one item as the job reported it. */
export interface ItemOutcome {
  ok: boolean;
  error?: string;
  /** false: straight to dead. @defaultValue true */
  retry?: boolean;
  /** Overrides the backoff delay of a retried item. */
  delayMs?: number;
}

/** What happens to the items the job gave no result for. */
export type Unreported = { ok: true } | { ok: false; error: string; retry: boolean };

/** An abnormal end; the worker settles the chunk, then ends with this exit reason. */
export interface FatalEnd {
  reason: "crashed" | "timeout" | "memory-limit";
  error: string;
}

export interface ChunkReport {
  /** Results the job reported, by item id (only ids of the batch). */
  results: Map<string, ItemOutcome>;
  unreported: Unreported;
  fatal?: FatalEnd;
  /**
   * The item the job said it was working on (ctx.begin, a fork "begin"
   * message, a spawn `{"running":id}` line) and has no result for, when the
   * chunk did not end normally: a fatal end, a thrown error, a non-zero
   * exit, an abort; that is, whenever `unreported` is a failure. The item
   * that most likely caused the failure, to be charged alone. Undefined
   * after a normal end, or when no begun item is left without a result.
   */
  running?: string;
  /** Peak memory of the execution in bytes, when it could be measured. */
  peakMemoryBytes: number | null;
}

export interface RunContext {
  /** Aborted when the chunk must stop early (forced shutdown, lease lost). */
  signal: AbortSignal;
  log: Logger;
}

export interface Launcher {
  /** The kind of its definition (inline, fork, spawn, process, http, or a config's own); recorded in the worker history. */
  readonly kind: string;
  /**
   * The form of `item.payload` that run() expects: parsed values, or the
   * JSON text as stored (spawn, process and http pass it on to another
   * process without parsing and re-encoding it in the daemon; a payload that
   * is not JSON is dead before it gets here), or `text`: the stored text not
   * even checked, for a launcher that parses each payload and fails one that
   * is not JSON itself (fork: its child does; the daemon parses nothing).
   */
  readonly payloads: "parsed" | "json" | "text";
  /** Runs one chunk; resolves with a report (never rejects for what the job does). Calls are sequential. */
  run(batch: Batch, ctx: RunContext): Promise<ChunkReport>;
  /** Releases what it holds between chunks (the fork child); idempotent. */
  close(): Promise<void>;
}
