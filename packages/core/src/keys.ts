/**
 * Every Redis key batchjob uses, built by name in one place. Two kinds:
 *   1. a job type's keys, `<prefix>:{T}:...`: one hash tag per type, so each
 *      Lua script of the type touches one cluster slot, and a type whose slot
 *      is down stops that type only;
 *   2. the control plane, `<prefix>:{<prefix>:control}:...` (workers, hosts,
 *      leader, history, decisions, the BullMQ inboxes, ...): one hash tag for
 *      all, so only that slot's master is critical to the control plane. The
 *      tag holds a ":", which no job type name may: no type shares its keys.
 * The layout is documented for operators in packages/core/README.md.
 */
import { InvalidJobTypeError } from "./errors.js";

/** @defaultValue "bj" */
export const DEFAULT_PREFIX = "bj";

const JOB_TYPE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const PREFIX = /^[A-Za-z0-9._:-]{1,32}$/;

/** What a job type name may be, as the errors say it. */
export const JOB_TYPE_NAME_RULE = "use 1 to 64 characters from A-Z a-z 0-9 . _ -";
/** Why `.` and `..` are refused, as the errors say it. */
export const DOT_NAME_RULE = "'.' and '..' are not job type names: they read as folders";

/**
 * Whether `name` can name a job type: `^[A-Za-z0-9._-]{1,64}$` but not `.`
 * or `..`, which read as folders wherever a name becomes a path (files and
 * URLs named after the type, log paths).
 */
export function isJobTypeName(name: unknown): name is string {
  return typeof name === "string" && JOB_TYPE_NAME.test(name) && !isDotName(name);
}

/** `.` or `..`: matches the name pattern, but is no name. */
export function isDotName(name: string): boolean {
  return name === "." || name === "..";
}

/** Shards one job type may have at most (`shards` in its config). */
export const MAX_SHARDS = 64;

/**
 * The queue name of shard `shard` of `jobType` (#12, `shards: N`): shard 0
 * is the type itself (its keys are `{T}`, so a type that gains shards keeps
 * its queued items where they are), shard i > 0 is `T#i` (keys `{T#i}`, a
 * hash tag of its own, so a Redis Cluster may place it on another master).
 * No job type name holds a `#`: no type shares a shard's keys.
 */
export function shardQueue(jobType: string, shard: number): string {
  return shard === 0 ? jobType : `${jobType}#${shard}`;
}

/** The queue names of the `shards` shards of `jobType`, shard 0 (the type itself) first. */
export function shardQueues(jobType: string, shards: number): string[] {
  return Array.from({ length: Math.max(1, shards) }, (_, i) => shardQueue(jobType, i));
}

/** The job type and shard of a queue name (`T` is shard 0 of T, `T#2` shard 2); null when it is neither. */
export function parseQueueName(name: string): { jobType: string; shard: number } | null {
  const hash = name.lastIndexOf("#");
  if (hash < 0) return isJobTypeName(name) ? { jobType: name, shard: 0 } : null;
  const jobType = name.slice(0, hash);
  const digits = name.slice(hash + 1);
  const shard = Number(digits);
  if (!isJobTypeName(jobType) || !/^[1-9][0-9]{0,2}$/.test(digits) || shard >= MAX_SHARDS) return null;
  return { jobType, shard };
}

/** Throws `InvalidJobTypeError` unless `isJobTypeName(name)`. */
export function assertJobTypeName(name: unknown): asserts name is string {
  if (!isJobTypeName(name)) {
    const shown = typeof name === "string" ? JSON.stringify(name) : String(name);
    const rule = typeof name === "string" && isDotName(name) ? DOT_NAME_RULE : JOB_TYPE_NAME_RULE;
    throw new InvalidJobTypeError(`invalid job type name ${shown}: ${rule}`);
  }
}

export function assertPrefix(prefix: string): void {
  if (!PREFIX.test(prefix)) {
    throw new InvalidJobTypeError(
      `invalid key prefix ${JSON.stringify(prefix)}: use 1 to 32 characters from A-Z a-z 0-9 . _ : -`,
    );
  }
}

