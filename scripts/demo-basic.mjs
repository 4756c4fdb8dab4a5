#!/usr/bin/env node
// The first main job: enqueue 100,000 items, drain them with 4 consumers in
// chunks of 1,000 (settle = ack + next acquire in one round trip), print the
// counts. Uses REDIS_URL when set, else a private redis-server from PATH.
import { execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { BatchQueue, connectRedis } from "../packages/core/dist/index.js";

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function redisForDemo() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    console.error(
      "No Redis: set REDIS_URL=redis://host:port, or install redis-server (apt-get install redis-server, brew install redis).",
    );
    process.exit(1);
  }
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const c = connectRedis(url);
    c.on("error", () => {});
    try {
      await c.ping();
      c.disconnect();
      break;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { url, stop: async () => void child.kill("SIGTERM") };
}

const redis = await redisForDemo();
const prefix = `demo${process.pid}`;
const q = new BatchQueue({ redis: redis.url, prefix });
const N = 100_000;
let t = performance.now();
await q.enqueue(
  "demo",
  Array.from({ length: N }, (_, i) => ({ payload: { n: i } })),
);
console.log(`enqueued ${N} items in ${(performance.now() - t).toFixed(0)} ms`);
console.log("counts after enqueue:", await q.counts("demo"));

t = performance.now();
let sum = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    const c = new BatchQueue({ redis: redis.url, prefix });
    let batch = await c.acquire("demo", { max: 1000 });
    while (batch.size > 0) {
      for (const item of batch.items) sum += item.payload.n;
      const r = await c.settle("demo", batch.id, { ack: batch.items.map((i) => i.id) }, { max: 1000 });
      if (!r.next) break;
      batch = r.next;
    }
    await c.close();
  }),
);
const ms = performance.now() - t;
console.log(
  `acquired and acked ${N} items in ${ms.toFixed(0)} ms (${Math.round(N / (ms / 1000))} items/s); checksum ${sum === (N * (N - 1)) / 2 ? "ok" : "WRONG"}`,
);
const counts = await q.counts("demo");
console.log("counts after drain:", counts);
await q.client.del(...(await q.client.keys(`${prefix}:*`)));
await q.close();
await redis.stop();
if (counts.total !== 0 || counts.acked !== N) process.exit(1);
