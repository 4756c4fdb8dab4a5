/**
 * The sink, from the harness's side: a redis-server of its own (TCP on
 * 127.0.0.1 and a unix socket, which a worker in another network namespace
 * reaches too) where the job modules (jobs/sink.mjs) record each item they
 * finish. This reads it: per-item counts, the running total, the chunks a
 * process was running, the chunks begun since a moment.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { type RedisServer, startRedisServer } from "../harness/redis-server.js";

export interface SinkServer {
  server: RedisServer;
  /** Unix socket path: what CHAOS_SINK_URL is set to. */
  socket: string;
  client: Redis;
  stop(): Promise<void>;
}

export async function startSink(): Promise<SinkServer> {
  const dir = mkdtempSync(join(tmpdir(), "bj-chaos-sink-"));
  const socket = join(dir, "sink.sock");
  const server = await startRedisServer({ args: ["--unixsocket", socket, "--unixsocketperm", "777"] });
  const client = new Redis(server.url, { maxRetriesPerRequest: 3 });
  client.on("error", () => {});
  return {
    server,
    socket,
    client,
    async stop() {
      client.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One scenario's records in the sink, under `sink:<scenario>`. */
export class SinkView {
  constructor(
    readonly client: Redis,
    readonly key: string,
  ) {}

  async clear(): Promise<void> {
    const k = this.key;
    await this.client.del(k, `${k}:n`, `${k}:by`, `${k}:running`, `${k}:begun`);
  }

  /** Item completions recorded so far (all items, repeats included). */
  async total(): Promise<number> {
    return Number((await this.client.get(`${this.key}:n`)) ?? 0);
  }

  /** id -> times done. */
  async counts(): Promise<Map<string, number>> {
    const all = await this.client.hgetall(this.key);
    return new Map(Object.entries(all).map(([id, n]) => [id, Number(n)]));
  }

  /** Times done and the pid that did each last, for `ids`. */
  async some(ids: string[]): Promise<{ n: number; by: number }[]> {
    if (ids.length === 0) return [];
    const r = await this.client
      .multi()
      .hmget(this.key, ...ids)
      .hmget(`${this.key}:by`, ...ids)
      .exec();
    const n = (r?.[0]?.[1] ?? []) as (string | null)[];
    const by = (r?.[1]?.[1] ?? []) as (string | null)[];
    return ids.map((_, i) => ({ n: Number(n[i] ?? 0), by: Number(by[i] ?? 0) }));
  }

  /** The chunks each pid was running (started, not ended): pid -> item ids. */
  async running(): Promise<Map<number, string[]>> {
    const all = await this.client.hgetall(`${this.key}:running`);
    const out = new Map<number, string[]>();
    for (const [field, value] of Object.entries(all)) {
      const pid = Number(field.slice(0, field.indexOf(":")));
      const ids = value
        .slice(value.indexOf("|") + 1)
        .split(",")
        .filter(Boolean);
      out.set(pid, [...(out.get(pid) ?? []), ...ids]);
    }
    return out;
  }

  /** Forgets the running entries of `pid` (after it was killed and its items noted). */
  async forgetRunning(pid: number): Promise<void> {
    const fields = (await this.client.hkeys(`${this.key}:running`)).filter((f) => f.startsWith(`${pid}:`));
    if (fields.length > 0) await this.client.hdel(`${this.key}:running`, ...fields);
  }

  /** The start time (ms) of the first chunk begun at or after `sinceMs`, if any. */
  async firstBegunSince(sinceMs: number): Promise<number | null> {
    const r = await this.client.zrangebyscore(`${this.key}:begun`, sinceMs, "+inf", "WITHSCORES", "LIMIT", 0, 1);
    return r.length >= 2 ? Number(r[1]) : null;
  }
}
