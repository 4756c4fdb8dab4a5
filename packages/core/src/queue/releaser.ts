/**
 * The Releaser role: ends a chunk's hold on its items, fenced by chunk id
 * (a chunk whose lease was reclaimed changes nothing). `settle` is the
 * worker's hot path: it settles each item by whose fault its outcome is and
 * acquires the next chunk (or takes a stop token) in one round trip.
 */
import type { Batch } from "../batch.js";
import type {
  AckResult,
  ExtendResult,
  NextChunk,
  ReleaseOptions,
  ReleaseResult,
  Releaser,
  SettleOutcome,
  SettleResult,
} from "../queue-contracts.js";
import {
  ackScript,
  extendScript,
  releaseScript,
  returnChunkScript,
  type SettleFailure,
  settleScript,
} from "../scripts/commands.js";
import { chunkIdOr, failArgs, metricsWindowMs, positiveInt, type QueueContext, uniqueIds } from "./context.js";

/** A chunk's run time as the metrics take it: whole ms, -1 when not given or not a time. */
function runMsOf(runMs: number | undefined): number {
  return runMs !== undefined && Number.isFinite(runMs) && runMs >= 0 ? Math.round(runMs) : -1;
}

export class RedisReleaser implements Releaser {
  constructor(private readonly ctx: QueueContext) {}

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
    const k = this.ctx.keys.type(jobType);
    const fail: SettleFailure[] = (outcome.fail ?? []).map((f) => ({
      id: f.id,
      ...failArgs(f),
      how: f.how ?? "reported by the job",
    }));
    const nextArgs = next
      ? {
          owner: chunkIdOr(next.chunkId),
          max: positiveInt("max", next.max),
          leaseMs: this.ctx.leaseOf(jobType, next.leaseMs),
        }
      : null;
    const ack = uniqueIds(outcome.ack ?? []);
    const onlyAcks =
      fail.length === 0 && !outcome.giveBack?.ids.length && !outcome.requeue?.length && !outcome.split?.ids.length;
    const items = {
      ack,
      ackAll: outcome.whole === true && onlyAcks && ack.length > 0,
      fail,
      giveBack: uniqueIds(outcome.giveBack?.ids ?? []),
      giveBackReason: outcome.giveBack?.reason ?? "returned",
      requeue: uniqueIds(outcome.requeue ?? []),
      split: uniqueIds(outcome.split?.ids ?? []),
      splitDepth: outcome.split?.depth ?? 1,
    };
    const workerId = next?.workerId ?? chunkId;
    const raw = await settleScript(
      this.ctx.client,
      k,
      chunkId,
      workerId,
      items,
      this.ctx.settingsOf(jobType),
      nextArgs,
      { windowMs: metricsWindowMs(this.ctx.settingsOf(jobType)), runMs: runMsOf(outcome.runMs) },
    );
    let nextBatch: Batch | null = null;
    if (nextArgs && raw.next.ids.length > 0) {
      nextBatch = await this.ctx.toBatch(jobType, k, nextArgs.owner, raw.next, next?.json === true);
    }
    const { acked, retried, dead, returned, stopped } = raw;
    // acked whole and nothing was held: the chunk was taken back before (its ids, as a matched ack names them)
    const notHeld = items.ackAll && acked === 0 ? ack : raw.notHeld;
    return { acked, retried, dead, returned, notHeld, next: nextBatch, stopped };
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
