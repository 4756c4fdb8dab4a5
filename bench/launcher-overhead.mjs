#!/usr/bin/env node
// Launcher overhead: the time one chunk of 1 item takes through each launcher
// with an empty job, one chunk after another, after a warm-up. Prints a
// markdown table of mean / p50 / p95 ms per chunk next to each target.
//   1. inline: a no-op function in this process;
//   2. fork: a no-op module in the long-lived child (IPC round trip + /proc reads);
//   3. http: a node:http receiver in this process on loopback that verifies the signature;
//   4. spawn: `node -e` reading stdin, printing one result line (a fresh process per chunk);
//      next to the same script spawned without the launcher, and a bare `node -e ""`.
// Usage: npx tsc -b && node bench/launcher-overhead.mjs [--chunks 200] [--json]
import { spawn as spawnProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, newChunkId } from "../packages/core/dist/index.js";
import { createLauncher } from "../packages/worker/dist/launchers/create.js";
import { verifySignature } from "../packages/worker/dist/signature.js";

const args = process.argv.slice(2);
const chunksArg = args.indexOf("--chunks");
const CHUNKS = chunksArg >= 0 ? Number(args[chunksArg + 1]) : 200;
const SPAWN_CHUNKS = Math.min(CHUNKS, 40);
const asJson = args.includes("--json");
const log = createLogger("bench", { level: "silent" });
const SECRET = "bench-secret-of-at-least-16-chars";

/** A one-item chunk in the form the launcher takes: payloads parsed (inline) or as JSON text (fork, spawn, http). */
const batch = (launcher) => ({
  id: newChunkId(),
  jobType: "bench",
  items: [{ id: "item-1", payload: launcher?.payloads === "json" ? '{"n":1}' : { n: 1 }, attempts: 0 }],
  size: 1,
  leaseDeadline: Date.now() + 60_000,
});

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: ms.length, mean: ms.reduce((a, b) => a + b, 0) / ms.length, p50: at(0.5), p95: at(0.95) };
}

/** Runs `warmup` then `n` chunks one after another; checks every report is a success. */
async function measure(launcher, n, warmup) {
  const signal = new AbortController().signal;
  const times = [];
  for (let i = 0; i < warmup + n; i++) {
    const t = performance.now();
    const report = await launcher.run(batch(launcher), { signal, log });
    const dt = performance.now() - t;
    if (!report.unreported.ok || report.fatal) throw new Error(`${launcher.kind}: ${JSON.stringify(report)}`);
    if (i >= warmup) times.push(dt);
  }
  return stats(times);
}

const dir = mkdtempSync(join(tmpdir(), "bj-bench-"));
const rows = [];
try {
  const ctx = { jobType: "bench", baseDir: dir, log };

  const inline = await createLauncher({ kind: "inline", job: () => {}, export: "default", timeoutMs: 60_000 }, ctx);
  rows.push({ launcher: "inline", target: "-", ...(await measure(inline, CHUNKS, 200)) });
  await inline.close();

  writeFileSync(join(dir, "empty.mjs"), "export default function work() {}\n");
  const spec = { kind: "fork", module: "empty.mjs", export: "default", timeoutMs: 60_000, memoryLimitMb: 512 };
  const fork = await createLauncher(spec, ctx);
  rows.push({ launcher: "fork", target: "≤ 1 ms", ...(await measure(fork, CHUNKS, 200)) });
  await fork.close();

  const server = createServer((req, res) => {
    const parts = [];
    req.on("data", (p) => parts.push(p));
    req.on("end", async () => {
      const body = Buffer.concat(parts);
      const check = await verifySignature({ secret: SECRET, headers: req.headers, body });
      if (!check.ok) return res.writeHead(401).end(check.reason);
      const { items } = JSON.parse(body.toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ results: items.map((i) => ({ id: i.id, ok: true })) }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${server.address().port}/`;
  const http = await createLauncher({ kind: "http", url, secret: SECRET, timeoutMs: 60_000 }, ctx);
  rows.push({ launcher: "http (loopback)", target: "≤ 2 ms", ...(await measure(http, CHUNKS, 200)) });
  await http.close();
  server.closeAllConnections();
  server.close();

  const script =
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const i of JSON.parse(s).items)console.log(JSON.stringify({id:i.id,ok:true}))})';
  const spawnSpec = { kind: "spawn", command: process.execPath, args: ["-e", script], timeoutMs: 60_000 };
  const spawn = await createLauncher(spawnSpec, ctx);
  rows.push({ launcher: "spawn (node -e)", target: "≤ 60 ms", ...(await measure(spawn, SPAWN_CHUNKS, 3)) });
  await spawn.close();

  /** Spawns node with `args`, writes a chunk to stdin, waits for "close": the floor under the spawn launcher. */
  const raw = async (args) => {
    const times = [];
    for (let i = 0; i < SPAWN_CHUNKS + 3; i++) {
      const t = performance.now();
      const p = spawnProcess(process.execPath, args, { stdio: "pipe" });
      p.stdout.resume();
      p.stderr.resume();
      p.stdin.on("error", () => {}).end(JSON.stringify(batch()));
      await once(p, "close");
      if (i >= 3) times.push(performance.now() - t);
    }
    return stats(times);
  };
  rows.push({ launcher: "same script, spawned without the launcher", target: "-", ...(await raw(["-e", script])) });
  rows.push({ launcher: 'bare `node -e ""`', target: "-", ...(await raw(["-e", ""])) });
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (asJson) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const f = (x) => x.toFixed(3);
  console.log(`Node ${process.version}, chunks of 1 item, one at a time\n`);
  console.log("| launcher | chunks | mean ms | p50 ms | p95 ms | target |");
  console.log("|---|---:|---:|---:|---:|---|");
  for (const r of rows) {
    console.log(`| ${r.launcher} | ${r.n} | ${f(r.mean)} | ${f(r.p50)} | ${f(r.p95)} | ${r.target} |`);
  }
}
