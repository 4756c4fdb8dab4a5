#!/usr/bin/env node
// Where the share of a bare drain goes (#12, item 5): the same 100-byte
// entries drained on 4 connections three ways, each measured for items/s,
// Redis CPU per item (INFO cpu) and this process's CPU per item:
//   bare         `LPOP key K`: what one Redis hands out at all (no lease, no ack);
//   copy+return  the least a lease that survives its holder can do: one script
//                that pops K entries, copies them into the chunk's own list
//                (RPUSH) and records the lease (ZADD), returning the entries;
//                the ack is a DEL of that list;
//   copy+lrange  the same script returning only the count, the entries read
//                by an LRANGE of the chunk's list sent right behind it.
// Not batchjob's scripts (they also keep counts, failure records and groups):
// a bound on what any copy-based lease reaches on this machine.
// Usage: node bench/lease-shapes-bench.mjs [--items N] [--runs R]
import { Redis } from "ioredis";
import { benchRedis, fmt, redisCpuSeconds } from "./redis.mjs";

const args = process.argv.slice(2);
const opt = (name, d) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const N = opt("--items", 500_000);
const RUNS = opt("--runs", 2);
const PAYLOAD = JSON.stringify({ user: 12345, action: "resize", file: "x".repeat(58) });
const COPY = (ret) => `local e = redis.call('LPOP', KEYS[1], ARGV[1])
if not e then return ${ret === "entries" ? "{}" : "0"} end
for i = 1, #e, 1000 do redis.call('RPUSH', KEYS[2], unpack(e, i, math.min(i + 999, #e))) end
redis.call('ZADD', KEYS[3], 1, ARGV[2])
return ${ret === "entries" ? "e" : "#e"}`;

const redis = await benchRedis();
const admin = new Redis(redis.url);

async function fill(n) {
  await admin.flushall();
  for (let i = 0; i < n; i += 10_000)
    await admin.rpush("p", ...Array.from({ length: Math.min(10_000, n - i) }, (_, j) => `${i + j}\t${PAYLOAD}`));
}

async function drain(kind, K, n = N) {
  await fill(n);
  const cs = Array.from({ length: 4 }, () => new Redis(redis.url));
  for (const c of cs) {
    c.defineCommand("copyEntries", { numberOfKeys: 3, lua: COPY("entries") });
    c.defineCommand("copyCount", { numberOfKeys: 3, lua: COPY("count") });
  }
  await Promise.all(cs.map((c) => c.ping()));
  const cpu0 = await redisCpuSeconds(admin);
  const u0 = process.cpuUsage();
  const t = performance.now();
  let got = 0;
  await Promise.all(
    cs.map(async (c, w) => {
      for (let n = 0; ; n++) {
        const chunk = `c:${w}:${n}`;
        let items;
        if (kind === "bare") items = await c.lpop("p", K);
        else if (kind === "copy+return") {
          items = await c.copyEntries("p", chunk, "leases", K, chunk);
          await c.del(chunk);
        } else {
          const [count, list] = await Promise.all([
            c.copyCount("p", chunk, "leases", K, chunk),
            c.lrange(chunk, 0, -1),
          ]);
          items = count > 0 ? list : null;
          await c.del(chunk);
        }
        if (!items || items.length === 0) break;
        // split each entry into id and payload, as a consumer does
        for (const e of items) if (e.slice(0, e.indexOf("\t")).length > 0) got++;
      }
    }),
  );
  const s = (performance.now() - t) / 1000;
  const u = process.cpuUsage(u0);
  const redisUs = (((await redisCpuSeconds(admin)) - cpu0) * 1e6) / n;
  await Promise.all(cs.map((c) => c.quit()));
  if (got !== n) throw new Error(`${kind}: drained ${got} of ${n}`);
  return { rate: n / s, redisUs, clientUs: (u.user + u.system) / n };
}

// a short uncounted lot of each first: the first drains in a process measure the JIT warming up
for (const kind of ["bare", "copy+return", "copy+lrange"]) await drain(kind, 100, Math.min(N, 50_000));
const rows = [];
for (const K of [100, 1000])
  for (let r = 1; r <= RUNS; r++) {
    const m = {};
    for (const kind of ["bare", "copy+return", "copy+lrange"]) m[kind] = await drain(kind, K);
    rows.push({ K, r, m });
  }
await admin.quit();
await redis.stop();
console.log(`\n${fmt(N)} entries of 100 bytes, 4 connections; share = items/s ÷ the bare drain's in the same run\n`);
console.log(
  "| K | run | bare `LPOP key K` | copy+return (share) | copy+lrange (share) | Redis µs per item: bare / return / lrange | client µs per item: bare / return / lrange |",
);
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const { K, r, m } of rows) {
  const b = m.bare;
  const share = (x) => `${fmt(x.rate)} (${Math.round((100 * x.rate) / b.rate)}%)`;
  const us = (f) => ["bare", "copy+return", "copy+lrange"].map((k) => m[k][f].toFixed(2)).join(" / ");
  console.log(
    `| ${K} | ${r} | ${fmt(b.rate)} | ${share(m["copy+return"])} | ${share(m["copy+lrange"])} | ${us("redisUs")} | ${us("clientUs")} |`,
  );
}
