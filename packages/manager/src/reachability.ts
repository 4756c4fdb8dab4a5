/**
 * Since when the manager has seen Redis without a gap, on the Redis clock.
 * Each host listing tells it the listing's Redis time; two listings further
 * apart than `gapMs` mean the manager was blind in between (Redis down,
 * frozen or failing over, the manager itself stalled, or not leading), and
 * the run of sight starts again at the later one. A host is judged only on
 * time the manager could see (HostRegistry.list): its own outage is never
 * counted against the hosts, which could not beat through it either.
 */

/**
 * The longest pause between two listings that still counts as seeing Redis
 * all along: half the host TTL, and never below three ticks, so ordinary
 * ticks (a slow one included) never restart the run of sight.
 */
export function gapFor(o: { hostTtlMs: number; tickMs: number }): number {
  return Math.max(Math.floor(o.hostTtlMs / 2), 3 * o.tickMs);
}

export class Reachability {
  private lastSeen: number | undefined;
  private since = 0;

  constructor(readonly gapMs: number) {}

  /** Records a listing at Redis time `now`; returns since when Redis has been seen without a gap. */
  seen(now: number): number {
    if (this.lastSeen === undefined || now - this.lastSeen > this.gapMs || now < this.lastSeen) this.since = now;
    this.lastSeen = now;
    return this.since;
  }

  /** Since when Redis has been seen without a gap (ms, Redis clock); 0 before the first listing. */
  get reachableSince(): number {
    return this.since;
  }
}
