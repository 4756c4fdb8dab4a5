/**
 * The producer role (the concept's Enqueuer): adds items in bulk, dedupes
 * caller ids, signals activity, wakes a lingering worker (#12) and registers
 * the type. Every item is checked before anything is written, so a failing
 * enqueue writes nothing; the items, the activity and the wake signal are
 * written in one MULTI or script of the type's slot, so an enqueue succeeds
 * exactly when its items are queued. The type's registration (`types`, in
 * the control plane's slot) comes after, best effort: a failure is logged and
 * retried on the next enqueue of the type.
 */
import { encodeItems } from "../enqueue-input.js";
import { InvalidArgumentError } from "../errors.js";
import { type TypeKeys, WAKE_SIGNALS_KEPT } from "../keys.js";
import type { EnqueueItem, EnqueueResult, Enqueuer } from "../queue-contracts.js";
import { execReplies } from "../redis.js";
import { enqueueArgs, enqueueKeys, markPushedCall, parseEnqueueReply, runScript } from "../scripts/commands.js";
import { commandName, scriptCommand } from "../scripts/loader.js";
import type { ScriptName } from "../scripts/source.js";
import type { QueueContext } from "./context.js";

/** Generated ids reserved per round trip. */
const ID_BLOCK = 10_000;

export class RedisEnqueuer implements Enqueuer {
  /** Types registered in `types`, or being registered now. */
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
    const ranges: [number, number][] = [];
    for (let i = 0; i < n; i += this.enqueueBatch) ranges.push([i, Math.min(n, i + this.enqueueBatch)]);
    const result =
      callerIds === 0
        ? await this.enqueueGenerated(jobType, k, payloads, ranges)
        : await this.enqueueScripted(k, ids, payloads, ranges);
    this.registerType(jobType);
    return result;
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
    for (const [from, to] of ranges) multi.rpush(k.pending, ...entries.slice(from, to));
    multi.hincrby(k.stats, "enqueued", n).incrby(k.activity, n);
    // counted and marked as enqueue.lua does (the age of the oldest pending item)
    const mark = markPushedCall(k, n);
    queueScript(multi, "mark-pushed", mark.keys, mark.args);
    // wakes a lingering worker (#12), as enqueue.lua does; the list never grows past WAKE_SIGNALS_KEPT
    multi.lpush(k.wake, "1").ltrim(k.wake, 0, WAKE_SIGNALS_KEPT - 1);
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

/**
 * Queues a call of script `name` in `multi`: a pipeline has the client's
 * defined commands as methods, named by the command, when the script was
 * registered (scriptCommand) before the pipeline was made.
 */
function queueScript(
  multi: ReturnType<QueueContext["client"]["multi"]>,
  name: ScriptName,
  keys: string[],
  args: (string | number)[],
): void {
  const table = multi as unknown as Record<string, (...a: (string | number)[]) => unknown>;
  table[commandName(name)]?.call(multi, ...keys, ...args);
}
