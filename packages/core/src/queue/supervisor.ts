/**
 * The Supervisor role (what the manager needs of the queues): each type's
 * activity count and the backlog a planner reads, reclaiming expired or lost
 * chunks (no attempt charged), stop tokens set atomically with workers taking
 * them, and the reservations of dispatched starts. Every call touches one
 * type's slot, so a type whose slot is down fails alone. A type spread over
 * shards (#12) is read shard by shard and summed (shard-merge.ts); its stop
 * tokens and reservations are kept in shard 0, the type's own keys.
 */

import { hashSlot } from "../keys.js";
import type { ActivityGroup, BacklogGroup, ReclaimResult, Supervisor } from "../queue-contracts.js";
import type { QueueCounts } from "../queue-inspect.js";
import { type Backlog, readCounts } from "../queue-inspect.js";
import { isCluster } from "../redis.js";
import { backlogScript, reclaimScript, reserveScript, stopTokensScript } from "../scripts/commands.js";
import { EACH_TYPE_MAX_GROUPS } from "../scripts/loader.js";
import { metricsWindowMs, positiveInt, type QueueContext } from "./context.js";
import { eachQueue, mergeBacklogs, sumActivity, sumCounts } from "./shard-merge.js";

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** How long a type's set of reservations lives after its last write (ms). */
const RESERVED_TTL_MS = 300_000;

/** Chunk ids passed to one reclaim call at most. */
const NAMED_PER_CALL = 1000;

/** Job types one backlog call reads at most: about 10 µs of Redis time per busy type, so a call holds Redis about 2 ms. */
export const BACKLOGS_PER_CALL = EACH_TYPE_MAX_GROUPS;

