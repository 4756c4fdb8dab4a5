/**
 * The producer role (the concept's Enqueuer): adds items in bulk, dedupes
 * caller ids, signals activity, wakes a lingering worker (#12) and registers
 * the type. Every item is checked before anything is written, so a failing
 * enqueue writes nothing; the items, the activity and the wake signal are
 * written in one MULTI or script of the type's slot, so an enqueue succeeds
 * exactly when its items are queued. The type's registration (`types`, in
 * the control plane's slot) comes after, best effort: a failure is logged and
 * retried on the next enqueue of the type.
 *
 * A type spread over shards (#12) is written one MULTI per shard, in
 * parallel (shards may live on different masters): items spread as
 * planShards says, generated ids from shard 0's counter (unique over all
 * shards), caller ids deduped by the enqueue script of their own shard.
 */
import { type EncodedItems, encodeItems } from "../enqueue-input.js";
import { InvalidArgumentError, PartialEnqueueError } from "../errors.js";
import { assertJobTypeName, shardQueue, type TypeKeys, WAKE_SIGNALS_KEPT } from "../keys.js";
import type { EnqueueItem, EnqueueResult, Enqueuer } from "../queue-contracts.js";
import { execReplies } from "../redis.js";
import { enqueueArgs, enqueueKeys, markPushedCall, parseEnqueueReply, runScript } from "../scripts/commands.js";
import { commandName, scriptCommand } from "../scripts/loader.js";
import type { ScriptName } from "../scripts/source.js";
import type { QueueContext } from "./context.js";
import { planShards } from "./shard-plan.js";

/** Generated ids reserved per round trip. */
const ID_BLOCK = 10_000;

export class RedisEnqueuer implements Enqueuer {
  /** Types registered in `types`, or being registered now. */
  private readonly registered = new Set<string>();
  private readonly idBlocks = new Map<string, { next: number; end: number }>();
  /** Where each sharded type's next round-robin starts. */
  private readonly nextShard = new Map<string, number>();

  constructor(
    private readonly ctx: QueueContext,
    private readonly maxPayloadBytes: number,
    private readonly enqueueBatch: number,
  ) {}

  /**
   * Adds items in bulk. Every item is checked first; one bad item fails the
   * call before anything is written. Without caller ids, the ids are reserved
   * with INCRBY and the entries pushed in one MULTI (no Lua: the fastest
   * path); with caller ids, the enqueue script dedupes them. Either way a
   * call of more than `enqueueBatch` items lands in one MULTI.
   */
  async enqueue(jobType: string, items: EnqueueItem[]): Promise<EnqueueResult> {
    // a type, not one of its shards: the items are spread over the shards here
    assertJobTypeName(jobType);
    const k = this.ctx.keys.type(jobType);
    if (!Array.isArray(items)) throw new InvalidArgumentError("enqueue expects an array of {id?, payload}");
    const n = items.length;
    const encoded = encodeItems(items, this.maxPayloadBytes);
    if (n === 0) return { added: 0, ids: [], deduped: [] };
    await this.ctx.publishedShardsFor(jobType);
    const shards = this.ctx.shardsOf(jobType);
    let result: EnqueueResult;
    if (shards > 1) {
      result = await this.enqueueSharded(jobType, shards, encoded).catch((err: unknown) => {
        // some items are queued: the type is registered all the same
        if (err instanceof PartialEnqueueError) this.registerType(jobType);
        throw err;
      });
    } else {
      const { ids, payloads, callerIds } = encoded;
      const ranges = this.rangesOf(n);
      result =
        callerIds === 0
          ? await this.enqueueGenerated(jobType, k, payloads, ranges)
          : await this.enqueueScripted(k, ids, payloads, ranges);
    }
    this.registerType(jobType);
    return result;
  }

