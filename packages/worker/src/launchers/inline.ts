/**
 * The inline launcher: runs the job in the daemon's own process.
 *   1. calls the job with a WorkContext whose signal fires on timeout or abort, and whose
 *      begin/report feed the chunk's results as the job goes;
 *   2. waits for the job, its timeout or ctx.signal, whichever comes first;
 *   3. reports its results (or its error for every item, and the item it was on) and the daemon's peak RSS.
 * Also the `inline` kind's definition: the job in code (`job`) or a module's export, imported at create.
 */
import { type Batch, type BatchJob, moduleFileProblem, type WorkContext, z } from "@batchjob/core";
import { isBatchJob, LauncherFailedError, runBatchJob } from "@batchjob/core/job";
import { commonOptions, defineLauncher } from "./definition.js";
import { loadBatchJob } from "./job-module.js";
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
import { rss } from "./rss.js";
import type { ChunkReport, Launcher, RunContext } from "./types.js";

/** Daemon RSS is sampled this often while a chunk runs. */
const RSS_SAMPLE_MS = 100;

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

    let peak = rss();
    const sampler = setInterval(() => {
      peak = Math.max(peak, rss());
    }, RSS_SAMPLE_MS);
    sampler.unref();
    // the job's signal is made when the job reads it (most never do: a controller per chunk is a cost at chunk 1)
    let jobAbort: AbortController | undefined;
    const controller = () => {
      jobAbort ??= new AbortController();
      return jobAbort;
    };
    const jobSignal = () => controller().signal;
    // the first reason counts (a later abort of an aborted controller does nothing)
    const abortJob = (reason: unknown) => controller().abort(reason);
    let onAbort = () => {};
    let timer: NodeJS.Timeout | undefined;

    const outcome = await new Promise<Outcome>((settle) => {
      onAbort = () => {
        abortJob(ctx.signal.reason);
        settle({ kind: "aborted" });
      };
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      timer = setTimeout(() => settle({ kind: "timeout" }), this.timeoutMs);
      const workCtx: WorkContext = {
        jobType: batch.jobType,
        chunkId: batch.id,
        get signal() {
          return jobSignal();
        },
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
    const peakMemoryBytes = Math.max(peak, rss());

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
        abortJob(new Error(error));
        return report;
      }
    }
  }

  async close(): Promise<void> {}
}

const batchJob = z.custom<BatchJob>(isBatchJob, {
  message: "expected a BatchJob: a function (batch, ctx) or an object with a work(batch, ctx) method",
});

/** `inline`: a BatchJob run in the daemon's process; a module job is imported here, so a bad path or export fails at start. */
export const inlineDefinition = defineLauncher({
  kind: "inline",
  schema: z
    .strictObject({
      /** The job itself (JS/TS config files). */
      job: batchJob.optional(),
      /** Or a module that exports it, relative to the config file. */
      module: z.string().min(1).optional(),
      export: commonOptions.export,
      timeoutMs: commonOptions.timeoutMs,
    })
    .refine((l) => (l.job === undefined) !== (l.module === undefined), {
      message: "give either job (a BatchJob in code) or module (a file exporting one), not both or neither",
    }),
  async create(spec, ctx) {
    if (spec.job !== undefined) return new InlineLauncher(spec.job, spec.timeoutMs);
    if (spec.module === undefined)
      throw new LauncherFailedError(`launcher of ${ctx.jobType}: give either job or module`);
    return new InlineLauncher(await loadBatchJob(ctx.baseDir, spec.module, spec.export), spec.timeoutMs);
  },
  check(spec, ctx) {
    const problem = spec.module === undefined ? undefined : moduleFileProblem(ctx.baseDir, spec.module);
    return problem ? [{ path: "module", message: problem }] : [];
  },
});

declare module "@batchjob/core" {
  /** Tells the type checker this kind's options (`LauncherSpec`, `LauncherInput`, `defineConfig`). */
  interface LauncherKinds {
    inline: typeof inlineDefinition;
  }
}
