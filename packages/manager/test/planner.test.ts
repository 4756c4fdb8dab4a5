import { describe, expect, it } from "vitest";
import { type LoadLevel, plan, type TypeState } from "../src/index.js";

const config = {
  name: "t",
  chunkSize: 100,
  parallel: { high: 1, medium: 2, low: 4 },
  cooldownSeconds: 5,
  minQueueEntries: 50,
};

function state(over: Partial<TypeState> = {}): TypeState {
  return { config, pending: 10_000, running: 0, lastStartAt: undefined, ...over };
}

/** A tiny world: the manager's view ticking once a second; started workers run until told to stop. */
function simulate(steps: { level: LoadLevel; pending: number }[], cfg = config) {
  let running = 0;
  let lastStartAt: number | undefined;
  const out: { t: number; start: number; tokens: number; running: number; reason: string }[] = [];
  steps.forEach((s, i) => {
    const now = i * 1000;
    const d = plan({ config: cfg, pending: s.pending, running, lastStartAt }, s.level, now);
    if (d.start > 0) lastStartAt = now;
    running += d.start - d.stopTokens; // tokens are taken by workers at their next chunk
    out.push({ t: i, start: d.start, tokens: d.stopTokens, running, reason: d.reason });
  });
  return out;
}

describe("planner", () => {
  it.each([
    ["low", 4],
    ["medium", 2],
    ["high", 1],
  ] as const)("targets parallel.%s = %i", (level, target) => {
    const d = plan(state({ config: { ...config, cooldownSeconds: 0 } }), level, 0);
    expect(d).toMatchObject({ target, start: target, stopTokens: 0 });
    expect(d.reason).toBe(`${level} load: target ${target}, running 0, starting ${target}`);
  });

  it("starts nothing below minQueueEntries and says so", () => {
    const d = plan(state({ pending: 3 }), "low", 0);
    expect(d).toMatchObject({ start: 0, reason: "below minQueueEntries: 3 < 50" });
  });

  it("never starts more than the backlog needs", () => {
    const d = plan(state({ pending: 150, config: { ...config, cooldownSeconds: 0 } }), "low", 0);
    expect(d).toMatchObject({ target: 4, start: 2 });
    expect(d.reason).toBe("low load: target 4 (backlog needs 2), running 0, starting 2");
  });

  it("spaces starts of a type by its cooldown, saying how long is left", () => {
    const d = plan(state({ running: 1, lastStartAt: 10_000 }), "low", 13_000);
    expect(d).toMatchObject({ start: 0, reason: "cooldown: 2 s left (target 4, running 1)" });
    expect(plan(state({ running: 1, lastStartAt: 10_000 }), "low", 15_000).start).toBe(1);
  });

  it("starts the first worker of a type with none running at once, cooldown or not (#12); the next one waits", () => {
    // the last start was a second ago, the cooldown is 5 s: with none running, the first starts anyway
    const d = plan(state({ running: 0, lastStartAt: 10_000 }), "low", 11_000);
    expect(d).toMatchObject({
      start: 1,
      reason: "low load: target 4, running 0, starting 1 (first worker: no cooldown)",
    });
    // one running: the cooldown spaces the next start as before
    expect(plan(state({ running: 1, lastStartAt: 11_000 }), "low", 12_000)).toMatchObject({
      start: 0,
      reason: "cooldown: 4 s left (target 4, running 1)",
    });
    // never started before: no cooldown to waive, the reason says nothing of it
    expect(plan(state({ running: 0 }), "low", 0).reason).toBe("low load: target 4, running 0, starting 1");
    // the first of a type still waits for minQueueEntries
    expect(plan(state({ running: 0, lastStartAt: 10_000, pending: 3 }), "low", 11_000).start).toBe(0);
  });

  it("scales down by stop tokens, never by starting fewer", () => {
    const d = plan(state({ running: 4 }), "high", 0);
    expect(d).toMatchObject({
      start: 0,
      stopTokens: 3,
      reason: "high load: target 1, running 4, stopping 3 after their chunk",
    });
  });

  it("steps through time: load changes, cooldown, backlog and scale-down", () => {
    const low = (pending = 10_000) => ({ level: "low" as const, pending });
    const run = simulate([
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(),
      low(), // t=15: 4 running
      { level: "high", pending: 10_000 }, // scale down to 1
      { level: "high", pending: 10_000 },
      { level: "medium", pending: 10_000 }, // target 2, but the last start was at t=15
      { level: "medium", pending: 10_000 },
      { level: "medium", pending: 10_000 }, // t=20: cooldown over
      { level: "medium", pending: 10 }, // below minQueueEntries
    ]);
    expect(run.filter((r) => r.start > 0).map((r) => r.t)).toEqual([0, 5, 10, 15, 20]);
    expect(run[15]?.running).toBe(4);
    expect(run[16]).toMatchObject({ tokens: 3, running: 1 });
    expect(run[17]).toMatchObject({ tokens: 0, start: 0, running: 1 });
    expect(run[18]?.reason).toBe("cooldown: 2 s left (target 2, running 1)");
    expect(run[20]).toMatchObject({ start: 1, running: 2 });
    expect(run[21]?.reason).toBe("below minQueueEntries: 10 < 50");
  });

  it("starts all missing workers at once when the cooldown is 0", () => {
    const run = simulate(
      [
        { level: "low", pending: 10_000 },
        { level: "low", pending: 10_000 },
      ],
      { ...config, cooldownSeconds: 0 },
    );
    expect(run.map((r) => r.start)).toEqual([4, 0]);
    expect(run[1]?.reason).toBe("low load: target 4, running 4: at target");
  });

  it("reports an empty queue", () => {
    expect(plan(state({ pending: 0, running: 2 }), "low", 0).reason).toBe("queue empty: running 2");
  });

  it.each([
    [0, 0, "paused: 10000 pending, running 0"],
    [3, 3, "paused: 10000 pending, running 3, stopping 3 after their chunk"],
  ])("a paused type with %i running starts nothing and stops them all", (running, tokens, reason) => {
    // whatever the load, cooldown or backlog say: target 0
    for (const level of ["low", "medium", "high"] as const) {
      const d = plan(state({ running, paused: true }), level, 0);
      expect(d).toMatchObject({ target: 0, start: 0, stopTokens: tokens, running, pending: 10_000, reason });
    }
  });

  it("resumed, a type plans as before its pause", () => {
    const s = state({ config: { ...config, cooldownSeconds: 0 } });
    expect(plan({ ...s, paused: false }, "low", 0)).toEqual(plan(s, "low", 0));
  });
});
