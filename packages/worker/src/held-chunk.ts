/**
 * A chunk a worker holds: the one it runs, or the next one it prefetched
 * (#12). Its lease is extended from the moment it is acquired until it is
 * settled or handed back, so a prefetched chunk waiting its turn keeps its
 * lease like the running one. A lost lease is remembered (`lost`) and, while
 * the chunk runs, aborts it through `onLost`; a waiting chunk whose lease was
 * lost is never run (its items were taken back).
 */
import type { Batch, Logger, Releaser } from "@batchjob/core";
import { LeaseKeeper } from "./lease-keeper.js";

export class HeldChunk {
  /** Why its lease was lost, once it was. */
  lost: string | undefined;
  private readonly keeper: LeaseKeeper;
  private onLost: ((why: string) => void) | undefined;

  constructor(
    readonly batch: Batch,
    /** The order in which it was asked for, among the chunks of its worker. */
    readonly seq: number,
    queue: Pick<Releaser, "extend">,
    leaseMs: number,
    log: Logger,
  ) {
    this.keeper = new LeaseKeeper(
      queue,
      batch,
      leaseMs,
      (why) => {
        if (this.onLost) {
          this.lost = why;
          this.onLost(why);
        } else {
          this.lost = "lease lost: the prefetched chunk was reclaimed before it ran";
          log.warn({ chunkId: batch.id }, "the prefetched chunk's lease was lost; it will not run");
        }
      },
      log,
    );
    this.keeper.start();
  }

  get id(): string {
    return this.batch.id;
  }

  /** While it runs: `f` is called if its lease is lost. */
  whileRunning(f: (why: string) => void): void {
    this.onLost = f;
  }

  /** Settled or handed back: no more extends. */
  release(): void {
    this.onLost = undefined;
    this.keeper.stop();
  }
}
