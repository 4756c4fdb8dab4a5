/**
 * Leader election: one manager holds a lease key (SET NX PX) and renews it
 * every third of the lease; the others try to take it at the same pace, so
 * when the leader dies another takes over within two lease periods (at most
 * one lease to expire plus a third of one to notice). Only the leader acts.
 */
import type { Keys, RedisClient } from "@batchjob/core";
import { leaderReleaseScript, leaderRenewScript } from "@batchjob/core/internal";

export class LeaderLease {
  private held = false;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    readonly managerId: string,
    readonly leaseMs: number,
  ) {}

  get isLeader(): boolean {
    return this.held;
  }

  /** Renews the lease when held, else tries to take it. Returns whether this manager leads now. */
  async refresh(): Promise<boolean> {
    if (this.held) {
      this.held = await leaderRenewScript(this.client, this.keys.leader, this.managerId, this.leaseMs);
      if (this.held) return true;
    }
    const r = await this.client.set(this.keys.leader, this.managerId, "PX", this.leaseMs, "NX");
    this.held = r === "OK";
    return this.held;
  }

  /** The id of the manager holding the lease, if any. */
  async holder(): Promise<string | null> {
    return this.client.get(this.keys.leader);
  }

  /** Gives the lease up (shutdown), so another manager takes over at once. */
  async release(): Promise<void> {
    if (this.held) await leaderReleaseScript(this.client, this.keys.leader, this.managerId);
    this.held = false;
  }
}
