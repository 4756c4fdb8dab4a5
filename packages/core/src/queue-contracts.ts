/**
 * The concept's queue roles, named after its words: the producer
 * (`Enqueuer`), the `Acquirer`, the `Releaser`, the manager's `Supervisor`
 * and `DeadLetterAdmin`. `BatchQueue` implements them all on Redis as the
 * one-import facade for services; the daemons depend on the roles they use.
 * A chunk is named by its chunk id everywhere (`Batch.id` is that id).
 */
import type { Batch } from "./batch.js";
import type { Backlog, DeadItem, QueueCounts } from "./queue-inspect.js";

export interface EnqueueItem {
  /** A caller id dedupes: an item whose id is still queued is skipped. Must not start with '#'. */
  id?: string;
  payload: unknown;
  /**
   * Ordering key of a type spread over shards (`shards` > 1): items with the
   * same key go to the same shard, so they keep their order there (a caller
   * id picks the shard when no key is given). Ignored with one shard.
   */
  key?: string;
}

export interface EnqueueResult {
  /** Items added (not counting deduped ones). */
  added: number;
  /** The id of each input item, in input order (deduped ones included). */
  ids: string[];
  /** Caller ids that were already queued and so were skipped. */
  deduped: string[];
}

/** The producer: fills a job type's queue. */
export interface Enqueuer {
  enqueue(jobType: string, items: EnqueueItem[]): Promise<EnqueueResult>;
}

export interface AcquireOptions {
  /** Most items in the chunk (≥ 1). */
  max: number;
  /** The chunk id holding the lease; a new UUID v7 when omitted. */
  chunkId?: string;
  /** Lease length; the job type's `leaseMs` when omitted. */
  leaseMs?: number;
  /**
   * Leave each payload as its stored JSON text instead of parsing it (`true`:
   * still checked to be JSON, one that is not is dead at once; `"unchecked"`:
   * not parsed at all, for a consumer that parses each payload itself and
   * fails one that is not JSON: the fork launcher's child). @defaultValue false
   */
  json?: PayloadText;
}

/** How a chunk's payloads come: parsed (false), as stored JSON text checked to parse (true), or unchecked text. */
export type PayloadText = boolean | "unchecked";

