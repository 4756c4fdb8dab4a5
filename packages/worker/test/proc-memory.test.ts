import { describe, expect, it } from "vitest";
import { MemoryPoller } from "../src/launchers/proc-memory.js";

describe("MemoryPoller", () => {
  it("has a peak as soon as it is made, before its first timed sample", () => {
    const p = new MemoryPoller(process.pid, 60_000);
    try {
      expect(p.peakBytes).toBeGreaterThanOrEqual(process.memoryUsage.rss() / 2);
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
