/**
 * The Releaser role: ends a chunk's hold on its items, fenced by chunk id
 * (a chunk whose lease was reclaimed changes nothing). `settle` is the
 * worker's hot path: it settles each item by whose fault its outcome is and
 * acquires the next chunk (or takes a stop token) in one round trip.
 * Every call names the queue that holds the chunk: the type, or for a type
 * spread over shards (#12) the shard it came from (`chunkQueue(batch)`). A
 * settle on a shard other than 0 takes a stop token from shard 0 after it
 * (the tokens live there; at most every STOP_CHECK_MS per type, so shard 0's
 * master does not serve a call for every chunk of every shard), and a
 * settle whose shard ran dry takes the next chunk from the other shards (steal).
 */
import type { Batch } from "../batch.js";
import { parseQueueName, type TypeKeys } from "../keys.js";
import type {
  AckResult,
  ExtendResult,
  NextChunk,
  PayloadText,
  ReleaseOptions,
  ReleaseResult,
  Releaser,
  SettleOutcome,
  SettleRequest,
  SettleResult,
} from "../queue-contracts.js";
import {
  ackScript,
  extendScript,
  type RawSettleReply,
  releaseScript,
  returnChunkScript,
  type SettleCall,
  type SettleFailure,
  type SettleItems,
  settleScript,
  takeStopScript,
} from "../scripts/commands.js";
import type { RedisAcquirer } from "./acquirer.js";
import {
  chunkIdOr,
  failArgs,
  metricsWindowMs,
  payloadText,
  positiveInt,
  type QueueContext,
  uniqueIds,
} from "./context.js";

/** How often a process's settles on shards other than 0 look for a stop token of their type in shard 0 (ms). */
export const STOP_CHECK_MS = 100;

/** The items of a settle as the script takes them: ids unique, a whole-chunk ack when every item is acked. */
function settleItemsOf(outcome: SettleOutcome): SettleItems {
  const fail: SettleFailure[] = (outcome.fail ?? []).map((f) => ({
    id: f.id,
    ...failArgs(f),
    how: f.how ?? "reported by the job",
  }));
  const onlyAcks =
    fail.length === 0 && !outcome.giveBack?.ids.length && !outcome.requeue?.length && !outcome.split?.ids.length;
  const ackAll = outcome.whole === true && onlyAcks && (outcome.ack?.length ?? 0) > 0;
  // a whole-chunk ack sends no ids: they are made unique only if named back (nothing was held)
  const ack = ackAll ? (outcome.ack as string[]) : uniqueIds(outcome.ack ?? []);
  return {
    ack,
    ackAll,
    fail,
    giveBack: uniqueIds(outcome.giveBack?.ids ?? []),
    giveBackReason: outcome.giveBack?.reason ?? "returned",
    requeue: uniqueIds(outcome.requeue ?? []),
    split: uniqueIds(outcome.split?.ids ?? []),
    splitDepth: outcome.split?.depth ?? 1,
  };
}

/** A chunk's run time as the metrics take it: whole ms, -1 when not given or not a time. */
function runMsOf(runMs: number | undefined): number {
  return runMs !== undefined && Number.isFinite(runMs) && runMs >= 0 ? Math.round(runMs) : -1;
}

export class RedisReleaser implements Releaser {
  /** When a settle on a shard other than 0 last looked for a stop token, per type (performance.now()). */
  private readonly stopCheckedAt = new Map<string, number>();

  /** `acquirer`: where a settle on a shard that ran dry takes its next chunk from the others. */
  constructor(
    private readonly ctx: QueueContext,
    private readonly acquirer?: RedisAcquirer,
  ) {}

  async ack(jobType: string, chunkId: string, ids: string[]): Promise<AckResult> {
    const k = this.ctx.keys.type(jobType);
    if (ids.length === 0) return { acked: 0, notHeld: [] };
    return ackScript(this.ctx.client, k, chunkId, uniqueIds(ids));
  }

  /** Charges a failed attempt to items the chunk still holds. */
  async release(jobType: string, chunkId: string, ids: string[], options: ReleaseOptions = {}): Promise<ReleaseResult> {
    const k = this.ctx.keys.type(jobType);
    if (ids.length === 0) return { retried: 0, dead: 0, notHeld: [] };
    const policy = this.ctx.settingsOf(jobType);
    return releaseScript(this.ctx.client, k, chunkId, uniqueIds(ids), policy, failArgs(options));
  }

  /**
   * Settles the items of `chunkId` (see SettleOutcome) and, when `next` is
   * given, acquires the next chunk or takes a stop token for worker
   * `next.workerId`, in one round trip.
   */
  async settle(jobType: string, chunkId: string, outcome: SettleOutcome, next?: NextChunk): Promise<SettleResult> {
    const [r] = await this.settleMany(jobType, [{ chunkId, outcome, ...(next ? { next } : {}) }]);
    return r as SettleResult;
  }

