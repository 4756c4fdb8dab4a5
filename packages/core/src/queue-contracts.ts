/**
 * The seed's queue interfaces. `BatchQueue` implements all three on Redis;
 * they exist so a caller (or a test) can depend on just the part it uses.
 */
import type { Batch } from "./batch.js";

export interface EnqueueItem {
  /** A caller id dedupes: an item whose id is still queued is skipped. Must not start with '#'. */
  id?: string;
  payload: unknown;
}

export interface EnqueueResult {
  /** Items added (not counting deduped ones). */
  added: number;
  /** The id of each input item, in input order (deduped ones included). */
  ids: string[];
  /** Caller ids that were already queued and so were skipped. */
  deduped: string[];
}

/** Fills a job type's queue. */
export interface Enqueuer {
  enqueue(jobType: string, items: EnqueueItem[]): Promise<EnqueueResult>;
}

export interface AcquireOptions {
  /** Most items in the chunk (≥ 1). */
  max: number;
  /** Chunk id owning the lease; a new UUID v7 when omitted. */
  owner?: string;
  /** Lease length; the job type's `leaseMs` when omitted. */
  leaseMs?: number;
  /** Leave each payload as its stored JSON text instead of parsing it. @defaultValue false */
  json?: boolean;
}

/** Atomically takes items from a queue and leases them to a chunk. */
export interface Acquirer {
  acquire<P = unknown>(jobType: string, options: AcquireOptions): Promise<Batch<P>>;
}

export interface ReleaseOptions {
  /** Recorded as the items' last error. */
  error?: string;
  /** Delay before the retry, instead of the backoff. */
  delayMs?: number;
  /** false: straight to dead. @defaultValue true */
  retry?: boolean;
}

export interface AckResult {
  acked: number;
  /** Ids this owner no longer holds: nothing was changed for them. */
  notHeld: string[];
}

export interface ReleaseResult {
  retried: number;
  dead: number;
  notHeld: string[];
}

/** Atomically unmarks leased items: done, back to the queue, or dead. */
export interface Releaser {
  ack(jobType: string, owner: string, ids: string[]): Promise<AckResult>;
  release(jobType: string, owner: string, ids: string[], options?: ReleaseOptions): Promise<ReleaseResult>;
}