/** The keys of one job type's item queue. */
export interface TypeKeys {
  /** LIST of entries `<id>\t<payload JSON>` waiting, FIFO (RPUSH / LPOP). */
  pending: string;
  /** HASH item id -> payload JSON, for items waiting in `delayed` or lying in `dead`. */
  items: string;
  /** SET of caller-given ids of the items present in any state (dedupe). */
  ids: string;
  /** HASH item id -> JSON `{attempts, at, error}` of its failures so far (absent: never failed). */
  fails: string;
  /** ZSET item id scored by the time (ms) it is due back in `pending`. */
  delayed: string;
  /** ZSET chunk id (owner) scored by its lease deadline (ms). */
  leases: string;
  /** ZSET dead item id scored by the time it died (ms). */
  dead: string;
  /** HASH of lifetime counters; leased = acquired - acked - retried - died - returned. */
  stats: string;
  /** STRING counter for generated item ids. */
  seq: string;
  /** LIST of the entries one chunk holds. */
  chunk(owner: string): string;
  /** LIST of this type's worker history, newest first, capped. */
  history: string;
  /** STRING: stop tokens; a worker that takes one stops after its chunk (scale down). */
  stop: string;
  /** SET of the ids of workers that took a stop token (expires a minute after the last one). */
  stopping: string;
  /** LIST of `<depth>:<group id>`: halves of split chunks, each leased whole as a chunk before anything pending. */
  groups: string;
  /** LIST of the entries of one split group. */
  group(groupId: string): string;
  /** SET of the reservation ids the manager dispatched that no worker has taken yet. */
  reserved: string;
  /**
   * STRING: items enqueued or revived, ever; moved in the same MULTI or
   * script as the items, so the manager can skip a type whose count did not move.
   */
  activity: string;
  /**
   * LIST: the wake signal of lingering workers (#12). Every enqueue pushes
   * one and trims the list to WAKE_SIGNALS_KEPT, so it never grows; a worker
   * that drained its queue blocks on it (BLPOP) for up to `idleMs`.
   */
  wake: string;
  /**
   * ZSET: where each enqueue's entries start in the count of entries ever
   * pushed to `pending` (the `pushed` field of `stats`) and when, as
   * `<count>:<ms>` scored by the count: the age of the oldest pending item.
   */
  since: string;
  /**
   * The per-minute metrics HASH of one epoch minute (done, retried, dead,
   * returned, h0..h5, runMs, untimed); `minute("")` is what the scripts add the minute to.
   */
  minute(epochMinute: number | ""): string;
}

/** Signals the wake list keeps: one is enough to wake the next lingering worker (enqueue.lua trims to it). */
export const WAKE_SIGNALS_KEPT = 1;

export interface Keys {
  prefix: string;
  /** The keys of a job type, or of one of its shards: `type("T#2")` (see shardQueue). */
  type(jobType: string): TypeKeys;
  /** `<prefix>:{<prefix>:control}`: what every control-plane key starts with (one hash tag, one cluster slot). */
  control: string;
  /** SET of every job type name that was ever enqueued to (written after the items, best effort). */
  types: string;
  /** HASH worker id -> JSON `WorkerListItem`: the running workers. */
  workers: string;
  /** LIST of every worker history entry, newest first, capped. */
  history: string;
  /** ZSET host id scored by its last heartbeat (ms, Redis clock). */
  hostBeats: string;
  /** HASH host id -> JSON `HostInfo` of its last heartbeat. */
  hostInfo: string;
  /** STRING holding the leader manager's id, with a TTL. */
  leader: string;
  /** STRING: JSON of the effective configuration the leader published. */
  config: string;
  /** HASH job type -> JSON of the last scaling decision. */
  decisions: string;
  /** STRING: JSON of the current load level and the metrics behind it. */
  load: string;
  /** HASH job type -> last start time (ms, Redis clock). */
  lastStart: string;
  /** SET of paused job type names: enqueue works, no worker starts, running workers stop after their chunk. */
  paused: string;
  /** HASH `<type>:<alert>` -> JSON of an alert that is firing (the leader's, see the manager's alerts step). */
  alerts: string;
  /**
   * SET of host ids asked to drain (`batchjob drain`): the manager dispatches
   * nothing to them; each worker daemon reads it with its heartbeat, stops
   * taking work, lets its workers finish their chunks and exits, removing its id.
   */
  draining: string;
  /** The BullMQ prefix of dispatch inboxes (in the control plane's slot). */
  bullPrefix: string;
  /** BullMQ queue name of one host's dispatch inbox. */
  inbox(hostId: string): string;
}

/** The keys of a type that are one string (not `chunk` and `group`, which take an id), by name. */
export type TypeKeyName = { [N in keyof TypeKeys]: TypeKeys[N] extends string ? N : never }[keyof TypeKeys];

/**
 * What the names in a Lua script's `-- KEYS:` header line stand for: a
 * type's keys by their `TypeKeys` name, the chunk lists of the call, and the
 * host and leader keys by their `Keys` name. A wrapper gives what its script
 * may name (`typeKeysOf(k, { chunk: k.chunk(owner) })`) and `keysFor` puts
 * them in the header's order, so a new key of a type is a member of
 * `TypeKeys` and a name in the script's header, nothing else.
 */
