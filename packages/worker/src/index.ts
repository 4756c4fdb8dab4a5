/** @batchjob/worker: the worker daemon, its launchers, and the HTTP signature helpers for receivers. */
export { startWorker, type WorkerDaemon, type WorkerOptions } from "./daemon.js";
export { createLauncher } from "./launchers/create.js";
export type { ChunkReport, FatalEnd, ItemOutcome, Launcher, RunContext, Unreported } from "./launchers/types.js";
export { type Settlement, settlementOf } from "./outcome.js";
export { type StartResult, WorkerPool } from "./pool.js";
export { signRequest, verifySignature } from "./signature.js";
