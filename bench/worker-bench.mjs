#!/usr/bin/env node
// End-to-end benchmark: one worker daemon draining a queue of no-op items
// through the inline and fork launchers, next to BullMQ's Worker (no-op
// processor, concurrency 50) on the same Redis in the same run. Rows: 4
// workers at chunk 100 and 1000, and (#12) one worker at chunk 1 and 4
// workers of fork at chunk 100, each with prefetch auto and off next to a
// BullMQ measure taken just before the pair. Prints a markdown table.
// Usage: node bench/worker-bench.mjs [--items N] [--only prefetch] [--no-warmup]
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchQueue, connectRedis, createLogger, makeKeys, newId, parseConfig } from "../packages/core/dist/index.js";
import { Dispatcher } from "../packages/manager/dist/index.js";
import { startWorker } from "../packages/worker/dist/index.js";
import { benchRedis, bullmqProcessingRate, fmt, ratio } from "./redis.mjs";

const args = process.argv.slice(2);
const at = args.indexOf("--items");
const N = at >= 0 ? Number(args[at + 1]) : 100_000;
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const WORKERS = 4;
// --no-warmup: measure the prefetch rows cold (each row's first lot in the process)
const warmup = !args.includes("--no-warmup");
const WARMUP_ITEMS = 5_000;
const PAYLOAD = { user: 12345, action: "resize", file: "x".repeat(58) };
const log = createLogger("bench", { level: "silent" });
const redis = await benchRedis();
const dir = mkdtempSync(join(tmpdir(), "bj-bench-"));
writeFileSync(join(dir, "noop.mjs"), "export default function noop() {}\n");

async function bullRate(n) {
  const c = connectRedis(redis.url);
  await c.flushall();
  await c.quit();
  return bullmqProcessingRate(redis.url, n, PAYLOAD);
}

async function batchjobRate(kind, chunkSize, n, { workers = WORKERS, prefetch = "auto" } = {}) {
  const prefix = `wb${kind}${chunkSize}${workers}${prefetch}`;
  const launcher =
    kind === "inline" ? { kind, module: "./noop.mjs" } : { kind, module: "./noop.mjs", timeoutMs: 60_000 };
  const config = parseConfig({
    prefix,
    jobTypes: [{ name: "bench", chunkSize, leaseMs: 60_000, idleMs: 0, prefetch, launcher }],
    worker: { slots: workers, heartbeatMs: 1000 },
  });
  const client = connectRedis(redis.url, { daemon: true });
  await client.flushall();
  const queue = new BatchQueue({ redis: client, prefix });
  const items = Array.from({ length: n }, () => ({ payload: PAYLOAD }));
  for (let i = 0; i < n; i += 50_000) await queue.enqueue("bench", items.slice(i, i + 50_000));
  const daemon = await startWorker({ config, baseDir: dir, redisUrl: redis.url, logger: log, slots: workers });
  const dispatcher = new Dispatcher(client, makeKeys(prefix), "bench");
  const t = performance.now();
  for (let w = 0; w < workers; w++) {
    // as the manager starts a worker: a reservation, dispatched; the worker acquires its chunks itself
    const reservationId = newId();
    await queue.reserve("bench", [reservationId]);
    await dispatcher.dispatch(daemon.hostId, { jobType: "bench", reservationId });
  }
  while ((await queue.counts("bench")).total > 0) await new Promise((r) => setTimeout(r, 5));
  const s = (performance.now() - t) / 1000;
  const acked = (await queue.counts("bench")).acked;
  if (acked !== n) throw new Error(`acked ${acked} of ${n}`);
  await daemon.stop();
  await dispatcher.close();
  await client.quit();
  return n / s;
}

const rows = [];
// 4 workers at chunk 100 and 1000, against one BullMQ measure taken first
if (only !== "prefetch") {
  const bull = await bullRate(Math.min(N, 50_000));
  for (const [kind, chunk] of [
    ["inline", 100],
    ["inline", 1000],
    ["fork", 100],
    ["fork", 1000],
  ]) {
    const rate = await batchjobRate(kind, chunk, N);
    rows.push([`${kind}, chunk ${chunk}, ${WORKERS} workers on one daemon`, rate, bull]);
  }
}
// #12: prefetch auto (the default) and off, each pair next to a BullMQ measure taken just before it (the
// machine's load moves; a pair and its reference are seconds apart): one worker at chunk 1 (one settle
// round trip per item; auto holds 4 chunks ahead), fork with 4 workers at chunk 100 (auto: 1 ahead)
for (const [kind, chunk, workers] of [
  ["inline", 1, 1],
  ["fork", 1, 1],
  ["fork", 100, WORKERS],
]) {
  // chunk 1 moves a few thousand items/s: a fifth of the items keeps the run short
  const n = chunk === 1 ? Math.min(N, 20_000) : N;
  // each side runs a short lot first, not counted: a daemon runs for hours, and a run of a second or two
  // measures the JIT warming up as much as the system (at chunk 1 batchjob's first lot runs 0.8x its third)
  if (warmup) {
    await bullRate(WARMUP_ITEMS);
    await batchjobRate(kind, chunk, WARMUP_ITEMS, { workers });
  }
  const bull = await bullRate(Math.min(n, 20_000));
  for (const prefetch of ["auto", false]) {
    const rate = await batchjobRate(kind, chunk, n, { workers, prefetch });
    const w = `${workers} worker${workers > 1 ? "s" : ""}`;
    rows.push([`${kind}, chunk ${chunk}, ${w} on one daemon, prefetch ${prefetch || "off"}`, rate, bull]);
  }
}
await redis.stop();
console.log(`\n${fmt(N)} no-op items end to end (enqueued first; time from the first dispatch to the queue empty)\n`);
console.log("| measure | batchjob | BullMQ 6.7 Worker (concurrency 50) | ratio |");
console.log("|---|---:|---:|---:|");
for (const [m, r, bull] of rows) console.log(`| ${m} | ${fmt(r)} items/s | ${fmt(bull)} items/s | ${ratio(r, bull)} |`);
