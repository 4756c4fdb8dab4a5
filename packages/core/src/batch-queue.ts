/**
 * BatchQueue: the Redis implementation of Enqueuer, Acquirer and Releaser,
 * plus counts and the dead-letter operations. It validates input before any
 * write (so a failing enqueue writes nothing), runs one Lua script per state
 * change, and decodes payloads on the way out.
 */
import { type Batch, newChunkId, type QueueItem } from "./batch.js";
import { defaults } from "./config/defaults.js";
import { encodeItems } from "./enqueue-input.js";
import { InvalidArgumentError } from "./errors.js";
import { type Keys, makeKeys, type TypeKeys } from "./keys.js";
import type {
  AckResult,
  AcquireOptions,
  Acquirer,
  EnqueueItem,
  EnqueueResult,
  Enqueuer,
  ReleaseOptions,
  ReleaseResult,
  Releaser,
} from "./queue-contracts.js";
import { type Backlog, type DeadItem, deadAction, type QueueCounts, readCounts, readDead } from "./queue-inspect.js";
import { connectRedis, execReplies, isCluster, type RedisClient } from "./redis.js";
import {
  ackScript,
  acquireScript,
  backlogScript,
  enqueueArgs,
  enqueueKeys,
  extendScript,
  parseEnqueueReply,
  type RawChunk,
  type RetryPolicy,
  reclaimScript,
  releaseScript,
  returnChunkScript,
  runScript,
  type SettleFailure,
  settleScript,
  stopTokensScript,
} from "./scripts/commands.js";
import { commandName, scriptCommand } from "./scripts/loader.js";

/** The per-type settings the queue itself needs. */
export interface QueueTypeSettings extends RetryPolicy {
  leaseMs: number;
}

