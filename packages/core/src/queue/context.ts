/**
 * What every queue role shares: the Redis client, the keys, each job type's
 * retry policy and lease, the logger for what a role recovers from, and the
 * decoding of a chunk reply into a Batch (payloads parsed, or left as JSON
 * text for launchers that pass them on; a corrupt payload dies at once).
 */
import { type Batch, newChunkId, type QueueItem } from "../batch.js";
import { defaults } from "../config/defaults.js";
import { InvalidArgumentError } from "../errors.js";
import type { Keys, TypeKeys } from "../keys.js";
import { createLogger, type Logger } from "../logger.js";
import type { RedisClient } from "../redis.js";
import { type RawChunk, type RetryPolicy, releaseScript } from "../scripts/commands.js";
import { registerScripts } from "../scripts/loader.js";

/** The per-type settings the queue itself needs. */
export interface QueueTypeSettings extends RetryPolicy {
  leaseMs: number;
  /** How long the per-minute metrics are kept (minutes); 0: none are recorded. */
  metricsWindowMinutes: number;
}

/** The metrics window of `settings` in ms (0: none recorded). */
export function metricsWindowMs(settings: QueueTypeSettings): number {
  return Math.max(0, Math.round(settings.metricsWindowMinutes * 60_000));
}

export function positiveInt(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name} must be an integer ≥ 1, got ${String(value)}`);
  }
  return value;
}

export function uniqueIds(ids: string[]): string[] {
  return ids.length < 2 ? ids : [...new Set(ids)];
}

/** The arguments of one charged failure: retry flag, delay (-1: backoff) and error. */
export function failArgs(f: { error?: string; retry?: boolean; delayMs?: number }) {
  const delayMs = f.delayMs ?? -1;
  if (!Number.isFinite(delayMs)) throw new InvalidArgumentError(`delayMs must be a number, got ${String(f.delayMs)}`);
  return { retry: f.retry !== false, delayMs: Math.max(-1, Math.round(delayMs)), error: f.error ?? "released" };
}

/** A chunk id for a caller that gave none: UUID v7. */
export function chunkIdOr(given: string | undefined): string {
  return given ?? newChunkId();
}

export class QueueContext {
  private readonly settings = new Map<string, QueueTypeSettings>();
  private readonly fallback: QueueTypeSettings;
  private logger: Logger | undefined;

  constructor(
    readonly client: RedisClient,
    readonly keys: Keys,
    defaultSettings: Partial<QueueTypeSettings> = {},
    logger?: Logger,
  ) {
    this.logger = logger;
    // every script defined before anything is sent: an auto-pipelined call may join a pipeline made earlier
    registerScripts(client);
    const d = defaults.jobType;
    this.fallback = {
      maxAttempts: d.maxAttempts,
      maxReturns: d.maxReturns,
      backoff: { ...d.backoff },
      leaseMs: d.leaseMs,
      metricsWindowMinutes: d.metricsWindowMinutes,
      ...defaultSettings,
    };
  }

  /** Sets the retry policy and lease of one job type. */
  configure(jobType: string, settings: Partial<QueueTypeSettings>): void {
    this.keys.type(jobType);
    this.settings.set(jobType, { ...this.settingsOf(jobType), ...settings });
  }

  settingsOf(jobType: string): QueueTypeSettings {
    return this.settings.get(jobType) ?? this.fallback;
  }

  leaseOf(jobType: string, given: number | undefined): number {
    return positiveInt("leaseMs", given ?? this.settingsOf(jobType).leaseMs);
  }

  /** Where a role reports what it recovered from; a pino logger of its own unless one was given (made when first used). */
  get log(): Logger {
    this.logger ??= createLogger("batchjob-queue");
    return this.logger;
  }

  /**
   * The batch of a script reply. Payloads are parsed, unless `json`: then
   * each payload stays the JSON text it is stored as (a launcher that hands
   * the chunk to another process passes it on without parsing it here).
   */
  async toBatch<P>(jobType: string, k: TypeKeys, chunkId: string, raw: RawChunk, json = false): Promise<Batch<P>> {
    const items: QueueItem<P>[] = [];
    const bad: string[] = [];
    for (let i = 0; i < raw.ids.length; i++) {
      const id = raw.ids[i] as string;
      const text = raw.payloads[i] as string;
      try {
        // parsed in JSON mode too: one corrupt payload must not spoil the document of a whole chunk
        const value = JSON.parse(text) as P;
        items.push({ id, payload: json ? (text as P) : value, attempts: raw.attempts[i] ?? 0 });
      } catch {
        bad.push(id);
      }
    }
    if (bad.length > 0) {
      // payloads written around the API: dead at once, never lost and never retried forever
      const fail = { retry: false, delayMs: -1, error: "stored payload is not valid JSON" };
      await releaseScript(this.client, k, chunkId, bad, this.settingsOf(jobType), fail);
    }
    const batch: Batch<P> = { id: chunkId, jobType, items, size: items.length, leaseDeadline: raw.leaseDeadline };
    if (raw.splitDepth > 0) batch.splitDepth = raw.splitDepth;
    return batch;
  }
}
