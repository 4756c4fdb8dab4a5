/**
 * The worker daemon's settles write the per-minute metrics (#10): items done
 * and each chunk with the run time the daemon measured, no extra call.
 */
import { TypeMetrics } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, testWorker } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

describe("per-minute metrics from a worker daemon", () => {
  it("counts the items done and each chunk with its run time", async () => {
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      if (inline) Object.assign(inline, { chunkSize: 10, prefetch: false });
    });
    const w = await testWorker(config);
    const c = controlFor(config);
    try {
      await c.queue.enqueue(
        "inline",
        Array.from({ length: 30 }, (_, i) => ({ payload: { i } })),
      );
      await c.dispatch(w.hostId, "inline");
      await waitFor("30 items acked", async () => (await c.queue.counts("inline")).acked === 30);
      const series = await new TypeMetrics(c.client, c.keys).series("inline", 5);
      const sum = (f: "done" | "chunks" | "runCount" | "retried" | "dead") => series.reduce((a, p) => a + p[f], 0);
      expect({
        done: sum("done"),
        chunks: sum("chunks"),
        timed: sum("runCount"),
        failed: sum("retried") + sum("dead"),
      }).toEqual({ done: 30, chunks: 3, timed: 3, failed: 0 });
    } finally {
      await w.stop();
      await c.close();
    }
  });
});