export interface BatchQueueOptions {
  /** A client (not closed by `close()`) or a URL (connected and closed here). @defaultValue "redis://127.0.0.1:6379" */
  redis?: RedisClient | string;
  /** @defaultValue "bj" */
  prefix?: string;
  /** @defaultValue 524288 */
  maxPayloadBytes?: number;
  /** Items per Lua call of an enqueue. @defaultValue 5000 */
  enqueueBatch?: number;
  /** Settings per job type; types not named get `defaultSettings`. */
  jobTypes?: Array<{ name: string } & Partial<QueueTypeSettings>>;
  /** Settings of unnamed types. @defaultValue the job type defaults */
  defaultSettings?: Partial<QueueTypeSettings>;
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

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be an integer ≥ 1, got ${String(value)}`);
  }
  return value;
}

/** Generated ids reserved per round trip. */
const ID_BLOCK = 10_000;

function uniqueIds(ids: string[]): string[] {
  return ids.length < 2 ? ids : [...new Set(ids)];
}

export class BatchQueue implements Enqueuer, Acquirer, Releaser {
  readonly client: RedisClient;
  readonly keys: Keys;
  private readonly ownsClient: boolean;
  private readonly maxPayloadBytes: number;
  private readonly enqueueBatch: number;
  private readonly settings = new Map<string, QueueTypeSettings>();
  private readonly fallback: QueueTypeSettings;
  private readonly registered = new Set<string>();
  private readonly idBlocks = new Map<string, { next: number; end: number }>();

  constructor(options: BatchQueueOptions = {}) {
    const r = options.redis ?? undefined;
    this.ownsClient = typeof r !== "object";
    this.client = typeof r === "object" ? r : connectRedis(r);
    this.keys = makeKeys(options.prefix ?? defaults.prefix);
    this.maxPayloadBytes = options.maxPayloadBytes ?? defaults.queue.maxPayloadBytes;
    this.enqueueBatch = options.enqueueBatch ?? defaults.queue.enqueueBatch;
    const d = defaults.jobType;
    this.fallback = {
      maxAttempts: d.maxAttempts,
      maxReturns: d.maxReturns,
      backoff: { ...d.backoff },
      leaseMs: d.leaseMs,
      ...options.defaultSettings,
    };
    for (const t of options.jobTypes ?? []) this.configure(t.name, t);
  }

  /** Sets the retry policy and lease of one job type. */
  configure(jobType: string, settings: Partial<QueueTypeSettings>): void {
    this.keys.type(jobType);
    this.settings.set(jobType, { ...this.settingsOf(jobType), ...settings });
  }

  settingsOf(jobType: string): QueueTypeSettings {
    return this.settings.get(jobType) ?? this.fallback;
  }

  /**
   * Adds items in bulk. Every item is checked first; one bad item fails the
   * call before anything is written. Without caller ids, the ids are reserved
   * with INCRBY and the entries pushed in one MULTI (no Lua: the fastest
   * path); with caller ids, the enqueue script dedupes them. Either way a
   * call of more than `enqueueBatch` items lands in one MULTI.
   */
  async enqueue(jobType: string, items: EnqueueItem[]): Promise<EnqueueResult> {
    const k = this.keys.type(jobType);
    if (!Array.isArray(items)) throw new InvalidArgumentError("enqueue expects an array of {id?, payload}");
    const n = items.length;
    const { ids, payloads, callerIds } = encodeItems(items, this.maxPayloadBytes);
    if (n === 0) return { added: 0, ids: [], deduped: [] };
    await this.registerType(jobType);
    const ranges: [number, number][] = [];
    for (let i = 0; i < n; i += this.enqueueBatch) ranges.push([i, Math.min(n, i + this.enqueueBatch)]);
    if (callerIds === 0) return this.enqueueGenerated(jobType, k, payloads, ranges);

    const keys = enqueueKeys(k);
    const replies: unknown[] = [];
    if (ranges.length === 1) {
      replies.push(await runScript(this.client, "enqueue", keys, enqueueArgs(ids, payloads, 0, n)));
    } else {
      scriptCommand(this.client, "enqueue");
      const multi = this.client.multi();
      const cmd = commandName("enqueue");
      // defined commands are methods of the pipeline too, named by the command
      const table = multi as unknown as Record<string, (...a: (string | number)[]) => unknown>;
      for (const [from, to] of ranges) table[cmd]?.call(multi, ...keys, ...enqueueArgs(ids, payloads, from, to));
      replies.push(...execReplies(await multi.exec(), "enqueue"));
    }
    const deduped: string[] = [];
    let added = 0;
    replies.forEach((raw, r) => {
      const reply = parseEnqueueReply(raw);
      added += reply.added;
      deduped.push(...reply.deduped);
      let seq = reply.firstSeq;
      const [from, to] = ranges[r] as [number, number];
      for (let i = from; i < to; i++) if (ids[i] === "") ids[i] = `#${seq++}`;
    });
    if (added > 0) await this.touch(jobType, added);
    return { added, ids, deduped };
  }

  /**
   * Generated ids come from the type's shared counter in blocks of at least
   * ID_BLOCK, so most enqueue calls need no round trip for them. Ids stay
   * unique; a block a process does not use up is a gap, nothing more.
   */
  private async reserveIds(jobType: string, k: TypeKeys, n: number): Promise<number> {
    const block = this.idBlocks.get(jobType);
    if (block && block.end - block.next + 1 >= n) {
      const first = block.next;
      block.next += n;
      return first;
    }
    const size = Math.max(n, ID_BLOCK);
    const end = await this.client.incrby(k.seq, size);
    const first = end - size + 1;
    this.idBlocks.set(jobType, { next: first + n, end });
    return first;
  }

  /**
   * Counts activity of a type in `bj:activity`, after the items are in (its
   * own command: another cluster slot), so the manager can skip reading the
   * queues of types that stayed idle.
   */
  private async touch(jobType: string, n: number): Promise<void> {
    await this.client.hincrby(this.keys.activity, jobType, n);
  }

  private async enqueueGenerated(
    jobType: string,
    k: TypeKeys,
    payloads: string[],
    ranges: [number, number][],
  ): Promise<EnqueueResult> {
    const n = payloads.length;
    const first = await this.reserveIds(jobType, k, n);
    const ids = new Array<string>(n);
    const entries = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const id = `#${first + i}`;
      ids[i] = id;
      entries[i] = `${id}\t${payloads[i]}`;
    }
    const multi = this.client.multi();
    for (const [from, to] of ranges) multi.rpush(k.pending, ...entries.slice(from, to));
    multi.hincrby(k.stats, "enqueued", n);
    const pushed = multi.exec();
    if (isCluster(this.client)) {
      execReplies(await pushed, "enqueue");
      await this.touch(jobType, n);
    } else {
      // one connection runs its commands in order: the touch lands after the items without a round trip of its own
      const [replies] = await Promise.all([pushed, this.touch(jobType, n)]);
      execReplies(replies, "enqueue");
    }
    return { added: n, ids, deduped: [] };
  }

  private async registerType(jobType: string): Promise<void> {
    if (this.registered.has(jobType)) return;
    await this.client.sadd(this.keys.types, jobType);
    this.registered.add(jobType);
  }

  /** Leases up to `max` items to a chunk. An empty queue gives a batch of size 0. */
  async acquire<P = unknown>(jobType: string, options: AcquireOptions): Promise<Batch<P>> {
    const k = this.keys.type(jobType);
    const max = positiveInt("max", options?.max);
    const leaseMs = positiveInt("leaseMs", options.leaseMs ?? this.settingsOf(jobType).leaseMs);
    const owner = options.owner ?? newChunkId();
    const raw = await acquireScript(this.client, k, owner, max, leaseMs);
    return this.toBatch<P>(jobType, k, owner, raw, options.json === true);
  }

  /**
   * The batch of a script reply. Payloads are parsed, unless `json`: then
   * each payload stays the JSON text it is stored as (a launcher that hands
   * the chunk to another process passes it on without parsing it here).
   */
  private async toBatch<P>(
    jobType: string,
    k: TypeKeys,
    owner: string,
    raw: RawChunk,
    json = false,
  ): Promise<Batch<P>> {
    const items: QueueItem<P>[] = [];
    const bad: string[] = [];
    for (let i = 0; i < raw.ids.length; i++) {
      const id = raw.ids[i] as string;
      const text = raw.payloads[i] as string;
      try {
        // parsed in JSON mode too: one corrupt payload must not spoil the document of a whole chunk
        const value = JSON.parse(text) as P;
        items.push({ id, payload: json ? (text as P) : value, attempts: raw.attempts[i] ?? 0 });
      } catch {
        bad.push(id);
      }
    }
    if (bad.length > 0) {
      // payloads written around the API: dead at once, never lost and never retried forever
      const fail = { retry: false, delayMs: -1, error: "stored payload is not valid JSON" };
      await releaseScript(this.client, k, owner, bad, this.settingsOf(jobType), fail);
    }
    const batch: Batch<P> = { id: owner, jobType, items, size: items.length, leaseDeadline: raw.leaseDeadline };
    if (raw.splitDepth > 0) batch.splitDepth = raw.splitDepth;
    return batch;
  }

  private failArgs(f: { error?: string; retry?: boolean; delayMs?: number }) {
    const delayMs = f.delayMs ?? -1;
    if (!Number.isFinite(delayMs)) throw new InvalidArgumentError(`delayMs must be a number, got ${String(f.delayMs)}`);
    return { retry: f.retry !== false, delayMs: Math.max(-1, Math.round(delayMs)), error: f.error ?? "released" };
  }

  async ack(jobType: string, owner: string, ids: string[]): Promise<AckResult> {
    const k = this.keys.type(jobType);
    if (ids.length === 0) return { acked: 0, notHeld: [] };
    return ackScript(this.client, k, owner, uniqueIds(ids));
  }

  async release(jobType: string, owner: string, ids: string[], options: ReleaseOptions = {}): Promise<ReleaseResult> {
    const k = this.keys.type(jobType);
    if (ids.length === 0) return { retried: 0, dead: 0, notHeld: [] };
    return releaseScript(this.client, k, owner, uniqueIds(ids), this.settingsOf(jobType), this.failArgs(options));
  }

  /**
   * The worker's hot path in one round trip: settles the items of chunk
   * `owner` (see SettleOutcome) and, when `next` is given, acquires the next
   * chunk or takes a stop token for worker `next.workerId`.
   */
  async settle(
    jobType: string,
    owner: string,
    outcome: SettleOutcome,
    next?: { max: number; owner?: string; leaseMs?: number; json?: boolean; workerId?: string },
  ): Promise<SettleResult> {
    const k = this.keys.type(jobType);
    const fail: SettleFailure[] = (outcome.fail ?? []).map((f) => ({
      id: f.id,
      ...this.failArgs(f),
      how: f.how ?? "reported by the job",
    }));
    const nextArgs = next
      ? {
          owner: next.owner ?? newChunkId(),
          max: positiveInt("max", next.max),
          leaseMs: positiveInt("leaseMs", next.leaseMs ?? this.settingsOf(jobType).leaseMs),
        }
      : null;
    const raw = await settleScript(
      this.client,
      k,
      owner,
      next?.workerId ?? owner,
      {
        ack: uniqueIds(outcome.ack ?? []),
        fail,
        giveBack: uniqueIds(outcome.giveBack?.ids ?? []),
        giveBackReason: outcome.giveBack?.reason ?? "returned",
        requeue: uniqueIds(outcome.requeue ?? []),
        split: uniqueIds(outcome.split?.ids ?? []),
        splitDepth: outcome.split?.depth ?? 1,
      },
      this.settingsOf(jobType),
      nextArgs,
    );
    const nextBatch =
      nextArgs && raw.next.ids.length > 0
        ? await this.toBatch(jobType, k, nextArgs.owner, raw.next, next?.json === true)
        : null;
    return {
      acked: raw.acked,
      retried: raw.retried,
      dead: raw.dead,
      returned: raw.returned,
      notHeld: raw.notHeld,
      next: nextBatch,
      stopped: raw.stopped,
    };
  }

  /**
   * Hands back a chunk that never started, counting no attempt or return: to
   * the head of pending, or, for a split group (`splitDepth` > 0), whole to
   * the head of the groups so it stays isolated.
   */
  async returnChunk(jobType: string, owner: string, splitDepth = 0): Promise<number> {
    return returnChunkScript(this.client, this.keys.type(jobType), owner, splitDepth);
  }

  /**
   * Sets the stop tokens of a type from what runs now: the listed workers
   * (by id) minus those already leaving (they took a token), plus dispatched
   * ones not listed yet, above `target`. Atomic with workers taking tokens.
   */
  async setStopTokens(
    jobType: string,
    target: number,
    running: { listed: string[]; dispatched: number },
  ): Promise<{ tokens: number; leaving: number }> {
    return stopTokensScript(this.client, this.keys.type(jobType), target, running.dispatched, running.listed);
  }

  /** Records a reservation the manager dispatches: counted as a starting worker until one takes it. */
  async reserve(jobType: string, reservationIds: string[]): Promise<void> {
    if (reservationIds.length === 0) return;
    const k = this.keys.type(jobType);
    execReplies(
      await this.client
        .multi()
        .sadd(k.reserved, ...reservationIds)
        .pexpire(k.reserved, 300_000)
        .exec(),
      "reserve",
    );
  }

  /** A worker takes its reservation (or drops one it refuses); false when it was no longer waiting. */
  async claim(jobType: string, reservationId: string): Promise<boolean> {
    return (await this.client.srem(this.keys.type(jobType).reserved, reservationId)) === 1;
  }

  async stopTokens(jobType: string): Promise<number> {
    return Number((await this.client.get(this.keys.type(jobType).stop)) ?? 0);
  }

  /** Renews the lease of chunk `owner` while it holds any item; O(1). */
  async extend(jobType: string, owner: string, leaseMs?: number): Promise<ExtendResult> {
    const k = this.keys.type(jobType);
    const ms = positiveInt("leaseMs", leaseMs ?? this.settingsOf(jobType).leaseMs);
    return extendScript(this.client, k, owner, ms);
  }

  /**
   * Gives back the items of expired leases (or of the named chunks, at once)
   * without charging an attempt: their holder died, froze or lost Redis.
   * Each call handles about `limit` items (one chunk at least); loops until done.
   */
  async reclaim(
    jobType: string,
    options: { owners?: string[]; limit?: number; reason?: string } = {},
  ): Promise<{ chunks: number; returned: number; dead: number }> {
    const k = this.keys.type(jobType);
    const limit = positiveInt("limit", options.limit ?? 5000);
    const policy = this.settingsOf(jobType);
    const message = options.reason ?? "lease expired";
    const total = { chunks: 0, returned: 0, dead: 0 };
    let owners = options.owners;
    for (;;) {
      const r = await reclaimScript(this.client, k, policy, limit, message, owners?.slice(0, 1000) ?? []);
      total.chunks += r.chunks;
      total.returned += r.returned;
      total.dead += r.dead;
      if (owners) {
        // named chunks: the script went as far as its item budget allowed
        owners = owners.slice(Math.max(1, r.handled));
        if (owners.length === 0) return total;
      } else if (!r.more || r.chunks === 0) return total;
    }
  }

  async counts(jobType: string): Promise<QueueCounts> {
    return readCounts(this.client, this.keys.type(jobType));
  }

  /**
   * What a planner needs of one type, in one script call (a client with
   * auto-pipelining batches the calls of many types): items ready to run
   * (pending, plus delayed retries due by `now`, which the next acquire
   * promotes), the earliest lease deadline (null when no chunk holds one),
   * delayed items in all; and which of `chunkIds` still hold a lease.
   */
  async backlog(jobType: string, now: number, chunkIds: string[] = []): Promise<Backlog> {
    return backlogScript(this.client, this.keys.type(jobType), now, chunkIds);
  }

  /** Dead items, newest first. */
  async listDead<P = unknown>(
    jobType: string,
    options: { offset?: number; limit?: number } = {},
  ): Promise<DeadItem<P>[]> {
    const limit = positiveInt("limit", options.limit ?? 50);
    return readDead<P>(this.client, this.keys.type(jobType), options.offset ?? 0, limit);
  }

  /** Moves dead items back to pending with fresh attempts: the named ones, or all. */
  async retryDead(jobType: string, ids?: string[]): Promise<number> {
    const n = await deadAction(this.client, this.keys.type(jobType), "dead-retry", ids);
    if (n > 0) await this.touch(jobType, n);
    return n;
  }

  /** Deletes dead items for good: the named ones, or all. */
  async purgeDead(jobType: string, ids?: string[]): Promise<number> {
    return deadAction(this.client, this.keys.type(jobType), "dead-purge", ids);
  }

  /** Every job type ever enqueued to, sorted. */
  async jobTypes(): Promise<string[]> {
    return (await this.client.smembers(this.keys.types)).sort();
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}
