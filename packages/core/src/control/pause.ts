/**
 * Paused job types (#10): a SET of type names in the control plane. A paused
 * type is still enqueued to; the manager starts no worker for it and asks its
 * running workers to stop after their chunk. `pause`/`resume` say whether
 * they changed anything, so a caller can tell "already paused" apart.
 */
import type { Keys } from "../keys.js";
import { assertJobTypeName } from "../keys.js";
import type { RedisClient } from "../redis.js";

export class PausedTypes {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  /** Pauses `jobType`; true when it was running (not paused) before. */
  async pause(jobType: string): Promise<boolean> {
    assertJobTypeName(jobType);
    return (await this.client.sadd(this.keys.paused, jobType)) === 1;
  }

  /** Resumes `jobType`; true when it was paused before. */
  async resume(jobType: string): Promise<boolean> {
    assertJobTypeName(jobType);
    return (await this.client.srem(this.keys.paused, jobType)) === 1;
  }

  /** The paused types, sorted. */
  async list(): Promise<string[]> {
    return (await this.client.smembers(this.keys.paused)).sort();
  }

  async isPaused(jobType: string): Promise<boolean> {
    return (await this.client.sismember(this.keys.paused, jobType)) === 1;
  }
}