  /**
   * Several settles of one worker's chunks in `jobType` (the queue that holds
   * them all) in one script call (#12): one round trip and one write for a
   * worker of tiny chunks that ended close together. Each does what `settle`
   * does, in order; once one takes a stop token, the later ones settle only.
   */
  async settleMany(jobType: string, settles: readonly SettleRequest[]): Promise<SettleResult[]> {
    if (settles.length === 0) return [];
    const k = this.ctx.keys.type(jobType);
    const policy = this.ctx.settingsOf(jobType);
    const calls = settles.map(
      ({ chunkId, outcome, next }): SettleCall => ({
        owner: chunkId,
        workerId: next?.workerId ?? chunkId,
        items: settleItemsOf(outcome),
        next: next
          ? {
              owner: chunkIdOr(next.chunkId),
              max: positiveInt("max", next.max),
              leaseMs: this.ctx.leaseOf(jobType, next.leaseMs),
            }
          : null,
        runMs: runMsOf(outcome.runMs),
      }),
    );
    const raws = await settleScript(this.ctx.client, k, policy, metricsWindowMs(policy), calls);
    // the settles are done: nothing after them may throw (a retry would find their items settled)
    const out: SettleResult[] = [];
    const shard = jobType.includes("#") ? parseQueueName(jobType) : null;
    for (const [i, raw] of raws.entries())
      out.push(await this.afterSettle(jobType, k, shard, settles[i] as SettleRequest, calls[i] as SettleCall, raw));
    return out;
  }

  /**
   * What a settle that went through still does: take a stop token in shard 0
   * for a chunk of another shard, read the next chunk, or steal one. A
   * failure here is logged and the worker goes on as if no token was there,
   * no chunk could be stolen, or the chunk comes back at lease expiry.
   */
  private async afterSettle(
    jobType: string,
    k: TypeKeys,
    shard: { jobType: string; shard: number } | null,
    { chunkId, next }: SettleRequest,
    call: SettleCall,
    raw: RawSettleReply,
  ): Promise<SettleResult> {
    const nextArgs = call.next;
    // the stop tokens are shard 0's: a settle on another shard takes one after it
    const stoppedHere =
      nextArgs && shard && shard.shard > 0 && this.stopCheckDue(shard.jobType)
        ? await takeStopScript(this.ctx.client, this.ctx.keys.type(shard.jobType), call.workerId).catch(
            (err: unknown) =>
              this.afterSettleFailed(err, "could not look for a stop token in shard 0", jobType, chunkId, false),
          )
        : false;
    const stopped = raw.stopped || stoppedHere;
    let nextBatch: Batch | null = null;
    if (nextArgs && raw.next.entries.length > 0) {
      if (stoppedHere) {
        // taken before the stop token was seen: back to the head of its shard, uncharged
        await returnChunkScript(this.ctx.client, k, nextArgs.owner, raw.next.splitDepth).catch((err: unknown) =>
          this.afterSettleFailed(err, "could not hand back the next chunk", jobType, nextArgs.owner, 0),
        );
      }
      // reading it charges a payload that is not JSON (a call): when that fails, the chunk comes back at lease expiry
      else
        nextBatch = await this.ctx
          .toBatch(jobType, k, nextArgs.owner, raw.next, payloadText(next?.json))
          .catch((err: unknown) =>
            this.afterSettleFailed(err, "could not read the next chunk", jobType, nextArgs.owner, null),
          );
    } else if (nextArgs && !stopped && this.acquirer) {
      nextBatch = await this.steal(jobType, nextArgs, payloadText(next?.json)).catch((err: unknown) =>
        this.afterSettleFailed(err, "could not take a chunk from the other shards", jobType, nextArgs.owner, null),
      );
    }
    const { acked, retried, dead, returned } = raw;
    // acked whole and nothing was held: the chunk was taken back before (its ids, as a matched ack names them)
    const notHeld = call.items.ackAll && acked === 0 ? uniqueIds(call.items.ack) : raw.notHeld;
    return { acked, retried, dead, returned, notHeld, next: nextBatch, stopped };
  }

  /** Logs a failure of a call made after a settle that went through, and gives `fallback` in its place. */
  private afterSettleFailed<T>(err: unknown, what: string, queue: string, chunkId: string, fallback: T): T {
    this.ctx.log.warn({ err, queue, chunkId }, `${what} after a settle; going on without it`);
    return fallback;
  }

  /** Whether a settle of `jobType` on a shard other than 0 looks for a stop token now (and when it last did). */
  private stopCheckDue(jobType: string): boolean {
    const now = performance.now();
    if (now - (this.stopCheckedAt.get(jobType) ?? Number.NEGATIVE_INFINITY) < STOP_CHECK_MS) return false;
    this.stopCheckedAt.set(jobType, now);
    return true;
  }

  /**
   * The next chunk of a worker whose shard `queue` ran dry: from the other
   * shards of its type, in turn after it; null when they are empty too (or
   * the type has one shard).
   */
  private async steal(
    queue: string,
    next: { owner: string; max: number; leaseMs: number },
    json: PayloadText,
  ): Promise<Batch | null> {
    const jobType = this.ctx.typeOf(queue);
    const queues = this.ctx.queuesOf(jobType);
    if (queues.length === 1 || !this.acquirer) return null;
    const from = queues.indexOf(queue);
    const others = queues.filter((q) => q !== queue);
    const batch = await this.acquirer.acquireAny(others, Math.max(0, from), next.owner, next.max, {
      leaseMs: next.leaseMs,
      json,
    });
    return batch.size > 0 ? batch : null;
  }

  /** Renews the lease of `chunkId` while it holds any item; O(1). */
  async extend(jobType: string, chunkId: string, leaseMs?: number): Promise<ExtendResult> {
    return extendScript(this.ctx.client, this.ctx.keys.type(jobType), chunkId, this.ctx.leaseOf(jobType, leaseMs));
  }

  /**
   * Hands back a chunk that never started, counting no attempt or return: to
   * the head of pending, or, for a split group (`splitDepth` > 0), whole to
   * the head of the groups so it stays isolated.
   */
  async returnChunk(jobType: string, chunkId: string, splitDepth = 0): Promise<number> {
    return returnChunkScript(this.ctx.client, this.ctx.keys.type(jobType), chunkId, splitDepth);
  }
}
