/**
 * The worker list: one entry per running worker, in one Redis HASH
 * (worker id -> JSON). Only the worker writes its own entry; removal is
 * atomic, so exactly one caller moves a finished worker to the history.
 */
import { parseEntryObject } from "../json-entry.js";
import type { Keys } from "../keys.js";
import type { RedisClient } from "../redis.js";

export interface WorkerListItem {
  /** Worker id (UUID v7). */
  id: string;
  jobType: string;
  hostId: string;
  hostname: string;
  pid: number;
  /** Launcher kind: inline, fork, spawn, process, http, or a config's own. */
  launcher: string;
  /** The reservation it was dispatched under (the manager matches dispatches to workers by it). */
  reservationId: string;
  /** The first chunk it acquired; null until it has one. */
  firstChunkId: string | null;
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
  /** Entries that are not a worker are skipped and told to `onMalformed`. */
  list(filter?: WorkerListFilter, onMalformed?: (id: string, error: string) => void): Promise<WorkerListItem[]>;
}

/** A worker list entry read from Redis, or what is wrong with it. */
export function parseWorkerListItem(raw: string): WorkerListItem | string {
  const v = parseEntryObject(raw);
  if (typeof v === "string") return v;
  const w = v as Partial<WorkerListItem>;
  for (const f of ["id", "jobType", "hostId", "createdAt", "updatedAt"] as const) {
    if (typeof w[f] !== "string") return `${f} is not a string`;
  }
  return w as WorkerListItem;
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
    const w = raw ? parseWorkerListItem(raw) : null;
    return typeof w === "string" ? null : w;
  }

  async remove(id: string): Promise<boolean> {
    return (await this.client.hdel(this.keys.workers, id)) === 1;
  }

  async list(
    filter: WorkerListFilter = {},
    onMalformed: (id: string, error: string) => void = () => {},
  ): Promise<WorkerListItem[]> {
    const all = await this.client.hgetall(this.keys.workers);
    const items: WorkerListItem[] = [];
    for (const [id, raw] of Object.entries(all)) {
      const w = parseWorkerListItem(raw);
      if (typeof w === "string") onMalformed(id, w);
      else items.push(w);
    }
    return items
      .filter(
        (w) => (!filter.jobType || w.jobType === filter.jobType) && (!filter.hostId || w.hostId === filter.hostId),
      )
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
