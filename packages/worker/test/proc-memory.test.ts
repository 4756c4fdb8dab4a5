import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MemoryPoller, readProcMemory } from "../src/launchers/proc-memory.js";

const hasProc = existsSync("/proc/self/status");

describe("MemoryPoller", () => {
  it.skipIf(!hasProc)("has a peak as soon as it is made, before its first timed sample", () => {
    // a peak (VmHWM) never falls: the poller's first reading is at least the one taken just before it
    const before = readProcMemory(process.pid);
    const p = new MemoryPoller(process.pid, 60_000);
    try {
      expect(before).not.toBeNull();
      expect(p.peakBytes).toBeGreaterThanOrEqual(before?.peakBytes as number);
    } finally {
      p.stop();
    }
  });

  it("keeps the highest of the readings it is given", () => {
    const p = new MemoryPoller(-1, 60_000);
    try {
      expect(p.peakBytes).toBeNull();
      p.record({ rssBytes: 5, peakBytes: 7 });
      p.record({ rssBytes: 3, peakBytes: 4 });
      p.record(null);
      expect(p.peakBytes).toBe(7);
    } finally {
      p.stop();
    }
  });
});
