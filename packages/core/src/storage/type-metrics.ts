/**
 * Reading a job type's per-minute metrics (#10): the HASH of each minute
 * that settle and reclaim write (lua/includes/minute-metrics.lua), and the
 * age of the oldest pending item (lua/includes/pushed.lua). Read-only: a
 * monitor's Redis user may call it. A type spread over shards (#12) reads
 * as the sum of its shards' minutes, and the oldest item of any shard.
 */
import type { Keys } from "../keys.js";
import { execReplies, type RedisClient } from "../redis.js";
import { pendingAgeScript } from "../scripts/commands.js";

/** Upper bounds (ms) of the chunk run time buckets h0..h4; h5 is everything longer. */
export const RUN_TIME_BOUNDS_MS = [10, 100, 1000, 10_000, 60_000] as const;

/** One minute of a job type. */
export interface MinutePoint {
  /** Epoch minute (ms / 60,000, Redis clock). */
  minute: number;
  done: number;
  retried: number;
  dead: number;
  /** Handed back through no fault of their own (host gone, lease expired, split). */
  returned: number;
  /** Chunks that ended in this minute. */
  chunks: number;
  /** Run time of the chunks that reported one: sum (ms) and count. */
  runMsSum: number;
  runCount: number;
  /** Chunks by run time: counts per bucket, bounds RUN_TIME_BOUNDS_MS then longer (not cumulative). */
  runBuckets: number[];
}

/** Most minutes one read returns (7 days, the longest window). */
export const MAX_MINUTES = 10_080;

export class TypeMetrics {
  /** `queuesOf`: the shards' queue names of a type (BatchQueue.queuesOf); the type alone by default. */
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly queuesOf: (jobType: string) => string[] = (t) => [t],
  ) {}

  /** The last `minutes` minutes of `jobType`, oldest first, the current minute last; minutes with nothing are zeros. */
  async series(jobType: string, minutes = 60): Promise<MinutePoint[]> {
    const n = Math.min(MAX_MINUTES, Math.max(1, Math.floor(minutes)));
    const [sec] = await this.client.time();
    const now = Math.floor(Number(sec) / 60);
    const shards = await Promise.all(
      this.queuesOf(jobType).map(async (q) => {
        const k = this.keys.type(q);
        const multi = this.client.multi();
        for (let i = n - 1; i >= 0; i--) multi.hgetall(k.minute(now - i));
        return execReplies(await multi.exec(), "metrics") as Record<string, string>[];
      }),
    );
    const rows = shards.length === 1 ? (shards[0] as Record<string, string>[]) : sumRows(shards);
    return rows.map((h, i) => pointOf(now - (n - 1 - i), h));
  }

  /** How long the oldest pending item of `jobType` has waited since it was enqueued (ms); null when none waits or it is not known. */
  async oldestPendingAgeMs(jobType: string): Promise<number | null> {
    const ages = await Promise.all(
      this.queuesOf(jobType).map(async (q) => (await pendingAgeScript(this.client, this.keys.type(q))).ageMs),
    );
    const known = ages.filter((a): a is number => a !== null);
    return known.length === 0 ? null : Math.max(...known);
  }
}

/** The minutes of several shards added field by field (row i of each is the same minute). */
function sumRows(shards: Record<string, string>[][]): Record<string, string>[] {
  return (shards[0] as Record<string, string>[]).map((_, i) => {
    const out: Record<string, string> = {};
    for (const rows of shards) {
      for (const [f, v] of Object.entries(rows[i] ?? {})) out[f] = String(Number(out[f] ?? 0) + Number(v));
    }
    return out;
  });
}

function pointOf(minute: number, h: Record<string, string>): MinutePoint {
  const num = (f: string) => {
    const v = Number(h[f] ?? 0);
    return Number.isFinite(v) ? v : 0;
  };
  const runBuckets = [0, 1, 2, 3, 4, 5].map((b) => num(`h${b}`));
  const runCount = runBuckets.reduce((a, b) => a + b, 0);
  return {
    minute,
    done: num("done"),
    retried: num("retried"),
    dead: num("dead"),
    returned: num("returned"),
    chunks: runCount + num("untimed"),
    runMsSum: num("runMs"),
    runCount,
    runBuckets,
  };
}
