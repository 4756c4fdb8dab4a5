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

  protected candidates(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>): HostSlot[] {
    return hosts.filter(
      (h) =>
        !h.draining &&
        !exclude?.has(h.id) &&
        (h.jobTypes === null || h.jobTypes.includes(jobType)) &&
        h.slots - h.running - (this.committed.get(h.id) ?? 0) > 0,
    );
  }

  /** Hosts in id order, starting after the last one picked. */
  protected rotate(hosts: HostSlot[]): HostSlot[] {
    const sorted = [...hosts].sort((a, b) => a.id.localeCompare(b.id));
    if (this.lastPicked === undefined) return sorted;
    const after = sorted.findIndex((h) => h.id.localeCompare(this.lastPicked as string) > 0);
    return after < 0 ? sorted : [...sorted.slice(after), ...sorted.slice(0, after)];
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
    return this.rotate(this.candidates(hosts, jobType, exclude))[0]?.id ?? null;
  }
}

export class LeastLoadAllocator extends BaseAllocator {
  readonly name = "least-load";

  pick(hosts: readonly HostSlot[], jobType: string, exclude?: ReadonlySet<string>): string | null {
    const ordered = this.rotate(this.candidates(hosts, jobType, exclude));
    let best: HostSlot | undefined;
    for (const h of ordered) {
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
