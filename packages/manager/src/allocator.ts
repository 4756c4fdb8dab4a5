/**
 * Allocators (pure and pluggable): pick a live host for a chunk of a job
 * type. Both respect slots (free = slots - running - allocated this tick) and
 * the types a host serves, and skip draining hosts.
 *   round-robin: the next such host after the last one picked;
 *   least-load:  the lowest load; ties go round-robin.
 * A custom allocator implements `Allocator` and is passed in code.
 */
import type { HostLoad } from "@batchjob/core";
import { hostLoadValue } from "./load-level.js";

export interface HostSlot {
  id: string;
  slots: number;
  /** Workers running now, all types. */
  running: number;
  /** Types served; null: all. */
  jobTypes: string[] | null;
  load: HostLoad;
  draining: boolean;
}

export interface Allocator {
  readonly name: string;
  /** Picks a host id for a chunk of `jobType`, or null when none can take it. `exclude`: hosts that already failed it. */
  pick(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>): string | null;
  /** Counts a dispatch against the host's free slots for the rest of this tick. */
  commit(hostId: string): void;
  /** Takes a commitment back (the dispatch failed). */
  uncommit(hostId: string): void;
  /** A new tick: forget this tick's commitments. */
  reset(): void;
}

abstract class BaseAllocator implements Allocator {
  abstract readonly name: string;
  protected committed = new Map<string, number>();
  protected lastPicked: string | undefined;
  /** The hosts of the last list picked from, in id order (a tick picks many times from one list: sorted once). */
  private sorted: { hosts: readonly HostSlot[]; length: number; byId: HostSlot[] } | undefined;

  private byId(hosts: readonly HostSlot[]): HostSlot[] {
    if (this.sorted?.hosts !== hosts || this.sorted.length !== hosts.length) {
      this.sorted = { hosts, length: hosts.length, byId: [...hosts].sort((a, b) => a.id.localeCompare(b.id)) };
    }
    return this.sorted.byId;
  }

  /** The hosts that can take a chunk of `jobType` now, in id order starting after the last one picked. */
  protected *candidates(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>) {
    const sorted = this.byId(hosts);
    const n = sorted.length;
    // the first host after the last one picked (binary search: the list is in id order)
    let first = 0;
    if (this.lastPicked !== undefined) {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((sorted[mid] as HostSlot).id.localeCompare(this.lastPicked) > 0) hi = mid;
        else lo = mid + 1;
      }
      first = lo < n ? lo : 0;
    }
    for (let k = 0; k < n; k++) {
      const h = sorted[(first + k) % n] as HostSlot;
      if (
        !h.draining &&
        !exclude?.has(h.id) &&
        (h.jobTypes === null || h.jobTypes.includes(jobType)) &&
        h.slots - h.running - (this.committed.get(h.id) ?? 0) > 0
      )
        yield h;
    }
  }

  abstract pick(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>): string | null;

  commit(hostId: string): void {
    this.committed.set(hostId, (this.committed.get(hostId) ?? 0) + 1);
    this.lastPicked = hostId;
  }

  uncommit(hostId: string): void {
    this.committed.set(hostId, Math.max(0, (this.committed.get(hostId) ?? 0) - 1));
  }

  reset(): void {
    this.committed.clear();
  }
}

export class RoundRobinAllocator extends BaseAllocator {
  readonly name = "round-robin";

  pick(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>): string | null {
    for (const h of this.candidates(hosts, jobType, exclude)) return h.id;
    return null;
  }
}

export class LeastLoadAllocator extends BaseAllocator {
  readonly name = "least-load";

  pick(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>): string | null {
    let best: HostSlot | undefined;
    for (const h of this.candidates(hosts, jobType, exclude)) {
      // strict <: among equal loads the first in round-robin order wins
      if (!best || hostLoadValue(h.load) < hostLoadValue(best.load)) best = h;
    }
    return best?.id ?? null;
  }
}

export function createAllocator(kind: "round-robin" | "least-load" | Allocator): Allocator {
  if (typeof kind === "object") return kind;
  return kind === "round-robin" ? new RoundRobinAllocator() : new LeastLoadAllocator();
}
