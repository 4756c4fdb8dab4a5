/**
 * Blocking waits on wake lists (#12), each on a connection of its own, so a
 * settle or extend on the shared connection never queues behind a BLPOP.
 * Connections are duplicates of the queue's (same URL, credentials, cluster
 * or Sentinel), made on first need and kept idle for the next wait. A wait:
 *   1. takes an idle connection, or duplicates one,
 *   2. BLPOPs the wake list for the time left (no polling),
 *   3. ends early when its AbortSignal aborts (the connection is dropped:
 *      that is how a blocked command is cut short; the wait ends then even
 *      if the command is never answered) or, as a backstop, when
 *      the command outlives its timeout by WAIT_SLACK_MS (a reconnect that
 *      resent it), and returns the connection to the idle ones otherwise.
 * A wait on several lists (the shards of a type, #12) is one BLPOP of them
 * all on one Redis; on a cluster, where one command cannot name keys of
 * several slots, one BLPOP per list in parallel, the first signal ending the
 * rest (their connections dropped, made again on the next wait; a signal
 * one of them took meanwhile is put back for the next lingering worker).
 */

import { hashSlot, WAKE_SIGNALS_KEPT } from "../keys.js";
import type { Logger } from "../logger.js";
import { closeRedis, isCluster, type RedisClient } from "../redis.js";

/** How long past its timeout a BLPOP may still be waited for before its connection is dropped. */
const WAIT_SLACK_MS = 2000;

export class WakeWaits {
  private readonly idle: RedisClient[] = [];
  /** The connections of the waits in progress, each with the drop that ends its wait. */
  private readonly busy = new Map<RedisClient, () => void>();
  private closed = false;

  constructor(
    private readonly client: RedisClient,
    private readonly log: Logger,
  ) {}

  /** True when a signal was taken from one of `keys` within `timeoutMs`; false on timeout, abort, failure or close. */
  async wait(keys: string[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const slots = new Set(keys.map(hashSlot));
    if (!isCluster(this.client) || slots.size === 1) return this.waitOne(keys, timeoutMs, signal);
    const all = new AbortController();
    const end = () => all.abort();
    signal?.addEventListener("abort", end, { once: true });
    try {
      // the first to take a signal ends the others (their connections are dropped)
      const woken = await Promise.all(
        keys.map((key) =>
          this.waitOne([key], timeoutMs, all.signal).then((w) => {
            if (w) end();
            return w;
          }),
        ),
      );
      // a signal another wait took before it was ended is the next lingering worker's: put back
      const extra = keys.filter((_, i) => woken[i]).slice(1);
      for (const key of extra) {
        await this.client
          .multi()
          .lpush(key, "1")
          .ltrim(key, 0, WAKE_SIGNALS_KEPT - 1)
          .exec()
          .catch((err: unknown) => this.log.debug({ err, key }, "could not put a wake signal back"));
      }
      return extra.length > 0 || woken.some(Boolean);
    } finally {
      signal?.removeEventListener("abort", end);
    }
  }

  /** One BLPOP of `keys` (all in one slot on a cluster). */
  private async waitOne(keys: string[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const key = keys.length === 1 ? keys[0] : keys;
    if (this.closed || signal?.aborted || !(timeoutMs > 0)) return false;
    const conn = this.idle.pop() ?? this.duplicate();
    let dropped = false;
    let ended: (v: null) => void = () => {};
    const droppedWait = new Promise<null>((resolve) => {
      ended = resolve;
    });
    const drop = () => {
      if (dropped) return;
      dropped = true;
      const connected = conn.status === "ready";
      conn.disconnect();
      // a connection dropped while it waits to reconnect (Redis down or restarting) never settles its
      // BLPOP (ioredis leaves it pending): the wait ends here. A connected one ends when its BLPOP is
      // rejected, once the socket is closed, so no wake signal can go to a connection already given up.
      if (!connected) ended(null);
    };
    this.busy.set(conn, drop);
    const backstop = setTimeout(drop, timeoutMs + WAIT_SLACK_MS);
    signal?.addEventListener("abort", drop, { once: true });
    try {
      // BLPOP takes seconds; a fraction is fine since Redis 6
      const reply = await Promise.race([
        conn.blpop(...keys, Math.max(0.001, timeoutMs / 1000).toFixed(3)),
        droppedWait,
      ]);
      return reply !== null;
    } catch (err) {
      if (!dropped && !this.closed) this.log.warn({ err, key }, "waiting for new items failed");
      drop();
      return false;
    } finally {
      clearTimeout(backstop);
      signal?.removeEventListener("abort", drop);
      this.busy.delete(conn);
      if (dropped || this.closed) conn.disconnect();
      else this.idle.push(conn);
    }
  }

  private duplicate(): RedisClient {
    const c = this.client;
    // a blocked command is timed by its own timeout and the backstop, never by a command timeout (CLI, API)
    const conn: RedisClient = isCluster(c)
      ? c.duplicate(undefined, { redisOptions: { ...c.options.redisOptions, commandTimeout: undefined } })
      : c.duplicate({ commandTimeout: undefined });
    // its errors are the queue connection's errors too, logged there; a dropped wait is no error
    conn.on("error", (err: Error) => this.log.debug({ err: err.message }, "wake connection error"));
    return conn;
  }

  /** Ends every wait (false) and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    for (const drop of [...this.busy.values()]) drop();
    await Promise.all(this.idle.splice(0).map(closeRedis));
  }
}
