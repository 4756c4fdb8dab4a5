// What the benchmarks share: the Redis they run on (REDIS_URL when set, else
// a private redis-server from PATH on a free port, persistence off, stopped at
// the end), BullMQ's processing rate as the reference, and number formatting.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function benchRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    throw new Error("the benchmark needs redis-server on PATH or REDIS_URL");
  }
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on("error", () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      break;
    } catch (err) {
      c.disconnect();
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

export async function usedMemory(client) {
  const info = await client.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)[1]);
}

/** CPU seconds the Redis server has used so far (user + system, from INFO cpu). */
export async function redisCpuSeconds(client) {
  const info = await client.info("cpu");
  const field = (name) => Number(new RegExp(`^${name}:([0-9.]+)`, "m").exec(info)?.[1] ?? Number.NaN);
  return field("used_cpu_user") + field("used_cpu_sys");
}

export function fmt(n) {
  return Math.round(n).toLocaleString("en-US");
}

export function ratio(a, b) {
  return `${(a / b).toFixed(1)}×`;
}

/**
 * BullMQ's reference rate: n jobs added with addBulk (batches of 1,000,
 * removed on completion, as batchjob removes acked items), then one Worker
 * with a no-op processor at concurrency 50; items/s from its start to the last job.
 */
export async function bullmqProcessingRate(url, n, data) {
  const q = new Queue("bench", { connection: { url }, prefix: "bull" });
  const jobs = Array.from({ length: n }, () => ({ name: "j", data, opts: { removeOnComplete: true } }));
  for (let i = 0; i < n; i += 1000) await q.addBulk(jobs.slice(i, i + 1000));
  let done = 0;
  let finish;
  const all = new Promise((r) => {
    finish = r;
  });
  const admin = new Redis(url);
  const cpu0 = await redisCpuSeconds(admin);
  const t = performance.now();
  const w = new Worker(
    "bench",
    async () => {
      if (++done === n) finish();
    },
    { connection: { url }, prefix: "bull", concurrency: 50 },
  );
  await all;
  const s = (performance.now() - t) / 1000;
  bullmqCpuPerJobUs = (((await redisCpuSeconds(admin)) - cpu0) * 1e6) / n;
  admin.disconnect();
  await w.close();
  await q.close();
  return n / s;
}

/** Redis CPU (µs) per job of the last bullmqProcessingRate run. */
export let bullmqCpuPerJobUs = Number.NaN;
