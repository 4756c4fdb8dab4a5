/** In-process daemons for tests, on the run's Redis with a fresh prefix, tracked until stopped. */
import { fileURLToPath } from "node:url";
import {
  type BatchjobConfig,
  BatchQueue,
  connectRedis,
  createLogger,
  type HostInfo,
  type Logger,
  makeKeys,
  newChunkId,
  parseConfig,
  VERSION,
} from "@batchjob/core";
import { Dispatcher, type ManagerOptions, startManager } from "@batchjob/manager";
import { startWorker, type WorkerOptions } from "@batchjob/worker";
import { closeClient, freshPrefix, redisUrl, track } from "./index.js";

export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** The e2e config (test/fixtures/e2e.config.mjs) with a fresh prefix and any overrides. */
export async function e2eConfig(change: (raw: Record<string, unknown>) => void = () => {}): Promise<BatchjobConfig> {
  const mod = (await import(`${FIXTURES}e2e.config.mjs?${Date.now()}`)) as { default: Record<string, unknown> };
  const raw = structuredClone(mod.default);
  raw.prefix = freshPrefix();
  change(raw);
  return parseConfig(raw, "e2e.config.mjs");
}

export const silent = () => createLogger("test", { level: process.env.TEST_LOG_LEVEL ?? "silent" });

/**
 * A silent logger that keeps the message of every debug, info, warn and error
 * call, its child loggers' included (to wait for one).
 */
export function capturingLogger() {
  const messages: string[] = [];
  const levels = new Set<PropertyKey>(["debug", "info", "warn", "error"]);
  const capture = (base: Logger): Logger =>
    new Proxy(base, {
      get(target, prop, receiver) {
        if (prop === "child") return (...args: Parameters<Logger["child"]>) => capture(target.child<never>(...args));
        if (!levels.has(prop)) return Reflect.get(target, prop, receiver);
        return (obj: unknown, msg?: unknown) => {
          messages.push(typeof obj === "string" ? obj : typeof msg === "string" ? msg : "");
        };
      },
    });
  return { logger: capture(silent()), messages };
}

export async function testWorker(config: BatchjobConfig, options: Partial<WorkerOptions> = {}) {
  const daemon = await startWorker({ config, baseDir: FIXTURES, redisUrl: redisUrl(), logger: silent(), ...options });
  let done = false;
  void daemon.closed.then(() => {
    done = true;
  });
  track(
    `worker daemon ${daemon.hostId}`,
    () => !done,
    () => daemon.stop({ graceMs: 0 }),
  );
  return daemon;
}

export async function testManager(config: BatchjobConfig, options: Partial<ManagerOptions> = {}) {
  const daemon = await startManager({ config, baseDir: FIXTURES, redisUrl: redisUrl(), logger: silent(), ...options });
  let done = false;
  void daemon.closed.then(() => {
    done = true;
  });
  track(
    `manager ${daemon.managerId}`,
    () => !done,
    () => daemon.stop(),
  );
  return daemon;
}

/** A queue and a dispatcher on the config's prefix (what a test uses to act as the manager). */
export function controlFor(config: BatchjobConfig) {
  const client = connectRedis(redisUrl(), { daemon: true });
  const keys = makeKeys(config.prefix);
  const queue = new BatchQueue({ redis: client, prefix: config.prefix, jobTypes: config.jobTypes });
  const dispatcher = new Dispatcher(client, keys, "test");
  const close = async () => {
    await dispatcher.close();
    await closeClient(client);
  };
  track(`control connection ${config.prefix}`, () => client.status !== "end", close);
  /** Reserves a start and dispatches it to `hostId` (as the starter does); the worker acquires its chunks itself. */
  const dispatch = async (hostId: string, jobType: string) => {
    const reservationId = newChunkId();
    await queue.reserve(jobType, [reservationId]);
    await dispatcher.dispatch(hostId, { jobType, reservationId });
    return reservationId;
  };
  return { client, keys, queue, dispatcher, dispatch, close };
}

/** Writes a raw config as JSON to a temp folder (module paths are resolved against test/fixtures) for CLI daemons. */
export async function writeConfigFile(raw: Record<string, unknown>): Promise<string> {
  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const dir = mkdtempSync(join(tmpdir(), "bj-config-"));
  const types = (raw.jobTypes as { launcher: { module?: string } }[]).map((t) => ({
    ...t,
    launcher: t.launcher.module ? { ...t.launcher, module: join(FIXTURES, t.launcher.module) } : t.launcher,
  }));
  const path = join(dir, "batchjob.config.json");
  writeFileSync(path, JSON.stringify({ ...raw, jobTypes: types }, null, 2));
  return path;
}

/** The raw e2e config with a fresh prefix, for tweaking before parseConfig or writeConfigFile. */
export async function rawE2eConfig(): Promise<Record<string, unknown>> {
  const mod = (await import(`${FIXTURES}e2e.config.mjs?${Date.now()}`)) as { default: Record<string, unknown> };
  const raw = structuredClone(mod.default);
  raw.prefix = freshPrefix();
  return raw;
}

/** A HostInfo for a host that exists only in the registry (reaper and allocation tests). */
export function fakeHost(id: string, over: Partial<HostInfo> = {}): HostInfo {
  return {
    id,
    hostname: id,
    pid: 1,
    slots: 4,
    running: {},
    jobTypes: null,
    version: VERSION,
    load: { loadAvg: 0, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 },
    startedAt: new Date().toISOString(),
    draining: false,
    ...over,
  };
}
