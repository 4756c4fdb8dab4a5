/** @batchjob/worker: the worker daemon, its launchers, and the HTTP signature helpers for receivers. */

export {
  MemoryReplayGuard,
  RedisReplayGuard,
  type ReplayGuard,
  type RequestHeaders,
  type SignInput,
  signRequest,
  type VerifyOptions,
  type VerifyResult,
  verifySignature,
} from "@batchjob/core";
export { startWorker, type WorkerDaemon, type WorkerOptions } from "./daemon.js";
export { builtinLaunchers } from "./launchers/builtin.js";
export { createLauncher } from "./launchers/create.js";
export { defineLauncher } from "./launchers/definition.js";
export { forkDefinition } from "./launchers/fork.js";
export { httpDefinition } from "./launchers/http.js";
export { inlineDefinition } from "./launchers/inline.js";
export { processDefinition } from "./launchers/process.js";
export { spawnDefinition } from "./launchers/spawn.js";
export type { ChunkReport, FatalEnd, ItemOutcome, Launcher, RunContext, Unreported } from "./launchers/types.js";
export { type Settlement, settlementOf } from "./outcome.js";
export { type StartResult, WorkerPool } from "./pool.js";
