import { describe, expect, it } from "vitest";
import { type LoadLevel, nextLevel, readLevel } from "../src/index.js";

const t = { highAt: 0.8, lowBelow: 0.4, hysteresis: 0.05 };
const load = (v: number) => ({ loadAvg: v, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 });

describe("load level", () => {
  it.each([
    [0.1, "low"],
    [0.39, "low"],
    [0.4, "medium"],
    [0.79, "medium"],
    [0.8, "high"],
    [2, "high"],
  ] as const)("reads %f as %s with no history", (v, level) => {
    expect(nextLevel(v, undefined, t)).toBe(level);
  });

  it("does not flap at a threshold (hysteresis)", () => {
    const seq = [0.5, 0.79, 0.81, 0.84, 0.86, 0.81, 0.79, 0.76, 0.74, 0.5, 0.36, 0.34, 0.4, 0.44, 0.46];
    const levels: LoadLevel[] = [];
    let prev: LoadLevel | undefined;
    for (const v of seq) {
      prev = nextLevel(v, prev, t);
      levels.push(prev);
    }
    expect(levels).toEqual([
      "medium",
      "medium",
      "medium",
      "medium",
      "high",
      "high",
      "high",
      "high",
      "medium",
      "medium",
      "medium",
      "low",
      "low",
      "low",
      "medium",
    ]);
  });

  it("uses the larger of load average and CPU, averaged over hosts", () => {
    const r = readLevel([{ ...load(0.2), cpu: 0.9 }, load(0.7)], undefined, t);
    expect(r.value).toBeCloseTo(0.8);
    expect(r).toMatchObject({ level: "high", hosts: 2 });
  });

  it("keeps the previous level with no hosts", () => {
    expect(readLevel([], "medium", t)).toEqual({ level: "medium", value: 0, hosts: 0 });
  });
});
