/**
 * What a duration option may be: a number of milliseconds (or seconds) that a
 * Node timer can hold. setTimeout and setInterval take a signed 32-bit delay:
 * above 2^31−1 ms (about 24.8 days) they fire after 1 ms, so a longer
 * timeout times every chunk out at once and a longer interval spins.
 */
import { z } from "zod";

/** The longest delay a Node timer holds: 2^31−1 ms (24 days, 20 h, 31 min). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const tooLong = `at most ${MAX_TIMER_MS} ms (about 24.8 days): a longer Node timer fires at once`;

/** An integer number of milliseconds from `min` to MAX_TIMER_MS. */
export function durationMs(min: number) {
  return z.int().min(min).max(MAX_TIMER_MS, { message: tooLong });
}

/** A number of seconds that, in milliseconds, stays within MAX_TIMER_MS. */
export function durationSeconds() {
  const max = Math.floor(MAX_TIMER_MS / 1000);
  return z.number().max(max, { message: `at most ${max} s (about 24.8 days): a longer Node timer fires at once` });
}