/** Takes work: a dispatched reservation, then chunks of items under a lease; waits for more when there is none. */
export interface Acquirer {
  /** Takes a reservation (or drops one the worker refuses); false when it was no longer waiting. */
  claim(jobType: string, reservationId: string): Promise<boolean>;
  acquire<P = unknown>(jobType: string, options: AcquireOptions): Promise<Batch<P>>;
  /**
   * Blocks until an enqueue of `jobType` signals its wake list (true), or
   * `timeoutMs` passes, `signal` aborts or the wait fails (false): how a
   * drained worker lingers for new items (#12), on a connection of its own.
   */
  waitForItems(jobType: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Passes a wake signal on to the next lingering worker of `jobType` (as an enqueue does). */
  wakeNext(jobType: string): Promise<void>;
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
  /** Ids this chunk no longer holds: nothing was changed for them. */
  notHeld: string[];
}

export interface ReleaseResult {
  retried: number;
  dead: number;
  notHeld: string[];
}

export interface ItemFailure {
  id: string;
  error: string;
  /** @defaultValue true */
  retry?: boolean;
  delayMs?: number;
  /** How the failure was pinned on this item, kept in its failure record. @defaultValue "reported by the job" */
  how?: string;
}

/**
 * What a settle does with a chunk's items, by whose fault each outcome is.
 * Only `fail` charges an attempt.
 */
export interface SettleOutcome {
  ack?: string[];
  /** Charged a failed attempt each (the item could have caused the failure). */
  fail?: ItemFailure[];
  /** Handed back through no fault of their own (host or daemon going away): returns + 1, no attempt. */
  giveBack?: { ids: string[]; reason: string };
  /** Back to the head of pending uncounted (they never started). */
  requeue?: string[];
  /** The chunk failed as a whole with no known culprit: these run again as two chunks of their own. */
  split?: { ids: string[]; depth: number };
  /** How long the chunk ran (ms), counted in the minute's metrics when the settle ends the chunk. */
  runMs?: number;
  /**
   * `ack` lists every item of the chunk and nothing else is settled: the
   * script acks whatever the chunk still holds without matching ids (a
   * faster settle). Ignored when anything but `ack` is given.
   */
  whole?: boolean;
}

/** The next chunk a settle acquires in the same round trip. */
export interface NextChunk {
  max: number;
  /** Fixed before the first try, so a retried settle gets the chunk it already took. */
  chunkId?: string;
  leaseMs?: number;
  json?: PayloadText;
  /** The worker asking: named in `stopping` when it takes a stop token instead. */
  workerId?: string;
}

/** One settle of `settleMany`: a chunk, its outcome, and the next chunk it asks for. */
export interface SettleRequest {
  chunkId: string;
  outcome: SettleOutcome;
  next?: NextChunk;
}

export interface SettleResult {
  acked: number;
  retried: number;
  dead: number;
  /** Items given back, requeued or split: no attempt charged. */
  returned: number;
  notHeld: string[];
  /** The next chunk, when one was asked for and items were pending. */
  next: Batch | null;
  /** A next chunk was asked for, but a stop token was taken instead (scale down). */
  stopped: boolean;
}

export interface ExtendResult {
  /** Items the chunk still holds; 0 means the lease is gone. */
  held: number;
  leaseDeadline: number;
}

/** Ends a chunk's hold on its items, fenced by chunk id. */
export interface Releaser {
  ack(jobType: string, chunkId: string, ids: string[]): Promise<AckResult>;
  release(jobType: string, chunkId: string, ids: string[], options?: ReleaseOptions): Promise<ReleaseResult>;
  settle(jobType: string, chunkId: string, outcome: SettleOutcome, next?: NextChunk): Promise<SettleResult>;
  /** Several settles of chunks that `jobType` (a type or one shard) holds, in one round trip, in order. */
  settleMany(jobType: string, settles: readonly SettleRequest[]): Promise<SettleResult[]>;
  extend(jobType: string, chunkId: string, leaseMs?: number): Promise<ExtendResult>;
  returnChunk(jobType: string, chunkId: string, splitDepth?: number): Promise<number>;
}

export interface ReclaimResult {
  chunks: number;
  returned: number;
  dead: number;
}

/** What the manager needs of the queues. */
/**
 * The activity counts of some job types that are read together (one command):
 * all of them on one Redis, those of one hash slot on a cluster. Each count
 * is items enqueued or revived, ever (null: none yet), in the order of
 * `jobTypes`, or the error of that type alone.
 */
export interface ActivityGroup {
  jobTypes: string[];
  counts: Promise<(string | null | Error)[]>;
}

/**
 * The backlogs of some job types read together (one script call): up to a
 * few hundred types on one Redis, those of one hash slot on a cluster. In
 * the order of `jobTypes`, each type's backlog or the error of that type alone.
 */
export interface BacklogGroup {
  jobTypes: string[];
  backlogs: Promise<(Backlog | Error)[]>;
}

export interface Supervisor {
  /**
   * The activity counts of `jobTypes`, in groups that answer together (one
   * on one Redis, one per slot on a cluster), so a type whose slot is down
   * fails with its slot alone. An idle type whose count did not move need
   * not be read again.
   */
  activity(jobTypes: string[]): ActivityGroup[];
  backlog(jobType: string, now: number, reservations?: string[]): Promise<Backlog>;
  /**
   * The backlogs of many types, in groups that answer together (see
   * BacklogGroup); each read names the reservations to check for its type.
   */
  backlogs(reads: { jobType: string; reservations: string[] }[], now: number): BacklogGroup[];
  counts(jobType: string): Promise<QueueCounts>;
  reclaim(jobType: string, options?: { chunkIds?: string[]; limit?: number; reason?: string }): Promise<ReclaimResult>;
  setStopTokens(
    jobType: string,
    target: number,
    running: { listed: string[]; dispatched: number },
  ): Promise<{ tokens: number; leaving: number }>;
  reserve(jobType: string, reservationIds: string[]): Promise<void>;
  dropReservation(jobType: string, reservationId: string): Promise<boolean>;
}

/** Dead letters: list, retry, purge. */
export interface DeadLetterAdmin {
  listDead<P = unknown>(jobType: string, options?: { offset?: number; limit?: number }): Promise<DeadItem<P>[]>;
  retryDead(jobType: string, ids?: string[]): Promise<number>;
  purgeDead(jobType: string, ids?: string[]): Promise<number>;
}
