/**
 * The items of a scenario: ids that say what an item is (`h<n>` healthy,
 * `p-<kind>-<n>` poison), the sets the final tally reads, and a feeder that
 * keeps a job type's queue topped up while faults are injected:
 *   1. every `everyMs`, read the type's pending count;
 *   2. below `lowMark`, enqueue `batch` more healthy items (the same ids again
 *      after a failed call: caller ids dedupe, so a retry never doubles an item);
 *   3. `stop()` ends it; the ids it enqueued are in the ledger.
 */
import type { BatchQueue } from "@batchjob/core";
import { sleep } from "./util.js";

export type PoisonKind = "crash-exit" | "crash-kill" | "throw" | "hang" | "memory" | "exit";

const OWN_ERROR: Record<PoisonKind, (id: string) => RegExp> = {
  "crash-exit": () => /exited with code 1/,
  "crash-kill": () => /SIGKILL/,
  throw: (id) => new RegExp(`poison throw ${id}$`),
  hang: () => /timed out/,
  memory: () => /memoryLimitMb/,
  exit: (id) => new RegExp(`exit code 1: poison exit ${id}$`),
};

/** Whether a dead poison item's last error is the one its own kind causes (not a neighbour's). */
export function diedOfOwnFault(kind: PoisonKind, id: string, error: string | null): boolean {
  return error !== null && OWN_ERROR[kind](id).test(error);
}

export class Ledger {
  readonly healthy = new Set<string>();
  readonly poison = new Map<string, PoisonKind>();
  private seq = 0;

  healthyId(): string {
    const id = `h${++this.seq}`;
    this.healthy.add(id);
    return id;
  }

  poisonId(kind: PoisonKind): string {
    const id = `p-${kind}-${++this.seq}`;
    this.poison.set(id, kind);
    return id;
  }

  /** Takes back ids whose enqueue failed for good. */
  forget(ids: string[]): void {
    for (const id of ids) this.healthy.delete(id) || this.poison.delete(id);
  }

  get enqueued(): number {
    return this.healthy.size + this.poison.size;
  }
}

/** Enqueues `items`, retrying the same call through a Redis hiccup (dedupe makes that safe). */
export async function enqueueAll(
  queue: BatchQueue,
  jobType: string,
  items: { id: string; payload: unknown }[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let from = 0; from < items.length; from += 5000) {
    const part = items.slice(from, from + 5000);
    for (;;) {
      try {
        await queue.enqueue(jobType, part);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(200);
      }
    }
  }
}

export class Feeder {
  private running = true;
  private readonly loop: Promise<void>;
  /** Errors of the feeding loop (the queue Redis unreachable for too long). */
  error: unknown;

  constructor(
    private readonly queue: BatchQueue,
    private readonly jobType: string,
    private readonly ledger: Ledger,
    private readonly opts: { lowMark: number; batch: number; payload: unknown; everyMs?: number },
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    try {
      while (this.running) {
        const c = await this.queue.counts(this.jobType);
        if (c.pending < this.opts.lowMark) {
          const items = Array.from({ length: this.opts.batch }, () => ({
            id: this.ledger.healthyId(),
            payload: this.opts.payload,
          }));
          try {
            await enqueueAll(this.queue, this.jobType, items);
          } catch (err) {
            this.ledger.forget(items.map((i) => i.id));
            throw err;
          }
        }
        await sleep(this.opts.everyMs ?? 150);
      }
    } catch (err) {
      this.error = err;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
