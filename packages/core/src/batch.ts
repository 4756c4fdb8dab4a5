/**
 * The seed's data words: an item of a queue and a batch (chunk) of items
 * leased together under one chunk id (UUID v7).
 */
import { v7 as uuidv7 } from "uuid";

export interface QueueItem<P = unknown> {
  id: string;
  payload: P;
  /** Failed attempts before this one (0 on the first try). */
  attempts: number;
}

export interface Batch<P = unknown> {
  /** The chunk id: a UUID v7, also the owner of the items' lease. */
  id: string;
  jobType: string;
  items: QueueItem<P>[];
  size: number;
  /** When the lease ends unless extended (ms since epoch, Redis clock). */
  leaseDeadline: number;
}

/** A new chunk id: UUID v7, so ids sort by creation time. */
export function newChunkId(): string {
  return uuidv7();
}
