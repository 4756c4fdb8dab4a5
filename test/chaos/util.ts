/** Small helpers of the chaos harness: waiting on a condition with a deadline, pacing, a seeded random source. */

import { waitFor } from "../harness/wait.js";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value; throws naming `what` after `timeoutMs` (the harness's waitFor). */
export function waitUntil<T>(what: string, check: () => Promise<T> | T, timeoutMs: number, everyMs = 50) {
  return waitFor(what, check, timeoutMs, everyMs);
}

/** A seeded PRNG (mulberry32): a run can be repeated with the same CHAOS_SEED. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    const x = xs[this.int(xs.length)];
    if (x === undefined) throw new Error("pick from an empty list");
    return x;
  }

  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
    }
    return xs;
  }
}
