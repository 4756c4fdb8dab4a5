/**
 * The producer role (the concept's Enqueuer): adds items in bulk, dedupes
 * caller ids, registers the type and signals activity. Every item is checked
 * before anything is written, so a failing enqueue writes nothing.
 */
import { encodeItems } from "../enqueue-input.js";
import { InvalidArgumentError } from "../errors.js";
import type { TypeKeys } from "../keys.js";
import type { EnqueueItem, EnqueueResult, Enqueuer } from "../queue-contracts.js";
import { execReplies, isCluster } from "../redis.js";
import { enqueueArgs, enqueueKeys, parseEnqueueReply, runScript } from "../scripts/commands.js";
import { commandName, scriptCommand } from "../scripts/loader.js";
import type { QueueContext } from "./context.js";

/** Generated ids reserved per round trip. */
const ID_BLOCK = 10_000;

export class RedisEnqueuer implements Enqueuer {
  private readonly registered = new Set<string>();
  private readonly idBlocks = new Map<string, { next: number; end: number }>();

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
    const k = this.ctx.keys.type(jobType);
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
      replies.push(await runScript(this.ctx.client, "enqueue", keys, enqueueArgs(ids, payloads, 0, n)));
    } else {
      scriptCommand(this.ctx.client, "enqueue");
      const multi = this.ctx.client.multi();
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
    if (added > 0) await this.ctx.touch(jobType, added);
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
    const multi = this.ctx.client.multi();
    for (const [from, to] of ranges) multi.rpush(k.pending, ...entries.slice(from, to));
    multi.hincrby(k.stats, "enqueued", n);
    const pushed = multi.exec();
    if (isCluster(this.ctx.client)) {
      execReplies(await pushed, "enqueue");
      await this.ctx.touch(jobType, n);
    } else {
      // one connection runs its commands in order: the touch lands after the items without a round trip of its own
      const [replies] = await Promise.all([pushed, this.ctx.touch(jobType, n)]);
      execReplies(replies, "enqueue");
    }
    return { added: n, ids, deduped: [] };
  }

  private async registerType(jobType: string): Promise<void> {
    if (this.registered.has(jobType)) return;
    await this.ctx.client.sadd(this.ctx.keys.types, jobType);
    this.registered.add(jobType);
  }

  /** Every job type ever enqueued to, sorted. */
  async jobTypes(): Promise<string[]> {
    return (await this.ctx.client.smembers(this.ctx.keys.types)).sort();
  }
}
