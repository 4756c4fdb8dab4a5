/**
 * @batchjob/core/job: the light entry for code that only runs jobs (the fork
 * child, job modules): the BatchJob contract and the error catalogue, without
 * Redis, zod or pino, so a child process starts fast.
 */

export type { Batch, QueueItem } from "./batch.js";
export {
  type BatchJob,
  type ItemResult,
  isBatchJob,
  runBatchJob,
  type WorkContext,
  type WorkFunction,
  type WorkResult,
} from "./batch-job.js";
export { BatchjobError, ErrorCode, LauncherFailedError, LauncherOutputError, LauncherTimeoutError } from "./errors.js";