export interface ScriptKeyValues
  extends Partial<Record<TypeKeyName, string>>,
    Partial<Pick<Keys, "hostBeats" | "hostInfo" | "leader">> {
  /** The chunk list of the call's `owner`. */
  chunk?: string;
  /** The chunk list of settle's `nextOwner`. */
  nextChunk?: string;
}

/**
 * The keys of a type that are one string, by their name, and `extra` (the
 * chunk lists of a call): what a script of the type may name. Built per call
 * (a settle's hot path): for-in and assign, not a spread, which is 10x slower.
 */
export function typeKeysOf(k: TypeKeys, extra?: ScriptKeyValues): Record<TypeKeyName, string> & ScriptKeyValues {
  const out: ScriptKeyValues = {};
  for (const name in k) {
    const key = k[name as keyof TypeKeys];
    if (typeof key === "string") out[name as TypeKeyName] = key;
  }
  if (extra) Object.assign(out, extra);
  return out as Record<TypeKeyName, string> & ScriptKeyValues;
}

/** The hash tag of a key: the text between the first `{` and the next `}`, when not empty; else the whole key. */
export function hashTag(key: string): string {
  const open = key.indexOf("{");
  if (open < 0) return key;
  const close = key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

/** CRC16-XMODEM, the checksum of Redis Cluster's key slots. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Redis Cluster slot of `key` (0..16383), as `CLUSTER KEYSLOT` computes it. */
export function hashSlot(key: string): number {
  return crc16(Buffer.from(hashTag(key))) % 16384;
}

/**
 * The shard of an item enqueued with ordering key or caller id `key`, of
 * `shards`: CRC16-XMODEM of its UTF-8 bytes (Redis Cluster's checksum, which
 * any Redis client library has), modulo `shards`. The same key always lands
 * on the same shard: its items stay in order, and its caller id dedupes.
 */
export function shardOfKey(key: string, shards: number): number {
  return shards <= 1 ? 0 : crc16(Buffer.from(key)) % shards;
}

/** The keys of this many job types are kept built (a tick of 1,000 types builds none); past it, the set starts over. */
const TYPE_KEYS_KEPT = 10_000;

export function makeKeys(prefix: string = DEFAULT_PREFIX): Keys {
  assertPrefix(prefix);
  const control = `${prefix}:{${prefix}:control}`;
  // built once per type (and frozen: shared by every caller), not on every call of a hot path
  const byType = new Map<string, TypeKeys>();
  return {
    prefix,
    type(jobType: string): TypeKeys {
      const known = byType.get(jobType);
      if (known) return known;
      // a shard's queue name (T#i) has keys of its own; anything else must be a job type name
      if (!jobType.includes("#") || parseQueueName(jobType) === null) assertJobTypeName(jobType);
      const base = `${prefix}:{${jobType}}`;
      const k: TypeKeys = Object.freeze({
        pending: `${base}:pending`,
        items: `${base}:items`,
        ids: `${base}:ids`,
        fails: `${base}:fails`,
        delayed: `${base}:delayed`,
        leases: `${base}:leases`,
        dead: `${base}:dead`,
        stats: `${base}:stats`,
        seq: `${base}:seq`,
        chunk: (owner: string) => `${base}:chunk:${owner}`,
        history: `${base}:history`,
        stop: `${base}:stop`,
        stopping: `${base}:stopping`,
        groups: `${base}:groups`,
        group: (groupId: string) => `${base}:group:${groupId}`,
        reserved: `${base}:reserved`,
        activity: `${base}:activity`,
        wake: `${base}:wake`,
        since: `${base}:since`,
        minute: (epochMinute: number | "") => `${base}:minute:${epochMinute}`,
      });
      if (byType.size >= TYPE_KEYS_KEPT) byType.clear();
      byType.set(jobType, k);
      return k;
    },
    control,
    types: `${control}:types`,
    workers: `${control}:workers`,
    history: `${control}:history`,
    hostBeats: `${control}:hosts:beats`,
    hostInfo: `${control}:hosts:info`,
    leader: `${control}:leader`,
    config: `${control}:config`,
    decisions: `${control}:decisions`,
    load: `${control}:load`,
    lastStart: `${control}:last-start`,
    paused: `${control}:paused`,
    alerts: `${control}:alerts`,
    draining: `${control}:draining`,
    bullPrefix: `${control}:bull`,
    inbox: (hostId: string) => `inbox-${hostId}`,
  };
}
