/**
 * The manager's two loops: the leader lease, refreshed every third of its
 * length on its own timer (a slow tick cannot let it lapse), and the tick,
 * every tickMs, run by the leader only and never two at once (a tick still
 * running, Redis slow or down, is not queued behind).
 */
import type { Lifecycle, Logger } from "@batchjob/core";
import type { LeaderLease } from "./leader.js";
import type { Manager, TickReport } from "./manager.js";

export interface LeaderLoop {
  /** Runs one tick now if leader; resolves with its report, or null when not leader. */
  tickNow(): Promise<TickReport | null>;
}

export function startLeaderLoop(o: {
  lease: LeaderLease;
  manager: Manager;
  managerId: string;
  tickMs: number;
  leaseMs: number;
  life: Lifecycle;
  log: Logger;
  onTick?: (report: TickReport) => void;
}): LeaderLoop {
  const { lease, manager, log } = o;
  let stopped = false;
  let refreshing: Promise<boolean> | undefined;
  const refresh = async (): Promise<boolean> => {
    const was = lease.isLeader;
    try {
      const now = await lease.refresh();
      if (now !== was) {
        log.info({ managerId: o.managerId, leader: now }, now ? "became leader" : "lost leadership");
        if (now) manager.resetLeadership();
      }
      return now;
    } catch (err) {
      log.warn({ err }, "leader lease refresh failed");
      return lease.isLeader;
    }
  };
  const refreshLease = (): Promise<boolean> => {
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };
  let ticking: Promise<TickReport | null> | undefined;
  const tick = async (): Promise<TickReport | null> => {
    if (stopped || !(await refreshLease())) return null;
    const report = await manager.tick(() => lease.isLeader);
    if (report.failed.length > 0) log.warn({ failed: report.failed }, "tick had failed steps");
    o.onTick?.(report);
    return report;
  };
  const tickNow = (): Promise<TickReport | null> => {
    ticking ??= tick().finally(() => {
      ticking = undefined;
    });
    return ticking;
  };
  const leaseTimer = setInterval(() => void refreshLease(), Math.floor(o.leaseMs / 3));
  const tickTimer = setInterval(() => void tickNow(), o.tickMs);
  // the tick in progress is waited for (its refills run in it): unbounded, as the refills are
  o.life.add(
    "loops",
    async () => {
      stopped = true;
      clearInterval(tickTimer);
      clearInterval(leaseTimer);
      await ticking?.catch(() => undefined);
      await refreshing?.catch(() => undefined);
    },
    { unbounded: true },
  );
  return { tickNow };
}
