/**
 * What every queue role shares: the Redis client, the keys, each job type's
 * retry policy and lease, the logger for what a role recovers from, and the
 * decoding of a chunk reply into a Batch (payloads parsed, or left as JSON
 * text for launchers that pass them on; a corrupt payload dies at once).
 */
import { type Batch, newChunkId, type QueueItem } from "../batch.js";
import { defaults } from "../config/defaults.js";
import { InvalidArgumentError } from "../errors.js";
import { type Keys, MAX_SHARDS, parseQueueName, shardQueues, type TypeKeys } from "../keys.js";
import { createLogger, type Logger } from "../logger.js";
import type { PayloadText } from "../queue-contracts.js";
import type { RedisClient } from "../redis.js";
import { attemptsOf, type RawChunk, type RetryPolicy, releaseScript } from "../scripts/commands.js";
import { registerScripts } from "../scripts/loader.js";

/** The per-type settings the queue itself needs. */
export interface QueueTypeSettings extends RetryPolicy {
  leaseMs: number;
  /** How long the per-minute metrics are kept (minutes); 0: none are recorded. */
  metricsWindowMinutes: number;
  /**
   * Queues the type is spread over (#12): shard 0 is the type's own keys
   * `{T}`, shard i > 0 the keys `{T#i}`. Enqueue spreads items over them,
   * workers take from their shard first and from the others when it is
   * empty, counts and backlogs are summed over them.
   */
  shards: number;
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

/** `json` as given by a caller (JavaScript may pass anything): "unchecked", else true only for true. */
export function payloadText(json: unknown): PayloadText {
  return json === "unchecked" ? json : json === true;
}

/** How old the shard counts read from the published config may get before an enqueue reads them again (ms). */
const PUBLISHED_SHARDS_MS = 60_000;

export class QueueContext {
  private readonly settings = new Map<string, QueueTypeSettings>();
  private readonly fallback: QueueTypeSettings;
  private logger: Logger | undefined;
  /** Shards of types configured nowhere here, from the config the leader published (`keys.config`). */
  private published = new Map<string, number>();
  private publishedAt = 0;
  private publishedLoad: Promise<void> | undefined;

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
      shards: d.shards,
      ...defaultSettings,
    };
  }

  /** Sets the retry policy and lease of one job type. */
  configure(jobType: string, settings: Partial<QueueTypeSettings>): void {
    this.keys.type(jobType);
    this.settings.set(jobType, { ...this.settingsOf(jobType), ...settings });
  }

  /** The settings of a job type, or of the type a shard's queue name (`T#i`) belongs to. */
  settingsOf(jobType: string): QueueTypeSettings {
    return this.settings.get(jobType) ?? this.settings.get(this.typeOf(jobType)) ?? this.fallback;
  }

  /** The job type of a queue name: `T` for `T` and for its shards `T#i`. */
  typeOf(queue: string): string {
    return queue.includes("#") ? (parseQueueName(queue)?.jobType ?? queue) : queue;
  }

  /** How many shards `jobType` is spread over (1: its own keys only): its settings', else the published config's. */
  shardsOf(jobType: string): number {
    const own = this.settings.get(jobType)?.shards;
    return own ?? this.published.get(jobType) ?? this.fallback.shards ?? 1;
  }

  /**
   * Reads the shards of each job type from the config the leader published,
   * for the types this process has no settings for (a producer in another
   * service, the CLI without a config file). A missing or unreadable config
   * keeps what was read before.
   */
  async loadPublishedShards(): Promise<void> {
    this.publishedLoad ??= (async () => {
      try {
        const raw = await this.client.get(this.keys.config);
        const types = raw ? (JSON.parse(raw) as { jobTypes?: unknown }).jobTypes : undefined;
        if (Array.isArray(types)) {
          const next = new Map<string, number>();
          for (const t of types as { name?: unknown; shards?: unknown }[]) {
            const n = t?.shards;
            if (
              typeof t?.name === "string" &&
              Number.isInteger(n) &&
              (n as number) >= 1 &&
              (n as number) <= MAX_SHARDS
            ) {
              next.set(t.name, n as number);
            }
          }
          this.published = next;
        }
      } catch (err) {
        this.log.debug({ err, key: this.keys.config }, "the published config could not be read for shard counts");
      } finally {
        this.publishedAt = Date.now();
        this.publishedLoad = undefined;
      }
    })();
    return this.publishedLoad;
  }

  /**
   * Before an enqueue of a type with no settings here: the published shard
   * counts, read once (awaited) and then again in the background when older
   * than PUBLISHED_SHARDS_MS.
   */
  async publishedShardsFor(jobType: string): Promise<void> {
    if (this.settings.has(jobType)) return;
    if (this.publishedAt === 0) await this.loadPublishedShards();
    else if (Date.now() - this.publishedAt > PUBLISHED_SHARDS_MS) void this.loadPublishedShards();
  }

  /** The queue names of every shard of `jobType`, shard 0 (the type itself) first; a shard's own name is just itself. */
  queuesOf(jobType: string): string[] {
    return jobType.includes("#") ? [jobType] : shardQueues(jobType, this.shardsOf(jobType));
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
   * the chunk to another process passes it on without parsing it here),
   * checked to parse unless `json` is "unchecked".
   * `queue` is the queue the chunk was taken from: the type, or one of its shards.
   */
  async toBatch<P>(
    queue: string,
    k: TypeKeys,
    chunkId: string,
    raw: RawChunk,
    json: PayloadText = false,
  ): Promise<Batch<P>> {
    const jobType = this.typeOf(queue);
    const { entries, fails } = raw;
    const items: QueueItem<P>[] = [];
    const bad: string[] = [];
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as string;
      const tab = e.indexOf("\t");
      // an entry without a tab (written around the API) is all id, with an empty payload (not JSON), as in Lua
      const id = tab < 0 ? e : e.slice(0, tab);
      const text = tab < 0 ? "" : e.slice(tab + 1);
      let payload: unknown = text;
      // parsed in JSON mode too: one corrupt payload must not spoil the document of a whole chunk; "unchecked":
      // the consumer parses each payload and fails one that is not JSON (JSON.parse is most of this loop's cost)
      if (json !== "unchecked") {
        try {
          const value: unknown = JSON.parse(text);
          if (!json) payload = value;
        } catch {
          bad.push(id);
          continue;
        }
      }
      items.push({ id, payload: payload as P, attempts: attemptsOf(fails[i]) });
    }
    if (bad.length > 0) {
      // payloads written around the API: dead at once, never lost and never retried forever
      const fail = { retry: false, delayMs: -1, error: "stored payload is not valid JSON" };
      await releaseScript(this.client, k, chunkId, bad, this.settingsOf(jobType), fail);
    }
    const batch: Batch<P> = { id: chunkId, jobType, items, size: items.length, leaseDeadline: raw.leaseDeadline };
    if (queue !== jobType) batch.queue = queue;
    if (raw.splitDepth > 0) batch.splitDepth = raw.splitDepth;
    return batch;
  }
}
