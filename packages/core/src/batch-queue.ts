/**
 * BatchQueue: the one-import facade a service uses. It composes the queue
 * roles on one Redis connection — producer (enqueue), Acquirer, Releaser,
 * Supervisor and dead-letter admin (src/queue/) — and delegates to them.
 * Daemons take the roles they need, not this class.
 */
import type { Batch } from "./batch.js";
import { defaults } from "./config/defaults.js";
import { type Keys, makeKeys } from "./keys.js";
import type { Logger } from "./logger.js";
import { RedisAcquirer } from "./queue/acquirer.js";
import { QueueContext, type QueueTypeSettings } from "./queue/context.js";
import { RedisDeadLetters } from "./queue/dead-letters.js";
import { RedisEnqueuer } from "./queue/enqueuer.js";
import { RedisReleaser } from "./queue/releaser.js";
import { RedisSupervisor } from "./queue/supervisor.js";
import type {
  AckResult,
  AcquireOptions,
  Acquirer,
  ActivityGroup,
  BacklogGroup,
  DeadLetterAdmin,
  EnqueueItem,
  EnqueueResult,
  Enqueuer,
  ExtendResult,
  NextChunk,
  ReclaimResult,
  ReleaseOptions,
  ReleaseResult,
  Releaser,
  SettleOutcome,
  SettleRequest,
  SettleResult,
  Supervisor,
} from "./queue-contracts.js";
import type { Backlog, DeadItem, QueueCounts } from "./queue-inspect.js";
import { closeRedis, connectRedis, type RedisClient } from "./redis.js";

export type { QueueTypeSettings } from "./queue/context.js";

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
  /** Where the queue reports what it recovers from (a job type it could not register). @defaultValue a pino logger "batchjob-queue" */
  logger?: Logger;
}

export class BatchQueue implements Enqueuer, Acquirer, Releaser, Supervisor, DeadLetterAdmin {
  readonly client: RedisClient;
  readonly keys: Keys;
  /** The roles, for a caller that wants to hand one on. */
  readonly producer: RedisEnqueuer;
  readonly acquirer: RedisAcquirer;
  readonly releaser: RedisReleaser;
  readonly supervisor: RedisSupervisor;
  readonly deadLetters: RedisDeadLetters;
  private readonly ctx: QueueContext;
  private readonly ownsClient: boolean;

  constructor(options: BatchQueueOptions = {}) {
    const r = options.redis ?? undefined;
    this.ownsClient = typeof r !== "object";
    this.client = typeof r === "object" ? r : connectRedis(r);
    this.keys = makeKeys(options.prefix ?? defaults.prefix);
    this.ctx = new QueueContext(this.client, this.keys, options.defaultSettings, options.logger);
    for (const t of options.jobTypes ?? []) this.ctx.configure(t.name, t);
    this.producer = new RedisEnqueuer(
      this.ctx,
      options.maxPayloadBytes ?? defaults.queue.maxPayloadBytes,
      options.enqueueBatch ?? defaults.queue.enqueueBatch,
    );
    this.acquirer = new RedisAcquirer(this.ctx);
    this.releaser = new RedisReleaser(this.ctx, this.acquirer);
    this.supervisor = new RedisSupervisor(this.ctx);
    this.deadLetters = new RedisDeadLetters(this.ctx);
  }

  /** Sets the retry policy and lease of one job type. */
  configure(jobType: string, settings: Partial<QueueTypeSettings>): void {
    this.ctx.configure(jobType, settings);
  }

  settingsOf(jobType: string): QueueTypeSettings {
    return this.ctx.settingsOf(jobType);
  }

  /**
   * Takes the shard counts of types this queue has no settings for from the
   * config the leader published (an enqueue of such a type does it by
   * itself); for counts, dead letters and waits of sharded types.
   */
  loadPublishedShards(): Promise<void> {
    return this.ctx.loadPublishedShards();
  }

  /** The queue names of every shard of `jobType` (`[jobType]` when it has one). */
  queuesOf(jobType: string): string[] {
    return this.ctx.queuesOf(jobType);
  }

