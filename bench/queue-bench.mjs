#!/usr/bin/env node
// Queue benchmark: batchjob's BatchQueue next to BullMQ 6.7 on the same Redis
// in the same run. Prints a markdown table of
//   1. enqueue items/s (calls of 1,000 items; BullMQ Queue.addBulk of 1,000)
//   2. acquire+ack items/s at chunk 1, 10, 100, 1000 with 1 and 4 consumers
//      (settle = ack of a chunk + acquire of the next, one round trip), against
//      one BullMQ Worker with a no-op processor at concurrency 50
//   3. Redis memory per queued item (100-byte payload) against BullMQ's per job
// Usage: node bench/queue-bench.mjs [--items N] [--json]
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { BatchQueue } from "../packages/core/dist/index.js";
import { benchRedis, bullmqProcessingRate, fmt, ratio, usedMemory } from "./redis.mjs";

const args = process.argv.slice(2);
const itemsArg = args.indexOf("--items");
const N = itemsArg >= 0 ? Number(args[itemsArg + 1]) : 100_000;
const asJson = args.includes("--json");

// a payload whose JSON is 100 bytes
const PAYLOAD = { user: 12345, action: "resize", file: "x".repeat(100 - 42) };
if (JSON.stringify(PAYLOAD).length !== 100) throw new Error(`payload is ${JSON.stringify(PAYLOAD).length} bytes`);

const redis = await benchRedis();
const admin = new Redis(redis.url);
const log = (...a) => (asJson ? undefined : console.error(...a));

async function flush() {
  await admin.flushall();
}

async function bjEnqueue(n, batch = 1000) {
  await flush();
  const q = new BatchQueue({ redis: redis.url, prefix: "bench" });
  const items = Array.from({ length: n }, () => ({ payload: PAYLOAD }));
  const t = performance.now();
  for (let i = 0; i < n; i += batch) await q.enqueue("bench", items.slice(i, i + batch));
  const s = (performance.now() - t) / 1000;
  await q.close();
  return n / s;
}

async function bullEnqueue(n) {
  await flush();
  const q = new Queue("bench", { connection: { url: redis.url }, prefix: "bull" });
  await q.waitUntilReady();
  const jobs = Array.from({ length: n }, () => ({ name: "j", data: PAYLOAD }));
  const t = performance.now();
  for (let i = 0; i < n; i += 1000) await q.addBulk(jobs.slice(i, i + 1000));
  const s = (performance.now() - t) / 1000;
  await q.close();
  return n / s;
}

async function bjFill(n) {
  await flush();
  const q = new BatchQueue({ redis: redis.url, prefix: "bench", enqueueBatch: 10_000 });
  const items = Array.from({ length: n }, () => ({ payload: PAYLOAD }));
  for (let i = 0; i < n; i += 50_000) await q.enqueue("bench", items.slice(i, i + 50_000));
  await q.close();
}

async function bjDrain(n, chunk, consumers) {
  await bjFill(n);
  const queues = Array.from({ length: consumers }, () => new BatchQueue({ redis: redis.url, prefix: "bench" }));
  await Promise.all(queues.map((q) => q.counts("bench"))); // connect first
  let done = 0;
  const t = performance.now();
  await Promise.all(
    queues.map(async (q) => {
      let b = await q.acquire("bench", { max: chunk, leaseMs: 60_000 });
      while (b.size > 0) {
        done += b.size;
        const r = await q.settle("bench", b.id, { ack: b.items.map((i) => i.id) }, { max: chunk, leaseMs: 60_000 });
        if (!r.next) break;
        b = r.next;
      }
    }),
  );
  const s = (performance.now() - t) / 1000;
  if (done !== n) throw new Error(`drained ${done} of ${n}`);
  await Promise.all(queues.map((q) => q.close()));
  return n / s;
}

async function bullDrain(n) {
  await flush();
  return bullmqProcessingRate(redis.url, n, PAYLOAD);
}

async function bjMemory(n) {
  await flush();
  const before = await usedMemory(admin);
  await bjFill(n);
  return ((await usedMemory(admin)) - before) / n;
}

async function bullMemory(n) {
  await flush();
  const q = new Queue("bench", { connection: { url: redis.url }, prefix: "bull" });
  await q.waitUntilReady();
  const before = await usedMemory(admin);
  const jobs = Array.from({ length: n }, () => ({ name: "j", data: PAYLOAD }));
  for (let i = 0; i < n; i += 1000) await q.addBulk(jobs.slice(i, i + 1000));
  const per = ((await usedMemory(admin)) - before) / n;
  await q.close();
  return per;
}

const rows = [];
log(`items per run: ${fmt(N)}; Redis ${redis.url}`);

log("enqueue ...");
const bullEnq = await bullEnqueue(N);
const bjEnq = await bjEnqueue(N);
rows.push({ metric: "enqueue (calls of 1,000)", batchjob: bjEnq, bullmq: bullEnq, unit: "items/s" });

log("BullMQ worker ...");
const bullRate = await bullDrain(Math.min(N, 50_000));
for (const chunk of [1, 10, 100, 1000]) {
  for (const consumers of chunk === 1 ? [1, 4, 16] : [1, 4]) {
    const n = chunk === 1 ? Math.min(N, 20_000) : chunk === 10 ? Math.min(N, 50_000) : N;
    log(`acquire+ack chunk ${chunk}, ${consumers} consumer(s) ...`);
    const rate = await bjDrain(n, chunk, consumers);
    rows.push({
      metric: `acquire+ack chunk ${chunk}, ${consumers} consumer${consumers > 1 ? "s" : ""}`,
      batchjob: rate,
      bullmq: bullRate,
      unit: "items/s",
    });
  }
}

log("memory ...");
const bullMem = await bullMemory(N);
const bjMem = await bjMemory(N);
rows.push({
  metric: "Redis memory per queued item (100-byte payload)",
  batchjob: bjMem,
  bullmq: bullMem,
  unit: "bytes",
});

await flush();
admin.disconnect();
await redis.stop();

if (asJson) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log("\n| measure | batchjob | BullMQ 6.7 | ratio |");
  console.log("|---|---:|---:|---:|");
  for (const r of rows) {
    const rt = r.unit === "bytes" ? `${(r.batchjob / r.bullmq).toFixed(2)}× the memory` : ratio(r.batchjob, r.bullmq);
    console.log(`| ${r.metric} | ${fmt(r.batchjob)} ${r.unit} | ${fmt(r.bullmq)} ${r.unit} | ${rt} |`);
  }
}
