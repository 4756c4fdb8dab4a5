/**
 * The inline launcher: runs the job in the daemon's own process.
 *   1. calls the job with a WorkContext whose signal fires on timeout or abort, and whose
 *      begin/report feed the chunk's results as the job goes;
 *   2. waits for the job, its timeout or ctx.signal, whichever comes first;
 *   3. reports its results (or its error for every item, and the item it was on) and the daemon's peak RSS.
 * Also holds `loadBatchJob`, the one place a job module is imported (the fork child uses it).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Batch, BatchJob, WorkContext } from "@batchjob/core";
import { isBatchJob, LauncherFailedError, runBatchJob } from "@batchjob/core/job";
import {
  abortedUnreported,
  endReport,
  errorMessage,
  fatalReport,
  ResultCollector,
  resultsOfReturn,
  UNREPORTED_OK,
  unreportedFailure,
} from "./results.js";
import type { ChunkReport, Launcher, RunContext } from "./types.js";

/** Daemon RSS is sampled this often while a chunk runs. */
const RSS_SAMPLE_MS = 100;

/** Imports `module` (relative to `baseDir`) and returns its export `exportName`, which must be a BatchJob. */
export async function loadBatchJob(baseDir: string, module: string, exportName: string): Promise<BatchJob> {
  const path = resolve(baseDir, module);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new LauncherFailedError(`cannot import job module ${path}: ${errorMessage(err)}`, { cause: err });
  }
  const job = mod[exportName];
  if (!isBatchJob(job)) {
    const got = job === undefined ? "no such export" : `a ${typeof job}`;
    throw new LauncherFailedError(
      `export "${exportName}" of ${path} is not a BatchJob (a function (batch, ctx) or an object with work(batch, ctx)); got ${got}`,
    );
  }
  return job;
}

type Outcome = { kind: "done"; value: unknown } | { kind: "threw"; error: unknown } | { kind: "timeout" | "aborted" };

export class InlineLauncher implements Launcher {
  readonly kind = "inline";
  readonly payloads = "parsed";

  constructor(
    private readonly job: BatchJob,
    private readonly timeoutMs: number,
  ) {}

  async run(batch: Batch, ctx: RunContext): Promise<ChunkReport> {
    const results = new ResultCollector(batch, ctx.log);
    if (ctx.signal.aborted)
      return { results: results.finish(), unreported: abortedUnreported(ctx.signal), peakMemoryBytes: null };

    let peak = process.memoryUsage.rss();
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, RSS_SAMPLE_MS);
    sampler.unref();
    const jobAbort = new AbortController();
    let onAbort = () => {};
    let timer: NodeJS.Timeout | undefined;

    const outcome = await new Promise<Outcome>((settle) => {
      onAbort = () => {
        jobAbort.abort(ctx.signal.reason);
        settle({ kind: "aborted" });
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(() => settle({ kind: "timeout" }), this.timeoutMs);
      const workCtx: WorkContext = {
        jobType: batch.jobType,
        chunkId: batch.id,
        signal: jobAbort.signal,
        log: ctx.log,
        begin: (id) => results.begin(id, "ctx.begin"),
        report: (result) => results.add(result, "ctx.report"),
      };
      try {
        Promise.resolve(runBatchJob(this.job, batch, workCtx)).then(
          (value) => settle({ kind: "done", value }),
          (error: unknown) => settle({ kind: "threw", error }),
        );
      } catch (error) {
        settle({ kind: "threw", error });
      }
    });

    clearTimeout(timer);
    clearInterval(sampler);
    ctx.signal.removeEventListener("abort", onAbort);
    const peakMemoryBytes = Math.max(peak, process.memoryUsage.rss());

    switch (outcome.kind) {
      case "done":
        results.addAll(resultsOfReturn(outcome.value), "results");
        return endReport(results, UNREPORTED_OK, peakMemoryBytes);
      case "threw":
        return endReport(results, unreportedFailure(errorMessage(outcome.error)), peakMemoryBytes);
      case "aborted":
        return endReport(results, abortedUnreported(ctx.signal), peakMemoryBytes);
      case "timeout": {
        const error = `timed out after ${this.timeoutMs} ms`;
        const report = fatalReport(results, "timeout", error, peakMemoryBytes);
        jobAbort.abort(new Error(error));
        return report;
      }
    }
  }

  async close(): Promise<void> {}
}