/** `items` in runs of `size` at most. */
function runsOf<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class RedisSupervisor implements Supervisor {
  constructor(private readonly ctx: QueueContext) {}

  /**
   * The activity counts of `jobTypes`: on one Redis, one MGET of them all
   * (when it fails, say an ACL that leaves a type out, a GET per type, so
   * each fails alone); on a cluster, one MGET per hash slot, so a type whose
   * slot is down fails with its slot alone.
   */
  activity(types: string[]): ActivityGroup[] {
    if (types.length === 0) return [];
    const { client, keys } = this.ctx;
    // a sharded type is a group of its own: the GETs of its shards (one per slot), summed
    const sharded = types.filter((t) => this.ctx.shardsOf(t) > 1);
    const jobTypes = sharded.length === 0 ? types : types.filter((t) => this.ctx.shardsOf(t) === 1);
    const groups: ActivityGroup[] = sharded.map((t) => ({
      jobTypes: [t],
      counts: Promise.all(this.ctx.queuesOf(t).map((q) => client.get(keys.type(q).activity))).then(
        (counts) => [sumActivity(counts)],
        (err: unknown) => [toError(err)],
      ),
    }));
    if (jobTypes.length === 0) return groups;
    return [...groups, ...this.activityOf(jobTypes)];
  }

  private activityOf(jobTypes: string[]): ActivityGroup[] {
    const { client, keys } = this.ctx;
    const keyOf = (t: string) => keys.type(t).activity;
    if (!isCluster(client)) {
      const all = jobTypes.map(keyOf);
      const each = () => Promise.all(all.map((k) => client.get(k).catch((err: unknown) => toError(err))));
      return [{ jobTypes, counts: client.mget(...all).catch(each) }];
    }
    const bySlot = new Map<number, string[]>();
    for (const t of jobTypes) {
      const slot = hashSlot(keyOf(t));
      const group = bySlot.get(slot);
      if (group) group.push(t);
      else bySlot.set(slot, [t]);
    }
    return [...bySlot.values()].map((types) => ({ jobTypes: types, counts: client.mget(...types.map(keyOf)) }));
  }

  /**
   * What a planner needs of one type, in one script call (a client with
   * auto-pipelining batches the calls of many types): items ready to run
   * (pending, split groups, and delayed retries due by `now`), the earliest
   * lease deadline (null when no chunk holds one), delayed items in all;
   * which of `reservations` still wait for a worker; workers leaving.
   */
  async backlog(jobType: string, now: number, reservations: string[] = []): Promise<Backlog> {
    const { client, keys } = this.ctx;
    const queues = this.ctx.queuesOf(jobType);
    if (queues.length === 1) {
      const [b] = await backlogScript(client, now, [{ keys: keys.type(jobType), reservations }]);
      return b as Backlog;
    }
    // one call per shard (shards live in slots of their own); the reservations are shard 0's
    const shards = await Promise.all(
      queues.map(async (q, i) => {
        const [b] = await backlogScript(client, now, [
          { keys: keys.type(q), reservations: i === 0 ? reservations : [] },
        ]);
        return b as Backlog;
      }),
    );
    return mergeBacklogs(shards);
  }

  /**
   * The backlogs of many types, BACKLOGS_PER_CALL per script call: on one
   * Redis in the order given, on a cluster those of one hash slot together.
   * A call that fails (an ACL that leaves a type's keys out, a key of the
   * wrong type) is made again per type, so each type fails alone.
   */
  backlogs(all: { jobType: string; reservations: string[] }[], now: number): BacklogGroup[] {
    const { client, keys } = this.ctx;
    // a sharded type is a group of its own: its shards' backlogs, merged
    const sharded = all.filter((r) => this.ctx.shardsOf(r.jobType) > 1);
    const reads = sharded.length === 0 ? all : all.filter((r) => this.ctx.shardsOf(r.jobType) === 1);
    const groups: BacklogGroup[] = sharded.map((r) => ({
      jobTypes: [r.jobType],
      backlogs: this.backlog(r.jobType, now, r.reservations).then(
        (b) => [b],
        (err: unknown) => [toError(err)],
      ),
    }));
    if (reads.length === 0) return groups;
    let runs: (typeof reads)[];
    if (!isCluster(client)) runs = runsOf(reads, BACKLOGS_PER_CALL);
    else {
      const bySlot = new Map<number, typeof reads>();
      for (const r of reads) {
        const slot = hashSlot(keys.type(r.jobType).pending);
        const group = bySlot.get(slot);
        if (group) group.push(r);
        else bySlot.set(slot, [r]);
      }
      runs = [...bySlot.values()].flatMap((g) => runsOf(g, BACKLOGS_PER_CALL));
    }
    const one = (r: (typeof reads)[number]) =>
      this.backlog(r.jobType, now, r.reservations).catch((err: unknown) => toError(err));
    return runs
      .map<BacklogGroup>((run) => ({
        jobTypes: run.map((r) => r.jobType),
        backlogs:
          run.length === 1
            ? one(run[0] as (typeof reads)[number]).then((b) => [b])
            : backlogScript(
                client,
                now,
                run.map((r) => ({ keys: keys.type(r.jobType), reservations: r.reservations })),
              ).catch(() => Promise.all(run.map(one))),
      }))
      .concat(groups);
  }

  /** The counts of a type: summed over its shards. */
  async counts(jobType: string): Promise<QueueCounts> {
    const { client, keys } = this.ctx;
    await this.ctx.publishedShardsFor(jobType);
    const queues = this.ctx.queuesOf(jobType);
    if (queues.length === 1) return readCounts(client, keys.type(jobType));
    return sumCounts(await Promise.all(queues.map((q) => readCounts(client, keys.type(q)))));
  }

  /**
   * Gives back the items of expired leases (or of the named chunks, at once)
   * without charging an attempt: their holder died, froze or lost Redis.
   * Each call handles about `limit` items (one chunk at least); loops until
   * done. A sharded type is reclaimed shard by shard (named chunks are
   * looked for in every shard: each is in one).
   */
  async reclaim(
    jobType: string,
    options: { chunkIds?: string[]; limit?: number; reason?: string } = {},
  ): Promise<ReclaimResult> {
    const queues = this.ctx.queuesOf(jobType);
    if (queues.length === 1) return this.reclaimQueue(jobType, options);
    const total = { chunks: 0, returned: 0, dead: 0 };
    // a shard that fails (its master failing over) does not hold back the others; its error comes after them
    const failed = await eachQueue(queues, async (q) => {
      const r = await this.reclaimQueue(q, options);
      total.chunks += r.chunks;
      total.returned += r.returned;
      total.dead += r.dead;
    });
    if (failed) throw failed.err;
    return total;
  }

  /** Reclaims in one queue: a type, or one shard of it. */
  private async reclaimQueue(
    jobType: string,
    options: { chunkIds?: string[]; limit?: number; reason?: string },
  ): Promise<ReclaimResult> {
    const k = this.ctx.keys.type(jobType);
    const limit = positiveInt("limit", options.limit ?? 5000);
    const policy = this.ctx.settingsOf(jobType);
    const message = options.reason ?? "lease expired";
    const total = { chunks: 0, returned: 0, dead: 0 };
    let named = options.chunkIds;
    for (;;) {
      const r = await reclaimScript(
        this.ctx.client,
        k,
        policy,
        limit,
        message,
        named?.slice(0, NAMED_PER_CALL) ?? [],
        metricsWindowMs(policy),
      );
      total.chunks += r.chunks;
      total.returned += r.returned;
      total.dead += r.dead;
      if (named) {
        // named chunks: the script went as far as its item budget allowed
        named = named.slice(Math.max(1, r.handled));
        if (named.length === 0) return total;
      } else if (!r.more || r.chunks === 0) return total;
    }
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
    const k = this.ctx.keys.type(jobType);
    return stopTokensScript(this.ctx.client, k, target, running.dispatched, running.listed);
  }

  async stopTokens(jobType: string): Promise<number> {
    return Number((await this.ctx.client.get(this.ctx.keys.type(jobType).stop)) ?? 0);
  }

  /**
   * Records reservations the manager dispatches: each counts as a starting
   * worker until one takes it. One script call (on an auto-pipelining
   * client, the calls of many types go out together).
   */
  async reserve(jobType: string, reservationIds: string[]): Promise<void> {
    if (reservationIds.length === 0) return;
    await reserveScript(this.ctx.client, this.ctx.keys.type(jobType), RESERVED_TTL_MS, reservationIds);
  }

  /** Drops a reservation no worker will take (no host for it, a dead host's inbox); false when it was gone. */
  async dropReservation(jobType: string, reservationId: string): Promise<boolean> {
    return (await this.ctx.client.srem(this.ctx.keys.type(jobType).reserved, reservationId)) === 1;
  }
}
