import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, Lifecycle, STEP_LIMIT_MS } from "../src/index.js";

/** A logger whose records are kept as parsed objects. */
function recordingLog() {
  const records: { msg: string; step?: string }[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) records.push(JSON.parse(line));
      done();
    },
  });
  return { log: createLogger("lifecycle-test", { level: "warn", destination }), records };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("Lifecycle.stop", () => {
  it("goes on past a release step that never ends, after STEP_LIMIT_MS, and names it", async () => {
    vi.useFakeTimers();
    const { log, records } = recordingLog();
    const life = new Lifecycle(log);
    const ran: string[] = [];
    life.add("redis", () => ran.push("redis"));
    life.add("inbox", () => new Promise(() => {}));
    let stopped = false;
    void life.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(STEP_LIMIT_MS - 1);
    expect({ stopped, ran }).toEqual({ stopped: false, ran: [] });
    await vi.advanceTimersByTimeAsync(1);
    expect({ stopped, ran }).toEqual({ stopped: true, ran: ["redis"] });
    expect(records).toContainEqual(
      expect.objectContaining({ step: "inbox", msg: "shutdown step did not finish in time; going on" }),
    );
  });

  it("waits as long as it takes for a step added unbounded", async () => {
    vi.useFakeTimers();
    const { log, records } = recordingLog();
    const life = new Lifecycle(log);
    let finish: () => void = () => {};
    const draining = new Promise<void>((resolve) => {
      finish = resolve;
    });
    life.add("workers", () => draining, { unbounded: true });
    let stopped = false;
    void life.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(10 * STEP_LIMIT_MS);
    expect(stopped).toBe(false);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(true);
    expect(records).toEqual([]);
  });
});
