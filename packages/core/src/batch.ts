/**
 * The seed's data words: an item of a queue and a batch (chunk) of items
 * leased together under one chunk id (UUID v7).
 */
import { randomFillSync } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

export interface QueueItem<P = unknown> {
  id: string;
  payload: P;
  /** Failed attempts before this one (0 on the first try). */
  attempts: number;
}

export interface Batch<P = unknown> {
  /** The chunk id: a UUID v7, also the owner of the items' lease. */
  id: string;
  jobType: string;
  /**
   * The shard queue the chunk was taken from (`T#i`), when the type is
   * spread over shards and it is not shard 0: settle, extend and hand it
   * back there (`chunkQueue(batch)`).
   */
  queue?: string;
  items: QueueItem<P>[];
  size: number;
  /** When the lease ends unless extended (ms since epoch, Redis clock). */
  leaseDeadline: number;
  /**
   * How many times the chunk these items came from was split to isolate a
   * failure (0: a chunk taken from pending). A chunk that fails as a whole
   * with no known culprit is split in two; a lone item that fails is charged.
   */
  splitDepth?: number;
}

/** The queue a chunk's items are held in: its shard's queue name, or its job type. */
export function chunkQueue(batch: Pick<Batch, "jobType" | "queue">): string {
  return batch.queue ?? batch.jobType;
}

// random bytes drawn in bulk: one getrandom call per 256 ids instead of one per id
const pool = Buffer.allocUnsafe(16 * 256);
let poolAt = pool.length;

/** A new id (UUID v7, so ids sort by creation time): chunks, workers, reservations. */
export function newId(): string {
  if (poolAt + 16 > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const random = pool.subarray(poolAt, poolAt + 16);
  poolAt += 16;
  return uuidv7({ random });
}

/** A new chunk id. */
export const newChunkId = newId;
