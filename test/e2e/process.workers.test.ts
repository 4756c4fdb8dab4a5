/**
 * The `process` launcher in a deployment: a manager and a worker daemon run the example worker
 * loops (examples/python-worker/worker.py per item, examples/php-worker/worker.php per chunk)
 * with the examples' own launcher configs; every item is done, the items the examples refuse are
 * dead with their error, and each worker's one process served several chunks.
 */
import { readFileSync } from "node:fs";
import { parseConfig, RedisWorkerHistory } from "@batchjob/core";
import { builtinLaunchers } from "@batchjob/worker";
import { describe, expect, it } from "vitest";
import { missing, PHP, PYTHON, ROOT } from "../clients/run-client-tests.js";
import { controlFor, rawE2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

const why =
  [
    missing(PYTHON, ["-c", "import sys; sys.exit(sys.version_info < (3, 9))"], "no Python 3.9+ at /usr/bin/python3"),
    missing(PHP, ["-r", "exit(PHP_VERSION_ID >= 80200 ? 0 : 1);"], "no PHP 8.2+"),
  ]
    .filter(Boolean)
    .join("; ") || null;

/** The job type of an example's config, run from the example's folder, with test timings. */
function exampleType(example: string, command: string): Record<string, unknown> {
  const config = JSON.parse(readFileSync(`${ROOT}examples/${example}/batchjob.config.json`, "utf8")) as {
    jobTypes: { launcher: Record<string, unknown> }[];
  };
  const [type] = config.jobTypes;
  if (!type) throw new Error(`no job type in examples/${example}`);
  return {
    ...type,
    chunkSize: 5,
    cooldownSeconds: 0,
    parallel: { high: 2, medium: 2, low: 2 },
    leaseMs: 30_000,
    backoff: { type: "fixed", delayMs: 0 },
    launcher: { ...type.launcher, command, cwd: `${ROOT}examples/${example}`, timeoutMs: 20_000 },
  };
}

describe(why ? `process launcher in a deployment (skipped: ${why})` : "process launcher in a deployment", () => {
  it.skipIf(why !== null)("runs the Python and PHP example worker loops until every item is done", async () => {
    const raw = await rawE2eConfig();
    raw.jobTypes = [exampleType("python-worker", PYTHON), exampleType("php-worker", PHP)];
    const config = parseConfig(raw, "process e2e config", builtinLaunchers);
    const c = controlFor(config);
    const stops: (() => Promise<void>)[] = [];
    try {
      const emails = Array.from({ length: 40 }, (_, i) => ({
        id: `p${i}`,
        payload: { email: `user${i}@example.com` },
      }));
      const skus = Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, payload: { sku: `SKU-${i}`, qty: i } }));
      await c.queue.enqueue("crm-export", [...emails, { id: "p-bad", payload: { name: "no email here" } }]);
      await c.queue.enqueue("stock-sync", [...skus, { id: "s-bad", payload: { qty: 1 } }]);

      const w = await testWorker(config);
      stops.push(() => w.stop());
      const m = await testManager(config);
      stops.push(() => m.stop());

      for (const [type, bad, error] of [
        ["crm-export", "p-bad", "no email"],
        ["stock-sync", "s-bad", "no sku"],
      ] as const) {
        const counts = await waitFor(
          `every ${type} item to be acked or dead`,
          async () => {
            const n = await c.queue.counts(type);
            return n.acked + n.dead === 41 && n.pending === 0 && n.leased === 0 ? n : null;
          },
          60_000,
        );
        expect(counts).toMatchObject({ acked: 40, dead: 1, retried: 0 });
        const dead = await c.queue.listDead(type);
        expect(dead.map((d) => [d.id, d.error])).toEqual([[bad, error]]);
      }

      // the workers ran through the process launcher, a process serving many chunks
      const history = new RedisWorkerHistory(c.client, c.keys);
      const entries = await waitFor("the workers' history", async () => {
        const l = await history.list();
        const types = new Set(l.map((h) => h.jobType));
        return types.has("crm-export") && types.has("stock-sync") ? l : null;
      });
      for (const h of entries) expect(h.launcher).toBe("process");
      expect(Math.max(...entries.map((h) => h.chunks))).toBeGreaterThan(1);
      expect(entries.filter((h) => h.exitReason !== "drained" && h.exitReason !== "scaled-down")).toEqual([]);
    } finally {
      for (const stop of stops.reverse()) await stop();
      await c.close();
    }
  });
});
