/**
 * The refiller: a job type may name an enqueuer (a module exporting a refill
 * function, or the function itself) and a low watermark. When pending falls
 * below it, the manager calls the enqueuer; never two refills of one type at
 * once; errors are logged, never fatal. A refill function gets the type, its
 * pending count and an `enqueue(items)`; it may also return the items.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { EnqueueItem, Enqueuer, JobTypeConfig, Logger } from "@batchjob/core";

export interface RefillContext {
  jobType: string;
  pending: number;
  lowWatermark: number;
  enqueue(items: EnqueueItem[]): Promise<number>;
}

// biome-ignore lint/suspicious/noConfusingVoidType: an async refill that returns nothing is Promise<void>; it must type-check
type RefillReturn = EnqueueItem[] | undefined | void;

export type RefillFunction = (ctx: RefillContext) => Promise<RefillReturn> | RefillReturn;

export class Refiller {
  private readonly running = new Set<string>();
  private readonly loaded = new Map<string, Promise<RefillFunction>>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly queue: Enqueuer,
    private readonly baseDir: string,
    private readonly log: Logger,
  ) {}

  private refillOf(type: JobTypeConfig): Promise<RefillFunction> {
    const e = type.enqueuer;
    if (!e) throw new Error(`job type ${type.name} has no enqueuer`);
    let fn = this.loaded.get(type.name);
    if (!fn) {
      fn = (async () => {
        if (typeof e.refill === "function") return e.refill as RefillFunction;
        const path = resolve(this.baseDir, e.module as string);
        const mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
        const f = mod[e.export];
        if (typeof f !== "function") throw new Error(`enqueuer ${path}: export "${e.export}" is not a function`);
        return f as RefillFunction;
      })();
      this.loaded.set(type.name, fn);
    }
    return fn;
  }

  /** Starts a refill of each type below its low watermark (not awaited: a slow enqueuer never holds up a tick). */
  check(types: JobTypeConfig[], pending: Map<string, number>): string[] {
    const started: string[] = [];
    for (const t of types) {
      const e = t.enqueuer;
      const p = pending.get(t.name) ?? 0;
      if (!e || p >= e.lowWatermark || this.running.has(t.name)) continue;
      this.running.add(t.name);
      started.push(t.name);
      const run = this.refill(t, p, e.lowWatermark).finally(() => {
        this.running.delete(t.name);
        this.inFlight.delete(run);
      });
      this.inFlight.add(run);
    }
    return started;
  }

  private async refill(t: JobTypeConfig, pending: number, lowWatermark: number): Promise<void> {
    try {
      const fn = await this.refillOf(t);
      let added = 0;
      const ctx: RefillContext = {
        jobType: t.name,
        pending,
        lowWatermark,
        enqueue: async (items) => {
          const r = await this.queue.enqueue(t.name, items);
          added += r.added;
          return r.added;
        },
      };
      const returned = await fn(ctx);
      if (Array.isArray(returned) && returned.length > 0) await ctx.enqueue(returned);
      this.log.info({ jobType: t.name, pending, added }, "refilled");
    } catch (err) {
      this.loaded.delete(t.name);
      this.log.error({ err, jobType: t.name }, "refill failed");
    }
  }

  isRefilling(jobType: string): boolean {
    return this.running.has(jobType);
  }

  /** Waits for refills in flight (shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