  /** [from, to) runs of at most `enqueueBatch` items. */
  private rangesOf(n: number): [number, number][] {
    const ranges: [number, number][] = [];
    for (let i = 0; i < n; i += this.enqueueBatch) ranges.push([i, Math.min(n, i + this.enqueueBatch)]);
    return ranges;
  }

  /**
   * A type spread over `shards`: every item without a caller id gets its id
   * from shard 0's counter first, then each shard that gets items is written
   * in one MULTI, all in parallel. When some shards fail and others do not,
   * PartialEnqueueError says which items were queued.
   */
  private async enqueueSharded(jobType: string, shards: number, encoded: EncodedItems): Promise<EnqueueResult> {
    const { ids, payloads, callerIds, orderKeys } = encoded;
    const n = ids.length;
    const plan = planShards(shards, n, (i) => orderKeys?.[i] || (ids[i] as string), this.nextShard.get(jobType) ?? 0);
    this.nextShard.set(jobType, plan.nextStart);
    if (callerIds < n) {
      let seq = await this.reserveIds(jobType, this.ctx.keys.type(jobType), n - callerIds);
      for (let i = 0; i < n; i++) if (ids[i] === "") ids[i] = `#${seq++}`;
    }
    const writes = plan.members.map((members, shard) =>
      members.length === 0 ? null : this.writeShard(shardQueue(jobType, shard), members, ids, payloads),
    );
    const settled = await Promise.allSettled(writes);
    const failed = settled.flatMap((s, shard) =>
      s.status === "rejected" ? [{ shard, err: s.reason as unknown }] : [],
    );
    const deduped: string[] = [];
    let added = 0;
    for (const s of settled) {
      if (s.status !== "fulfilled" || s.value === null) continue;
      added += s.value.added;
      deduped.push(...s.value.deduped);
    }
    if (failed.length > 0) {
      const first = failed[0] as { shard: number; err: unknown };
      const queuedIds = plan.members.flatMap((m, shard) =>
        settled[shard]?.status === "fulfilled" ? m.map((i) => ids[i] as string) : [],
      );
      if (queuedIds.length === 0) throw first.err;
      const shown = failed.map((f) => f.shard).join(", ");
      throw new PartialEnqueueError(
        `enqueue of ${jobType}: ${queuedIds.length} of ${n} items were queued, the ${n - queuedIds.length} for shard(s) ${shown} were not: ${(first.err as Error)?.message ?? String(first.err)}`,
        queuedIds.length,
        queuedIds,
        { cause: first.err },
      );
    }
    return { added, ids, deduped };
  }

  /**
   * Writes the items `members` (indexes into ids and payloads) to the shard
   * `queue`, in one MULTI: those with generated ids (`#<n>`) as the fast path
   * does, those with caller ids through the enqueue script (which dedupes).
   */
  private async writeShard(
    queue: string,
    members: number[],
    ids: string[],
    payloads: string[],
  ): Promise<{ added: number; deduped: string[] }> {
    const k = this.ctx.keys.type(queue);
    const entries: string[] = [];
    const callerIds: string[] = [];
    const callerPayloads: string[] = [];
    for (const i of members) {
      const id = ids[i] as string;
      if (id.startsWith("#")) entries.push(`${id}\t${payloads[i]}`);
      else {
        callerIds.push(id);
        callerPayloads.push(payloads[i] as string);
      }
    }
    scriptCommand(this.ctx.client, "mark-pushed");
    scriptCommand(this.ctx.client, "enqueue");
    const multi = this.ctx.client.multi();
    if (entries.length > 0) queuePushes(multi, k, entries, this.rangesOf(entries.length));
    const scripted = this.rangesOf(callerIds.length);
    for (const [from, to] of scripted) {
      queueScript(multi, "enqueue", enqueueKeys(k), enqueueArgs(callerIds, callerPayloads, from, to));
    }
    const replies = execReplies(await multi.exec(), "enqueue");
    let added = entries.length;
    const deduped: string[] = [];
    for (const raw of replies.slice(replies.length - scripted.length)) {
      const reply = parseEnqueueReply(raw);
      added += reply.added;
      deduped.push(...reply.deduped);
    }
    return { added, deduped };
  }

