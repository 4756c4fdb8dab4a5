import { describe, expect, it } from "vitest";
import { LEAVE_FIRST_TRY_MS, Leaving } from "../src/leaving.js";
import { captureLog } from "./fixtures/capture-log.js";

const silentLogger = () => captureLog().log;

/** A step that fails its first `failures` tries (as Redis refusing), then succeeds. */
function flaky(failures: number) {
  const tries: number[] = [];
  const step = async () => {
    tries.push(performance.now());
    if (tries.length <= failures) throw new Error("MASTERDOWN Link with MASTER is down");
  };
  return { step, tries };
}

describe("a worker leaving the list", () => {
  it("leaves at the first try when Redis answers", async () => {
    const f = flaky(0);
    const l = new Leaving(f.step, silentLogger());
    expect(await l.firstTry).toBe(true);
    expect(await l.done).toBe(true);
    expect(f.tries).toHaveLength(1);
  });

  it("keeps trying with growing waits until Redis answers", async () => {
    const f = flaky(4);
    const l = new Leaving(f.step, silentLogger());
    expect(await l.firstTry).toBe(false);
    expect(await l.done).toBe(true);
    expect(f.tries).toHaveLength(5);
    const waits = f.tries.slice(1).map((t, i) => t - (f.tries[i] as number));
    // 100, 200, 400, 800 ms: each wait at least the one before (timers never fire early)
    for (const [i, w] of waits.entries()) expect(w).toBeGreaterThanOrEqual(100 * 2 ** i - 5);
  });

  it("does not hold the worker's end on a try Redis holds, and never runs two tries at once", async () => {
    let release: () => void = () => {};
    let running = 0;
    let most = 0;
    const step = () =>
      new Promise<void>((resolve) => {
        running++;
        most = Math.max(most, running);
        release = () => {
          running--;
          resolve();
        };
      });
    const l = new Leaving(step, silentLogger());
    const t0 = performance.now();
    expect(await l.firstTry).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(LEAVE_FIRST_TRY_MS - 5);
    l.hurry();
    release();
    expect(await l.done).toBe(true);
    expect(most).toBe(1);
  });

  it("hurry tries at once; abandon stops the retries", async () => {
    const f = flaky(Number.POSITIVE_INFINITY);
    const l = new Leaving(f.step, silentLogger());
    expect(await l.firstTry).toBe(false);
    const before = f.tries.length;
    // the backoff after the first try is 100 ms: a try before the next turn of the event loop is the hurry's
    l.hurry();
    await new Promise((r) => setImmediate(r));
    expect(f.tries.length).toBe(before + 1);
    l.abandon();
    expect(await l.done).toBe(false);
    // past the longest backoff so far, no try came
    const after = f.tries.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(f.tries.length).toBe(after);
  });
});
