/**
 * The worker history: one entry per finished worker, newest first, in two
 * capped Redis LISTs (all types, and one per job type for filtering).
 */
import { defaults } from "../config/defaults.js";
import type { Keys } from "../keys.js";
import type { RedisClient } from "../redis.js";
import type { WorkerListItem } from "./worker-list.js";

export const EXIT_REASONS = [
  "drained",
  "scaled-down",
  "shutdown",
  "crashed",
  "memory-limit",
  "timeout",
  "limit",
  "lost",
] as const;

/**
 * Why a worker ended: the queue was empty (`drained`), the manager scaled the
 * type down, the daemon shut down, the job process crashed, passed its memory
 * limit, or timed out, a run limit was hit, or its host vanished (`lost`).
 */
export type ExitReason = (typeof EXIT_REASONS)[number];

export interface WorkerHistoryItem extends Omit<WorkerListItem, "updatedAt" | "currentChunkId"> {
  finishedAt: string;
  durationMs: number;
  exitReason: ExitReason;
  /** Peak memory of the worker (RSS of the daemon for inline, of the child for fork, spawn and process), when measured. */
  peakMemoryBytes: number | null;
  /** The last error, when the exit reason comes from one. */
  error?: string;
}

/** The history entry of a worker that ended, from its list entry. */
export function historyItemOf(
  entry: WorkerListItem,
  end: { exitReason: ExitReason; durationMs: number; peakMemoryBytes: number | null; error?: string | undefined },
): WorkerHistoryItem {
  const { updatedAt: _u, currentChunkId: _c, ...rest } = entry;
  return {
    ...rest,
    finishedAt: new Date().toISOString(),
    durationMs: end.durationMs,
    exitReason: end.exitReason,
    peakMemoryBytes: end.peakMemoryBytes,
    ...(end.error ? { error: end.error } : {}),
  };
}

export interface WorkerHistoryFilter {
  jobType?: string;
  /** @defaultValue 50 */
  limit?: number;
  offset?: number;
}

export interface WorkerHistoryStorage {
  add(item: WorkerHistoryItem): Promise<void>;
  /** Newest first. */
  list(filter?: WorkerHistoryFilter): Promise<WorkerHistoryItem[]>;
}

export class RedisWorkerHistory implements WorkerHistoryStorage {
  private readonly cap: number;
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    options: { cap?: number } = {},
  ) {
    this.cap = options.cap ?? defaults.history.cap;
  }

  async add(item: WorkerHistoryItem): Promise<void> {
    const raw = JSON.stringify(item);
    const perType = this.keys.type(item.jobType).history;
    // two keys in two cluster slots: two small transactions
    await Promise.all([
      this.client
        .multi()
        .lpush(this.keys.history, raw)
        .ltrim(this.keys.history, 0, this.cap - 1)
        .exec(),
      this.client
        .multi()
        .lpush(perType, raw)
        .ltrim(perType, 0, this.cap - 1)
        .exec(),
    ]);
  }

  async list(filter: WorkerHistoryFilter = {}): Promise<WorkerHistoryItem[]> {
    const key = filter.jobType ? this.keys.type(filter.jobType).history : this.keys.history;
    const offset = filter.offset ?? 0;
    const limit = filter.limit ?? 50;
    if (limit <= 0) return [];
    const raw = await this.client.lrange(key, offset, offset + limit - 1);
    return raw.map((r) => JSON.parse(r) as WorkerHistoryItem);
  }
}
