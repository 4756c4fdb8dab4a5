/**
 * The fork launcher's memory rule: a child is retired between chunks when its RSS, or its RSS plus
 * the largest growth of one chunk so far, passes memoryLimitMb, so a job that leaks across chunks
 * gets a fresh child instead of a kill mid-chunk; a kill mid-chunk names the item it was on.
 */
import { existsSync } from "node:fs";
import { createLogger } from "@batchjob/core";
import { afterEach, describe, expect, it } from "vitest";
import { ForkLauncher, retireReason } from "../src/launchers/fork.js";
import type { ChunkReport } from "../src/launchers/types.js";
import { fixture, jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const hasProc = existsSync("/proc/self/status");
const MB = 1024 * 1024;
let launcher: ForkLauncher | undefined;

afterEach(async () => {
  await launcher?.close();
  launcher = undefined;
});

describe("retireReason", () => {
  it.each([
    // rss, largest growth, limit (MB) -> retired?
    [100, 0, 200, false],
    [100, 99, 200, false],
    [100, 101, 200, true], // the next chunk would pass the limit
    [201, 0, 200, true], // above it already
    [200, 0, 200, false],
  ])("rss %i MB + growth %i MB against %i MB: retire %s", (rss, growth, limit, retired) => {
    expect(retireReason(rss * MB, growth * MB, limit * MB) !== undefined).toBe(retired);
  });
});

describe.skipIf(!hasProc)("fork launcher memory", () => {
  it("retires a child that leaks across chunks between chunks, before it would be killed mid-chunk", async () => {
    const { log, records } = captureLog();
    const limitMb = 190;
    const leakMb = 40;
    launcher = new ForkLauncher({
      jobType: "test",
      module: fixture("jobs/leak.mjs"),
      export: "default",
      timeoutMs: 20_000,
      memoryLimitMb: limitMb,
      log,
    });
    const reports: ChunkReport[] = [];
    // each chunk holds its new memory for 200 ms: the 100 ms RSS checks would see a child past the limit
    for (let i = 0; i < 8; i++)
      reports.push(
        await launcher.run(jsonBatchOf([{ mb: leakMb, holdMs: 200 }, {}]), {
          signal: new AbortController().signal,
          log,
        }),
      );

    // every chunk ended normally: no fatal memory-limit kill, no item failed or named running
    expect(reports.filter((r) => r.fatal !== undefined)).toEqual([]);
    for (const r of reports) {
      expect(r.unreported).toEqual({ ok: true });
      expect(r.running).toBeUndefined();
      expect([...r.results.values()]).toEqual([{ ok: true }, { ok: true }]);
    }
    // the chunks ran on several children (new pids), each retired while still under the limit...
    const ran = logged(records, "info").filter((r) => r.msg === "leak job ran");
    const pids = ran.map((r) => (r.obj as { pid: number }).pid);
    expect(pids).toHaveLength(8);
    expect(new Set(pids).size).toBeGreaterThanOrEqual(2);
    const retired = logged(records, "info").filter((r) => r.msg?.startsWith("fork child would pass memoryLimitMb"));
    expect(retired.length).toBe(new Set(pids).size - 1);
    for (const r of retired) {
      const { rssMb, growthMb } = r.obj as { rssMb: number; growthMb: number };
      // ...where the old rule (retire only above the limit) would have kept it, and its next chunk,
      // growing as much again, would have passed the limit mid-chunk
      expect(rssMb).toBeLessThanOrEqual(limitMb);
      expect(rssMb + growthMb).toBeGreaterThan(limitMb);
      expect(growthMb).toBeGreaterThanOrEqual(leakMb);
    }
    // and no child ever held more than the limit allows
    const leakedMb = ran.map((r) => (r.obj as { leakedMb: number }).leakedMb);
    expect(Math.max(...leakedMb)).toBeLessThan(limitMb);
  });

  it("a kill above the limit mid-chunk stays, and names the item the job was on", async () => {
    launcher = new ForkLauncher({
      jobType: "test",
      module: fixture("jobs/memory-hog.mjs"),
      export: "default",
      timeoutMs: 20_000,
      memoryLimitMb: 100,
      log: createLogger("test", { level: "silent" }),
    });
    const report = await launcher.run(jsonBatchOf([{ mb: 200, hold: true }, {}]), {
      signal: new AbortController().signal,
      log: createLogger("test", { level: "silent" }),
    });
    expect(report.fatal?.reason).toBe("memory-limit");
    expect(report.running).toBe("item-0");
    expect(report.results.size).toBe(0);
  });
});
