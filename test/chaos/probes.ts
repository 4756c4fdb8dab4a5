/**
 * Time to recover, read from the sink while a scenario runs. A probe polls a
 * condition from the moment of a fault until it holds (its time in seconds)
 * or the scenario cancels it (null: never seen). The conditions:
 *   - victim: an item the victim process was running at the fault is done
 *     again by another process (for a partition or a freeze, the victim itself
 *     may finish items late: a count rising by one from its own pid does not count);
 *   - total: the sink's total rises above its value at the moment (after an outage);
 *   - custom: any check (the leader scenario's "a chunk begun under the new leader").
 */
import type { SinkView } from "./sink.js";

const POLL_MS = 50;

export interface Probe {
  /** Seconds from `fromMs` until the condition held; null if cancelled first. */
  result: Promise<number | null>;
  cancel(): void;
}

export function probe(fromMs: number, check: () => Promise<boolean>, everyMs = POLL_MS): Probe {
  let cancelled = false;
  let wake: (() => void) | undefined;
  const result = (async () => {
    // one more check after a cancel: what happened since the last poll still counts
    for (;;) {
      const last = cancelled;
      try {
        if (await check()) return (Date.now() - fromMs) / 1000;
      } catch {
        // the sink never fails on purpose; a hiccup is retried at the next poll
      }
      if (last) return null;
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, everyMs);
      });
    }
  })();
  return {
    result,
    cancel() {
      cancelled = true;
      wake?.();
    },
  };
}

export interface Affected {
  pid: number;
  ids: string[];
  before: { n: number; by: number }[];
}

/** What `pid` was running, by the sink, with each item's count now; its running entries are then forgotten. */
export async function affectedBy(sink: SinkView, pid: number): Promise<Affected> {
  const ids = (await sink.running()).get(pid) ?? [];
  const before = await sink.some(ids);
  return { pid, ids, before };
}

/** Recovered when one item of `a` is done again by a process other than the victim. */
export function victimProbe(sink: SinkView, a: Affected, fromMs: number): Probe | null {
  if (a.ids.length === 0) return null;
  return probe(fromMs, async () => {
    const now = await sink.some(a.ids);
    return now.some((x, i) => {
      const was = a.before[i]?.n ?? 0;
      return x.n > was && (x.by !== a.pid || x.n >= was + 2);
    });
  });
}

/** Recovered when the sink's total rises above its value now. */
export async function totalProbe(sink: SinkView, fromMs: number): Promise<Probe> {
  const start = await sink.total();
  return probe(fromMs, async () => (await sink.total()) > start);
}