  /** Items of which some have caller ids: the enqueue script dedupes them, one call per range, in one MULTI. */
  private async enqueueScripted(
    k: TypeKeys,
    ids: string[],
    payloads: string[],
    ranges: [number, number][],
  ): Promise<EnqueueResult> {
    const n = ids.length;
    const keys = enqueueKeys(k);
    const replies: unknown[] = [];
    if (ranges.length === 1) {
      replies.push(await runScript(this.ctx.client, "enqueue", keys, enqueueArgs(ids, payloads, 0, n)));
    } else {
      scriptCommand(this.ctx.client, "enqueue");
      const multi = this.ctx.client.multi();
      for (const [from, to] of ranges) queueScript(multi, "enqueue", keys, enqueueArgs(ids, payloads, from, to));
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
    const end = await this.ctx.client.incrby(k.seq, size);
    const first = end - size + 1;
    this.idBlocks.set(jobType, { next: first + n, end });
    return first;
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
    scriptCommand(this.ctx.client, "mark-pushed");
    const multi = this.ctx.client.multi();
    queuePushes(multi, k, entries, ranges);
    execReplies(await multi.exec(), "enqueue");
    return { added: n, ids, deduped: [] };
  }

  /**
   * Adds the type to `types` (what `status` lists) once per process, after
   * its items are queued and without holding up the call: the key lives in
   * the control plane's slot, and its failure must not turn a done enqueue
   * into an error (a retrying caller would queue the items twice). A failed
   * write is logged and tried again on the next enqueue of the type.
   */
  private registerType(jobType: string): void {
    if (this.registered.has(jobType)) return;
    this.registered.add(jobType);
    this.ctx.client.sadd(this.ctx.keys.types, jobType).catch((err: unknown) => {
      this.registered.delete(jobType);
      this.ctx.log.warn(
        { err, jobType, key: this.ctx.keys.types },
        "the items were enqueued, but the job type could not be registered; trying again on its next enqueue",
      );
    });
  }

  /** Every job type ever enqueued to, sorted. */
  async jobTypes(): Promise<string[]> {
    return (await this.ctx.client.smembers(this.ctx.keys.types)).sort();
  }
}

type Multi = ReturnType<QueueContext["client"]["multi"]>;

/**
 * Queues in `multi` the push of `entries` (`<id>\t<payload>`, ids already
 * given) as enqueue.lua would: RPUSH in `ranges`, the counts, the enqueue
 * mark and a wake signal. `mark-pushed` must be registered (scriptCommand)
 * before `multi` was made.
 */
function queuePushes(multi: Multi, k: TypeKeys, entries: string[], ranges: [number, number][]): void {
  const n = entries.length;
  for (const [from, to] of ranges) multi.rpush(k.pending, ...entries.slice(from, to));
  multi.hincrby(k.stats, "enqueued", n).incrby(k.activity, n);
  // counted and marked as enqueue.lua does (the age of the oldest pending item)
  const mark = markPushedCall(k, n);
  queueScript(multi, "mark-pushed", mark.keys, mark.args);
  // wakes a lingering worker (#12), as enqueue.lua does; the list never grows past WAKE_SIGNALS_KEPT
  multi.lpush(k.wake, "1").ltrim(k.wake, 0, WAKE_SIGNALS_KEPT - 1);
}

/**
 * Queues a call of script `name` in `multi`: a pipeline has the client's
 * defined commands as methods, named by the command, when the script was
 * registered (scriptCommand) before the pipeline was made.
 */
function queueScript(multi: Multi, name: ScriptName, keys: string[], args: (string | number)[]): void {
  const table = multi as unknown as Record<string, (...a: (string | number)[]) => unknown>;
  table[commandName(name)]?.call(multi, ...keys, ...args);
}
