/**
 * The worker list: one entry per running worker, in one Redis HASH
 * (worker id -> JSON). Only the worker writes its own entry; removal is
 * atomic, so exactly one caller moves a finished worker to the history.
 */
import type { Keys } from "../keys.js";
import type { RedisClient } from "../redis.js";

export interface WorkerListItem {
  /** Worker id (UUID v7). */
  id: string;
  jobType: string;
  hostId: string;
  hostname: string;
  pid: number;
  /** Launcher kind: inline, fork, spawn, http. */
  launcher: string;
  /** The chunk it was dispatched with (the manager matches dispatches to workers by it). */
  firstChunkId: string;
  /** Chunk being worked, null between chunks. */
  currentChunkId: string | null;
  currentChunkSize: number;
  /** ISO times. */
  createdAt: string;
  updatedAt: string;
  chunks: number;
  itemsDone: number;
  itemsFailed: number;
  itemsRetried: number;
}

export interface WorkerListFilter {
  jobType?: string;
  hostId?: string;
}

export interface WorkerListStorage {
  /** Adds or replaces the entry of `item.id`. */
  put(item: WorkerListItem): Promise<void>;
  get(id: string): Promise<WorkerListItem | null>;
  /** true when this call removed it (false: already gone). */
  remove(id: string): Promise<boolean>;
  list(filter?: WorkerListFilter): Promise<WorkerListItem[]>;
}

export class RedisWorkerList implements WorkerListStorage {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
  ) {}

  async put(item: WorkerListItem): Promise<void> {
    await this.client.hset(this.keys.workers, item.id, JSON.stringify(item));
  }

  async get(id: string): Promise<WorkerListItem | null> {
    const raw = await this.client.hget(this.keys.workers, id);
    return raw ? (JSON.parse(raw) as WorkerListItem) : null;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.client.hdel(this.keys.workers, id)) === 1;
  }

  async list(filter: WorkerListFilter = {}): Promise<WorkerListItem[]> {
    const all = await this.client.hvals(this.keys.workers);
    return all
      .map((raw) => JSON.parse(raw) as WorkerListItem)
      .filter(
        (w) => (!filter.jobType || w.jobType === filter.jobType) && (!filter.hostId || w.hostId === filter.hostId),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
