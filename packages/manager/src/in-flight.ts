/**
 * Dispatch bookkeeping: the reservations this manager dispatched that no
 * worker has listed itself under yet. They count as running, so the next
 * tick does not start them twice, until a worker claims one, its host dies,
 * it stops waiting in Redis (refused, dropped), or IN_FLIGHT_MS pass.
 */

/** How long a dispatch may stay invisible in the worker list before it stops counting as running. */
export const IN_FLIGHT_MS = 30_000;

interface Dispatched {
  jobType: string;
  hostId: string;
  at: number;
}

export class InFlight {
  private readonly byId = new Map<string, Dispatched>();

  add(reservationId: string, jobType: string, hostId: string, at: number): void {
    this.byId.set(reservationId, { jobType, hostId, at });
  }

  /** Reservation ids per job type. */
  byType(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [id, f] of this.byId) out.set(f.jobType, [...(out.get(f.jobType) ?? []), id]);
    return out;
  }

  /** Drops the reservations of `ids` that are not in `waiting`; true when any was dropped. */
  keepWaiting(ids: readonly string[], waiting: ReadonlySet<string>): boolean {
    let dropped = false;
    for (const id of ids) {
      if (waiting.has(id)) continue;
      dropped = this.byId.delete(id) || dropped;
    }
    return dropped;
  }

  dropHosts(hosts: ReadonlySet<string>): void {
    for (const [id, f] of this.byId) if (hosts.has(f.hostId)) this.byId.delete(id);
  }

  /**
   * Counts the dispatches still in flight per type, dropping those claimed
   * by a listed worker, too old, or on a dead host.
   */
  countByType(claimed: ReadonlySet<string>, now: number, deadHosts: ReadonlySet<string>): Map<string, number> {
    const out = new Map<string, number>();
    for (const [id, f] of this.byId) {
      if (claimed.has(id) || now - f.at > IN_FLIGHT_MS || deadHosts.has(f.hostId)) {
        this.byId.delete(id);
        continue;
      }
      out.set(f.jobType, (out.get(f.jobType) ?? 0) + 1);
    }
    return out;
  }

  /** Dispatches in flight per host (they will take a slot there). */
  perHost(): Map<string, number> {
    const out = new Map<string, number>();
    for (const f of this.byId.values()) out.set(f.hostId, (out.get(f.hostId) ?? 0) + 1);
    return out;
  }

  /** Dispatches in flight per job type. */
  perType(): Map<string, number> {
    const out = new Map<string, number>();
    for (const f of this.byId.values()) out.set(f.jobType, (out.get(f.jobType) ?? 0) + 1);
    return out;
  }
}
