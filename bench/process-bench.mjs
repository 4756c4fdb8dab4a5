#!/usr/bin/env node
// Per-chunk overhead of the process launcher beside spawn and fork: the time one chunk takes
// through each launcher with a job that does nothing, one chunk after another, after a warm-up.
// Prints a markdown table of mean / p50 / p95 ms per chunk and the CPU time this process (the
// daemon's side) spent per chunk, which a busy machine inflates less than the wall-clock times.
//   1. process: a long-lived worker loop per language (Node by hand, Python's batchjob_client.worker,
//      PHP's Batchjob\Client\Worker), chunks as JSON lines (pipe round trip + /proc reads);
//   2. fork: a no-op module in the long-lived Node child (IPC round trip + /proc reads);
//   3. spawn: a fresh process per chunk in the same three languages, reading the chunk on stdin.
// Usage: npx tsc -b && node bench/process-bench.mjs [--chunks 1000] [--items 1] [--json]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger, newChunkId } from "../packages/core/dist/index.js";
import { createLauncher } from "../packages/worker/dist/launchers/create.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const CHUNKS = arg("--chunks", 1000);
const ITEMS = arg("--items", 1);
const SPAWN_CHUNKS = Math.min(CHUNKS, 30);
const asJson = args.includes("--json");
const log = createLogger("bench", { level: "silent" });
const PYTHON = "/usr/bin/python3";
const PHP = "php";

/** A chunk of ITEMS items with payloads as JSON text (what process, fork and spawn take). */
const batch = () => {
  const items = Array.from({ length: ITEMS }, (_, i) => ({ id: `item-${i}`, payload: `{"n":${i}}`, attempts: 0 }));
  return { id: newChunkId(), jobType: "bench", items, size: ITEMS, leaseDeadline: Date.now() + 60_000 };
};

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: ms.length, mean: ms.reduce((a, b) => a + b, 0) / ms.length, p50: at(0.5), p95: at(0.95) };
}

/** Runs `warmup` then `n` chunks one after another; checks every item of every report is a success. */
async function measure(launcher, n, warmup) {
  const signal = new AbortController().signal;
  const times = [];
  let cpu;
  for (let i = 0; i < warmup + n; i++) {
    if (i === warmup) cpu = process.cpuUsage();
    const b = batch();
    const t = performance.now();
    const report = await launcher.run(b, { signal, log });
    const dt = performance.now() - t;
    const failed = b.items.filter((it) => report.results.get(it.id)?.ok === false);
    if (!report.unreported.ok || report.fatal || failed.length > 0) {
      throw new Error(`${launcher.kind}: ${JSON.stringify({ ...report, results: [...report.results] })}`);
    }
    if (i >= warmup) times.push(dt);
  }
  const used = process.cpuUsage(cpu);
  // the daemon's own CPU per chunk (user + system): what a worker host pays, whatever else the machine runs
  return { ...stats(times), cpuMs: (used.user + used.system) / 1000 / n };
}

function runs(command, argv) {
  try {
    execFileSync(command, argv, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const dir = mkdtempSync(join(tmpdir(), "bj-bench-process-"));
const rows = [];
try {
  const ctx = { jobType: "bench", baseDir: dir, log };
  const pythonEnv = { PYTHONPATH: join(ROOT, "clients/python"), PYTHONDONTWRITEBYTECODE: "1" };
  writeFileSync(
    join(dir, "loop.mjs"),
    `import { createInterface } from "node:readline";
const out = (m) => process.stdout.write(JSON.stringify(m) + "\\n");
out({ ready: 1 });
for await (const line of createInterface({ input: process.stdin })) {
  const { chunk } = JSON.parse(line);
  let s = "";
  for (const i of chunk.items) s += JSON.stringify({ running: i.id }) + "\\n" + JSON.stringify({ id: i.id, ok: true }) + "\\n";
  process.stdout.write(s + JSON.stringify({ done: chunk.chunkId }) + "\\n");
}
`,
  );
  writeFileSync(join(dir, "loop.py"), "from batchjob_client.worker import run\nrun(lambda item: None)\n");
  writeFileSync(
    join(dir, "loop.php"),
    `<?php require ${JSON.stringify(join(ROOT, "clients/php/src/autoload.php"))};\nBatchjob\\Client\\Worker::run(static function ($item): void {});\n`,
  );
  writeFileSync(join(dir, "empty.mjs"), "export default function work() {}\n");
  writeFileSync(
    join(dir, "spawn.mjs"),
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const i of JSON.parse(s).items)console.log(JSON.stringify({id:i.id,ok:true}))})\n',
  );
  writeFileSync(
    join(dir, "spawn.py"),
    'import json, sys\nfor i in json.load(sys.stdin)["items"]:\n    print(json.dumps({"id": i["id"], "ok": True}))\n',
  );
  writeFileSync(
    join(dir, "spawn.php"),
    '<?php foreach (json_decode(stream_get_contents(STDIN), true)["items"] as $i) { echo json_encode(["id" => $i["id"], "ok" => true]), "\\n"; }\n',
  );

  const hasPython = runs(PYTHON, ["--version"]);
  const hasPhp = runs(PHP, ["--version"]);
  const languages = [
    { name: "Node", command: process.execPath, ext: "mjs", env: {}, here: true },
    { name: "Python", command: PYTHON, ext: "py", env: pythonEnv, here: hasPython },
    { name: "PHP", command: PHP, ext: "php", env: {}, here: hasPhp },
  ];

  for (const lang of languages.filter((l) => l.here)) {
    const spec = {
      kind: "process",
      command: lang.command,
      args: [`loop.${lang.ext}`],
      env: lang.env,
      timeoutMs: 60_000,
    };
    const launcher = await createLauncher(spec, ctx);
    rows.push({ launcher: `process (${lang.name} loop)`, ...(await measure(launcher, CHUNKS, 100)) });
    await launcher.close();
  }

  const fork = await createLauncher({ kind: "fork", module: "empty.mjs", timeoutMs: 60_000 }, ctx);
  rows.push({ launcher: "fork (Node module)", ...(await measure(fork, CHUNKS, 100)) });
  await fork.close();

  for (const lang of languages.filter((l) => l.here)) {
    const spec = {
      kind: "spawn",
      command: lang.command,
      args: [`spawn.${lang.ext}`],
      env: lang.env,
      timeoutMs: 60_000,
    };
    const launcher = await createLauncher(spec, ctx);
    rows.push({ launcher: `spawn (${lang.name} script)`, ...(await measure(launcher, SPAWN_CHUNKS, 3)) });
    await launcher.close();
  }
  for (const lang of languages.filter((l) => !l.here))
    console.error(`${lang.name}: ${lang.command} not found, skipped`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (asJson) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const f = (x) => x.toFixed(3);
  console.log(
    `Node ${process.version}, chunks of ${ITEMS} item${ITEMS === 1 ? "" : "s"}, one at a time, a job that does nothing\n`,
  );
  console.log("| launcher | chunks | mean ms | p50 ms | p95 ms | daemon CPU ms |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.launcher} | ${r.n} | ${f(r.mean)} | ${f(r.p50)} | ${f(r.p95)} | ${f(r.cpuMs)} |`);
  }
}
