/** @batchjob/core: what any service imports to enqueue and inspect, and what the daemons build on. */
/** The zod of the config schema: for the schema of a launcher definition. */
export { z } from "zod";
export {
  ACL_ROLE_SUMMARY,
  ACL_ROLES,
  type AclRole,
  aclRules,
  aclSetUserLine,
  aclUserName,
  isAclRole,
} from "./acl-rules.js";
export { type Batch, chunkQueue, newChunkId, newId, type QueueItem } from "./batch.js";
export {
  type BatchJob,
  type ItemResult,
  isBatchJob,
  runBatchJob,
  type WorkContext,
  type WorkFunction,
  type WorkResult,
} from "./batch-job.js";
export { BatchQueue, type BatchQueueOptions, type QueueTypeSettings } from "./batch-queue.js";
export { defaults } from "./config/defaults.js";
export { durationMs, durationSeconds, MAX_TIMER_MS } from "./config/durations.js";
export type { ResolvedLauncher } from "./config/launchers.js";
export {
  type ConfigFileCheck,
  commandProblem,
  configFileIssues,
  folderProblem,
  moduleFileProblem,
} from "./config/paths.js";
export { FIXED_ON_RELOAD, type ReloadOutcome, type ReloadRole, reloadedConfig, runReload } from "./config/reload.js";
export {
  type BatchjobConfig,
  type BatchjobConfigInput,
  configSchema,
  defineConfig,
  type JobTypeConfig,
  type JobTypeInput,
  jobTypeSchema,
  MAX_PREFETCH,
  type ManagerConfig,
  PREFETCH_AUTO_MAX_CHUNK,
  parseConfig,
  parseJobType,
  parseLauncher,
  prefetchDepths,
  prefetchOf,
  retryPolicyOf,
  toConfigIssues,
  type WorkerConfig,
} from "./config/schema.js";
export { redactUrl, redactUrlsInText, URL_PASSWORD_MASK } from "./config/secret-urls.js";
export {
  containsSecret,
  launcherSecretValues,
  MIN_SCRUBBED_LENGTH,
  REDACTED,
  type RedactOptions,
  redactLauncherSpec,
  redactSecrets,
  type SecretMark,
  scrubSecretValues,
  secretMarkOf,
  secretValuesOf,
  urlSecretValues,
} from "./config/secrets.js";
export { type DaemonBase, daemonRedisUrl, daemonSecretValues, openDaemon } from "./control/bootstrap.js";
export {
  DISPATCH_JOB_NAME,
  type DispatchMessage,
  parseDispatchMessage,
  sanitizeHostId,
} from "./control/dispatch.js";
export { DrainRequests } from "./control/drain.js";
export {
  type HostInfo,
  type HostListing,
  type HostLoad,
  HostRegistry,
  type HostRegistryOptions,
  type LiveHost,
  runningTotal,
  serves,
} from "./control/hosts.js";
export { Lifecycle, STEP_LIMIT_MS } from "./control/lifecycle.js";
export { PausedTypes } from "./control/pause.js";
export {
  BatchjobError,
  type ConfigIssue,
  ErrorCode,
  errorFromLua,
  formatConfigIssue,
  InvalidArgumentError,
  InvalidConfigError,
  InvalidItemIdError,
  InvalidJobTypeError,
  InvalidPayloadError,
  LauncherError,
  LauncherFailedError,
  LauncherOutputError,
  LauncherTimeoutError,
  LuaErrorCode,
  PartialEnqueueError,
  PayloadTooLargeError,
  ProtocolVersionError,
  RedisUnavailableError,
  ScriptError,
  UsageError,
} from "./errors.js";
export {
  assertJobTypeName,
  DEFAULT_PREFIX,
  hashSlot,
  isJobTypeName,
  type Keys,
  MAX_SHARDS,
  makeKeys,
  parseQueueName,
  shardOfKey,
  shardQueue,
  shardQueues,
  type TypeKeys,
} from "./keys.js";
export {
  type AnyLauncherSpec,
  isLauncherDefinition,
  type LauncherCheckContext,
  type LauncherContext,
  type LauncherDefinition,
  type LauncherInput,
  type LauncherInputOf,
  type LauncherKinds,
  type LauncherSpec,
  type LauncherSpecOf,
} from "./launcher-definition.js";
export { createLogger, type Logger, type LoggerOptions } from "./logger.js";
export type {
  AckResult,
  AcquireOptions,
  Acquirer,
  ActivityGroup,
  BacklogGroup,
  DeadLetterAdmin,
  EnqueueItem,
  EnqueueResult,
  Enqueuer,
  ExtendResult,
  ItemFailure,
  NextChunk,
  PayloadText,
  ReclaimResult,
  ReleaseOptions,
  ReleaseResult,
  Releaser,
  SettleOutcome,
  SettleRequest,
  SettleResult,
  Supervisor,
} from "./queue-contracts.js";
export type { Backlog, DeadItem, QueueCounts } from "./queue-inspect.js";
export {
  type ConnectOptions,
  closeRedis,
  connectRedis,
  DEFAULT_REDIS_URL,
  isCluster,
  type RedisClient,
} from "./redis.js";
export { parseRedisUrl, type RedisAddress, type RedisTarget, redactRedisUrl, redisUrlProblem } from "./redis-url.js";
export type { RetryPolicy } from "./scripts/commands.js";
export { ENQUEUE_PROTOCOL_VERSION, MAX_SETTLES_PER_CALL } from "./scripts/commands.js";
export {
  CHUNK_ID_HEADER,
  DEFAULT_REPLAY_WINDOW_MS,
  MemoryReplayGuard,
  NONCE_HEADER,
  RedisReplayGuard,
  type ReplayGuard,
  type RequestHeaders,
  SIGNATURE_HEADER,
  SIGNATURE_SCHEME,
  type SignInput,
  signRequest,
  TIMESTAMP_HEADER,
  type VerifyOptions,
  type VerifyResult,
  verifySignature,
} from "./signature.js";
export { deleteMatching } from "./storage/key-sweep.js";
export { MAX_MINUTES, type MinutePoint, RUN_TIME_BOUNDS_MS, TypeMetrics } from "./storage/type-metrics.js";
export {
  EXIT_REASONS,
  type ExitReason,
  historyItemOf,
  RedisWorkerHistory,
  type WorkerHistoryFilter,
  type WorkerHistoryItem,
  type WorkerHistoryStorage,
} from "./storage/worker-history.js";
export {
  RedisWorkerList,
  type WorkerListFilter,
  type WorkerListItem,
  type WorkerListStorage,
} from "./storage/worker-list.js";
export { VERSION } from "./version.js";
