/**
 * Drain requests (#10): a SET of host ids in the control plane. The manager
 * dispatches nothing to a host in it; the worker daemon of that host reads
 * it with each heartbeat, stops taking work, lets its workers finish their
 * chunks (prefetched ones are handed back) and exits, removing its own id.
 */
import type { Keys } from "../keys.js";
import type { RedisClient } from "../redis.js";

export class DrainRequests {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** Asks `hostIds` to drain; returns those not asked before. */
  async request(hostIds: readonly string[]): Promise<string[]> {
    if (hostIds.length === 0) return [];
    const added = await Promise.all(hostIds.map((id) => this.client.sadd(this.keys.draining, id)));
    return hostIds.filter((_, i) => added[i] === 1);
  }

  /** Whether `hostId` was asked to drain. */
  async isRequested(hostId: string): Promise<boolean> {
    return (await this.client.sismember(this.keys.draining, hostId)) === 1;
  }

  /** The host ids asked to drain, sorted. */
  async list(): Promise<string[]> {
    return (await this.client.smembers(this.keys.draining)).sort();
  }

  /** Forgets the request of `hostIds` (a drained host on its way out, a host no longer alive). */
  async clear(hostIds: readonly string[]): Promise<void> {
    if (hostIds.length > 0) await this.client.srem(this.keys.draining, ...hostIds);
  }
}
