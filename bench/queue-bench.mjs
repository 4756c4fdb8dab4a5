#!/usr/bin/env node
// Queue benchmark: batchjob's BatchQueue next to BullMQ 6.7 on the same Redis
// in the same run. Prints a markdown table of
//   1. enqueue items/s (calls of 1,000 items; BullMQ Queue.addBulk of 1,000)
//   2. acquire+ack items/s at chunk 1, 10, 100, 1000 with 1 and 4 consumers
//      (settle = ack of a chunk + acquire of the next, one round trip), against
//      one BullMQ Worker with a no-op processor at concurrency 50
//   3. Redis memory per queued item (100-byte payload) against BullMQ's per job
//   4. the reference (#12): a bare drain of the same entries with `LPOP key K` on
//      4 connections (no lease, no ack), what one Redis can hand out at all, and
//      acquire+ack's share of it at chunk 100 and 1000, with payloads parsed (the
//      default) and left as unchecked text (`json: "unchecked"`: the fork launcher's)
//   5. Redis CPU per item (INFO used_cpu_user + used_cpu_sys) for each row
//   6. what the per-minute metrics cost on settle (#10): acquire+ack at chunk
//      1, 100 and 1000 (4 consumers; 20,000, 3N and 5N items) with the metrics
//      off (metricsWindowMinutes 0) and on (the default), runs interleaved, the
//      median of 5 each
// Usage: node bench/queue-bench.mjs [--items N] [--json] [--only metrics|reference]
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { BatchQueue } from "../packages/core/dist/index.js";
import {
  benchRedis,
  bullmqCpuPerJobUs,
  bullmqProcessingRate,
  fmt,
  ratio,
  redisCpuSeconds,
  usedMemory,
} from "./redis.mjs";

const args = process.argv.slice(2);
const itemsArg = args.indexOf("--items");
const N = itemsArg >= 0 ? Number(args[itemsArg + 1]) : 100_000;
const asJson = args.includes("--json");
const onlyArg = args.indexOf("--only");
const only = onlyArg >= 0 ? args[onlyArg + 1] : null;
if (only !== null && only !== "metrics" && only !== "reference")
  throw new Error(`--only takes "metrics" or "reference", got ${JSON.stringify(only)}`);

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
  await q.counts("bench"); // connect first
  const cpu0 = await redisCpuSeconds(admin);
  const t = performance.now();
  for (let i = 0; i < n; i += batch) await q.enqueue("bench", items.slice(i, i + batch));
  const s = (performance.now() - t) / 1000;
  lastCpuPerItemUs = (((await redisCpuSeconds(admin)) - cpu0) * 1e6) / n;
  await q.close();
  return n / s;
}

