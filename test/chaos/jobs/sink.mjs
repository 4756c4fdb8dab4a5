// The chaos sink as the job modules see it: a Redis of its own (never the
// queue's, never faulted) where every processed item is counted. Per item done:
//   HINCRBY <key> <id> 1, INCR <key>:n, HSET <key>:by <id> <pid>   (one MULTI)
// Per chunk: HSET <key>:running <pid>:<chunkId> "<ms>|<ids,...>" and ZADD <key>:begun <ms> <pid>:<chunkId>
// at its start, HDEL of the running entry at its end (a killed process leaves it: that is the point).
// CHAOS_SINK_URL is redis://host:port or the path of a unix socket (reachable from a network namespace).
import { Redis } from "ioredis";

let client;

function sink() {
  if (client) return client;
  const url = process.env.CHAOS_SINK_URL;
  if (!url) throw new Error("CHAOS_SINK_URL is not set: the chaos jobs record processed items there");
  const options = { maxRetriesPerRequest: null, connectionName: `chaos-job:${process.pid}` };
  client = url.startsWith("/") ? new Redis({ path: url, ...options }) : new Redis(url, options);
  client.on("error", () => {});
  // the socket alone must not keep a daemon or a job process alive
  client.on("connect", () => client.stream?.unref?.());
  return client;
}

function key() {
  const k = process.env.CHAOS_SINK_KEY;
  if (!k) throw new Error("CHAOS_SINK_KEY is not set");
  return k;
}

const field = (chunkId) => `${process.pid}:${chunkId}`;

export async function chunkStarted(chunkId, ids) {
  const k = key();
  const now = Date.now();
  await sink()
    .multi()
    .hset(`${k}:running`, field(chunkId), `${now}|${ids.join(",")}`)
    .zadd(`${k}:begun`, now, field(chunkId))
    .exec();
}

export async function chunkEnded(chunkId) {
  await sink().hdel(`${key()}:running`, field(chunkId));
}

/** Records item `id` as done; called right before the job says ok for it. */
export async function itemDone(id) {
  const k = key();
  await sink().multi().hincrby(k, id, 1).incr(`${k}:n`).hset(`${k}:by`, id, process.pid).exec();
}

export async function closeSink() {
  if (!client) return;
  const c = client;
  client = undefined;
  await c.quit().catch(() => c.disconnect());
}

/** Sleeps `ms`, or rejects when `signal` aborts. */
export function pause(ms, signal) {
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error("aborted"));
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
