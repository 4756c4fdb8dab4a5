/**
 * Imports a job module and takes its BatchJob export: the one place a job
 * module is imported (the inline launcher and the fork child). Light: the fork
 * child loads it, so it pulls in only @batchjob/core/job.
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BatchJob } from "@batchjob/core";
import { isBatchJob, LauncherFailedError } from "@batchjob/core/job";
import { errorMessage } from "./results.js";

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