async function bullEnqueue(n) {
  await flush();
  const q = new Queue("bench", { connection: { url: redis.url }, prefix: "bull" });
  await q.waitUntilReady();
  const jobs = Array.from({ length: n }, () => ({ name: "j", data: PAYLOAD }));
  const cpu0 = await redisCpuSeconds(admin);
  const t = performance.now();
  for (let i = 0; i < n; i += 1000) await q.addBulk(jobs.slice(i, i + 1000));
  const s = (performance.now() - t) / 1000;
  lastCpuPerItemUs = (((await redisCpuSeconds(admin)) - cpu0) * 1e6) / n;
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

/** `json`: AcquireOptions.json (false: payloads parsed; "unchecked": left as their stored text). */
async function bjDrain(n, chunk, consumers, metricsWindowMinutes = 1440, json = false) {
  await bjFill(n);
  const queues = Array.from(
    { length: consumers },
    () => new BatchQueue({ redis: redis.url, prefix: "bench", defaultSettings: { metricsWindowMinutes } }),
  );
  await Promise.all(queues.map((q) => q.counts("bench"))); // connect first
  let done = 0;
  const cpu0 = await redisCpuSeconds(admin);
  const t = performance.now();
  await Promise.all(
    queues.map(async (q) => {
      let b = await q.acquire("bench", { max: chunk, leaseMs: 60_000, json });
      while (b.size > 0) {
        done += b.size;
        // a run time, as the worker daemon reports it: the metrics write every field they can
        const outcome = { ack: b.items.map((i) => i.id), runMs: 1, whole: true };
        const r = await q.settle("bench", b.id, outcome, { max: chunk, leaseMs: 60_000, json });
        if (!r.next) break;
        b = r.next;
      }
    }),
  );
  const s = (performance.now() - t) / 1000;
  lastCpuPerItemUs = (((await redisCpuSeconds(admin)) - cpu0) * 1e6) / n;
  if (done !== n) throw new Error(`drained ${done} of ${n}`);
  await Promise.all(queues.map((q) => q.close()));
  return n / s;
}

/** Redis CPU (µs) per item of the last bjDrain. */
let lastCpuPerItemUs = Number.NaN;

/** What one Redis hands out at all: the same entries drained with `LPOP key K` on `consumers` connections. */
async function bareDrain(n, chunk, consumers) {
  await bjFill(n);
  const key = "bench:{bench}:pending";
  if ((await admin.llen(key)) !== n) throw new Error(`the bare drain expects ${key} to hold ${n} entries`);
  const conns = Array.from({ length: consumers }, () => new Redis(redis.url));
  await Promise.all(conns.map((c) => c.ping()));
  let done = 0;
  const cpu0 = await redisCpuSeconds(admin);
  const t = performance.now();
  await Promise.all(
    conns.map(async (c) => {
      for (;;) {
        const got = await c.lpop(key, chunk);
        if (!got) break;
        done += got.length;
      }
    }),
  );
  const s = (performance.now() - t) / 1000;
  lastCpuPerItemUs = (((await redisCpuSeconds(admin)) - cpu0) * 1e6) / n;
  if (done !== n) throw new Error(`drained ${done} of ${n}`);
  for (const c of conns) c.disconnect();
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

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Settle throughput with the per-minute metrics off and on, interleaved, the median of `runs` each. */
async function metricsCost(runs = 5) {
  const out = [];
  for (const chunk of [1, 100, 1000]) {
    // runs of about a second: a drain of 100,000 items at chunk 1000 takes a tenth of that, less than its noise
    const n = chunk === 1 ? Math.min(N, 20_000) : chunk === 100 ? 3 * N : 5 * N;
    const off = [];
    const on = [];
    const offCpu = [];
    const onCpu = [];
    for (let i = 0; i < runs; i++) {
      log(`metrics cost, chunk ${chunk}: run ${i + 1} of ${runs} ...`);
      off.push(await bjDrain(n, chunk, 4, 0));
      offCpu.push(lastCpuPerItemUs);
      on.push(await bjDrain(n, chunk, 4, 1440));
      onCpu.push(lastCpuPerItemUs);
    }
    out.push({ chunk, off: median(off), on: median(on), offCpu: median(offCpu), onCpu: median(onCpu) });
  }
  return out;
}

// runs of 5N items (a bare drain of N takes a few hundredths of a second, less than its noise): the bare drain,
// acquire+ack with payloads parsed and with payloads as unchecked text alternated three times, the median of each
async function reference() {
  const out = [];
  for (const chunk of [100, 1000]) {
    const rates = [];
    const ours = [];
    const text = [];
    const cpus = [];
    for (let i = 0; i < 3; i++) {
      log(
        `bare LPOP ${chunk} and acquire+ack chunk ${chunk}, 4 connections, ${fmt(5 * N)} items: run ${i + 1} of 3 ...`,
      );
      rates.push(await bareDrain(5 * N, chunk, 4));
      cpus.push(lastCpuPerItemUs);
      ours.push(await bjDrain(5 * N, chunk, 4));
      text.push(await bjDrain(5 * N, chunk, 4, 1440, "unchecked"));
    }
    const rate = median(rates);
    out.push({ chunk, rate, cpu: median(cpus), ours: median(ours), text: median(text), runs: { rates, ours, text } });
  }
  return out;
}

/** The reference table: the bare drain, acquire+ack (payloads parsed, and as text) and their shares. */
function printReference(bare) {
  const us = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} µs` : "-");
  const pct = (v) => `${(v * 100).toFixed(0)}%`;
  console.log(
    `\n| reference (${fmt(5 * N)} items, median of 3) | bare \`LPOP key K\`, 4 connections | its Redis CPU per item | acquire+ack chunk K, 4 consumers (share) | same, payloads as unchecked text (share) |`,
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const b of bare) {
    const ours = `${fmt(b.ours)} items/s (${pct(b.ours / b.rate)})`;
    const text = `${fmt(b.text)} items/s (${pct(b.text / b.rate)})`;
    console.log(`| K = ${b.chunk} | ${fmt(b.rate)} items/s | ${us(b.cpu)} | ${ours} | ${text} |`);
  }
}

