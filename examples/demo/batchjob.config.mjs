// The demo deployment: three job types, one per launcher kind, on the same
// kind of work. `batchjob demo` runs it; REDIS_URL and BATCHJOB_PREFIX override
// the Redis and prefix below, as for any config file. Packed with the CLI as
// demo/ (its `prepack`), so `batchjob demo` works from an npm install too.
import { defineConfig } from "@batchjob/core";

export default defineConfig({
  prefix: "demo",
  jobTypes: [
    {
      // runs in the worker daemon's own process
      name: "checksums",
      chunkSize: 1000,
      parallel: { high: 2, medium: 3, low: 4 },
      cooldownSeconds: 0.5,
      minQueueEntries: 100,
      leaseMs: 15_000,
      launcher: { kind: "inline", module: "./jobs/checksum.mjs" },
    },
    {
      // one long-lived Node child per worker, chunks over IPC
      name: "renders",
      chunkSize: 500,
      parallel: { high: 1, medium: 2, low: 3 },
      cooldownSeconds: 0.5,
      leaseMs: 15_000,
      maxAttempts: 3,
      backoff: { type: "exponential", delayMs: 200, maxDelayMs: 2000 },
      launcher: { kind: "fork", module: "./jobs/render.mjs", memoryLimitMb: 256 },
    },
    {
      // any command: the chunk as JSON on stdin, one JSON line per item on stdout
      name: "legacy-export",
      chunkSize: 2000,
      parallel: { high: 1, medium: 1, low: 2 },
      cooldownSeconds: 1,
      leaseMs: 30_000,
      maxAttempts: 2,
      launcher: { kind: "spawn", command: process.execPath, args: ["./jobs/legacy-export.mjs"] },
    },
  ],
  worker: { slots: 4, heartbeatMs: 500, hostTtlMs: 5000, shutdownGraceMs: 10_000 },
  manager: { tickMs: 250, leaderLeaseMs: 3000, allocator: "least-load" },
});