  enqueue(jobType: string, items: EnqueueItem[]): Promise<EnqueueResult> {
    return this.producer.enqueue(jobType, items);
  }

  /** Every job type ever enqueued to, sorted. */
  jobTypes(): Promise<string[]> {
    return this.producer.jobTypes();
  }

  claim(jobType: string, reservationId: string): Promise<boolean> {
    return this.acquirer.claim(jobType, reservationId);
  }

  acquire<P = unknown>(jobType: string, options: AcquireOptions): Promise<Batch<P>> {
    return this.acquirer.acquire<P>(jobType, options);
  }

  waitForItems(jobType: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    return this.acquirer.waitForItems(jobType, timeoutMs, signal);
  }

  wakeNext(jobType: string): Promise<void> {
    return this.acquirer.wakeNext(jobType);
  }

  ack(jobType: string, chunkId: string, ids: string[]): Promise<AckResult> {
    return this.releaser.ack(jobType, chunkId, ids);
  }

  release(jobType: string, chunkId: string, ids: string[], options?: ReleaseOptions): Promise<ReleaseResult> {
    return this.releaser.release(jobType, chunkId, ids, options);
  }

  settle(jobType: string, chunkId: string, outcome: SettleOutcome, next?: NextChunk): Promise<SettleResult> {
    return this.releaser.settle(jobType, chunkId, outcome, next);
  }

  settleMany(jobType: string, settles: readonly SettleRequest[]): Promise<SettleResult[]> {
    return this.releaser.settleMany(jobType, settles);
  }

  extend(jobType: string, chunkId: string, leaseMs?: number): Promise<ExtendResult> {
    return this.releaser.extend(jobType, chunkId, leaseMs);
  }

  returnChunk(jobType: string, chunkId: string, splitDepth?: number): Promise<number> {
    return this.releaser.returnChunk(jobType, chunkId, splitDepth);
  }

  activity(jobTypes: string[]): ActivityGroup[] {
    return this.supervisor.activity(jobTypes);
  }

  backlog(jobType: string, now: number, reservations?: string[]): Promise<Backlog> {
    return this.supervisor.backlog(jobType, now, reservations);
  }

  backlogs(reads: { jobType: string; reservations: string[] }[], now: number): BacklogGroup[] {
    return this.supervisor.backlogs(reads, now);
  }

  counts(jobType: string): Promise<QueueCounts> {
    return this.supervisor.counts(jobType);
  }

  reclaim(jobType: string, options?: { chunkIds?: string[]; limit?: number; reason?: string }): Promise<ReclaimResult> {
    return this.supervisor.reclaim(jobType, options);
  }

  setStopTokens(
    jobType: string,
    target: number,
    running: { listed: string[]; dispatched: number },
  ): Promise<{ tokens: number; leaving: number }> {
    return this.supervisor.setStopTokens(jobType, target, running);
  }

  stopTokens(jobType: string): Promise<number> {
    return this.supervisor.stopTokens(jobType);
  }

  reserve(jobType: string, reservationIds: string[]): Promise<void> {
    return this.supervisor.reserve(jobType, reservationIds);
  }

  dropReservation(jobType: string, reservationId: string): Promise<boolean> {
    return this.supervisor.dropReservation(jobType, reservationId);
  }

  listDead<P = unknown>(jobType: string, options?: { offset?: number; limit?: number }): Promise<DeadItem<P>[]> {
    return this.deadLetters.listDead<P>(jobType, options);
  }

  retryDead(jobType: string, ids?: string[]): Promise<number> {
    return this.deadLetters.retryDead(jobType, ids);
  }

  purgeDead(jobType: string, ids?: string[]): Promise<number> {
    return this.deadLetters.purgeDead(jobType, ids);
  }

  /** Closes the blocking connections of `waitForItems`, and the client when the queue opened it. */
  async close(): Promise<void> {
    await this.acquirer.closeWaits();
    if (this.ownsClient) await closeRedis(this.client);
  }
}