if (only === "reference") {
  const bare = await reference();
  await flush();
  admin.disconnect();
  await redis.stop();
  if (asJson) console.log(JSON.stringify({ bare }, null, 2));
  else printReference(bare);
  process.exit(0);
}

if (only === "metrics") {
  const cost = await metricsCost();
  await flush();
  admin.disconnect();
  await redis.stop();
  console.log(
    "\n| acquire+ack, 4 consumers | metrics off | metrics on (24 h window) | throughput cost | Redis CPU per item, off → on |",
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const c of cost) {
    const pct = ((1 - c.on / c.off) * 100).toFixed(1);
    const cpu = `${c.offCpu.toFixed(2)} → ${c.onCpu.toFixed(2)} µs (${((c.onCpu / c.offCpu - 1) * 100).toFixed(1)}%)`;
    console.log(`| chunk ${c.chunk} | ${fmt(c.off)} items/s | ${fmt(c.on)} items/s | ${pct}% | ${cpu} |`);
  }
  process.exit(0);
}

const rows = [];
log(`items per run: ${fmt(N)}; Redis ${redis.url}`);

log("enqueue ...");
const bullEnq = await bullEnqueue(N);
const bullEnqCpu = lastCpuPerItemUs;
const bjEnq = await bjEnqueue(N);
rows.push({
  metric: "enqueue (calls of 1,000)",
  batchjob: bjEnq,
  bullmq: bullEnq,
  unit: "items/s",
  cpu: lastCpuPerItemUs,
  bullCpu: bullEnqCpu,
});

log("BullMQ worker ...");
const bullRate = await bullDrain(Math.min(N, 50_000));
const bullCpu = bullmqCpuPerJobUs;
const fourConsumers = new Map();
for (const chunk of [1, 10, 100, 1000]) {
  for (const consumers of chunk === 1 ? [1, 4, 16] : [1, 4]) {
    const n = chunk === 1 ? Math.min(N, 20_000) : chunk === 10 ? Math.min(N, 50_000) : N;
    log(`acquire+ack chunk ${chunk}, ${consumers} consumer(s) ...`);
    const rate = await bjDrain(n, chunk, consumers);
    if (consumers === 4) fourConsumers.set(chunk, rate);
    rows.push({
      metric: `acquire+ack chunk ${chunk}, ${consumers} consumer${consumers > 1 ? "s" : ""}`,
      batchjob: rate,
      bullmq: bullRate,
      unit: "items/s",
      cpu: lastCpuPerItemUs,
      bullCpu,
    });
  }
}

const bare = await reference();

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
  console.log(JSON.stringify({ rows, bare }, null, 2));
} else {
  const us = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} µs` : "-");
  console.log("\n| measure | batchjob | BullMQ 6.7 | ratio | Redis CPU per item: batchjob / BullMQ |");
  console.log("|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const rt = r.unit === "bytes" ? `${(r.batchjob / r.bullmq).toFixed(2)}× the memory` : ratio(r.batchjob, r.bullmq);
    const cpu = r.cpu === undefined ? "-" : `${us(r.cpu)} / ${us(r.bullCpu)}`;
    console.log(`| ${r.metric} | ${fmt(r.batchjob)} ${r.unit} | ${fmt(r.bullmq)} ${r.unit} | ${rt} | ${cpu} |`);
  }
  printReference(bare);
}
