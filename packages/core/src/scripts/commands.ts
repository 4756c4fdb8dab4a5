/**
 * One typed wrapper per Lua script: gives the script's keys by name
 * (`keysFor` orders them as the script's `-- KEYS:` header does), flattens
 * its ARGV, and turns the raw reply into a typed value. Lua errors become
 * typed errors through `errorFromLua`.
 */
import { errorFromLua } from "../errors.js";
import { type ScriptKeyValues, type TypeKeys, typeKeysOf } from "../keys.js";
import type { Backlog } from "../queue-inspect.js";
import type { RedisClient } from "../redis.js";
import { scriptCommand } from "./loader.js";
import { keysFor, type ScriptName, scriptEachType, scriptKeyNames } from "./source.js";

/** How a failed item comes back: attempts allowed, the delay before a retry, returns allowed. */
export interface RetryPolicy {
  /** Attempts an item gets before it is dead. */
  maxAttempts: number;
  /** Times a lone item may be handed back by a dying host or daemon before it is dead. */
  maxReturns: number;
  backoff: {
    /** `exponential`: delayMs * 2^(attempts-1), capped at maxDelayMs; `fixed`: delayMs. */
    type: "fixed" | "exponential";
    delayMs: number;
    maxDelayMs: number;
  };
}

type Arg = string | number;

function policyArgs(p: RetryPolicy): Arg[] {
  return [p.maxAttempts, p.backoff.type, p.backoff.delayMs, p.backoff.maxDelayMs, p.maxReturns];
}

/** Runs `name` with KEYS `keys` (from `keysFor`; once per job type for an @each-type script) and ARGV `args`. */
export async function runScript(client: RedisClient, name: ScriptName, keys: string[], args: Arg[]): Promise<unknown> {
  const declared = scriptKeyNames(name).length;
  const fits = scriptEachType(name) ? keys.length > 0 && keys.length % declared === 0 : keys.length === declared;
  if (!fits)
    throw new Error(
      `internal: ${name} takes ${declared} keys${scriptEachType(name) ? " per type" : ""}, got ${keys.length}`,
    );
  try {
    return await scriptCommand(client, name, keys.length)(...keys, ...args);
  } catch (err) {
    throw errorFromLua(err, name);
  }
}

/** Runs `name` with the keys its header names, looked up in `values`. */
function callScript(client: RedisClient, name: ScriptName, values: ScriptKeyValues, args: Arg[]): Promise<unknown> {
  return runScript(client, name, keysFor(name, values), args);
}

/**
 * A leased chunk as the scripts return it: its entries (`<id>\t<payload>`)
 * and their failure records, split and parsed in one pass by `toBatch`.
 */
export interface RawChunk {
  entries: string[];
  /** The `fails` record of each entry (null: none); empty when no item of the type has failed. */
  fails: (string | null)[];
  leaseDeadline: number;
  /** Splits that made this chunk (a group); 0 for a chunk taken from pending. */
  splitDepth: number;
}

/** Attempts recorded in a `fails` entry (`{"attempts":n,...}`), 0 when absent. */
export function attemptsOf(entry: string | null | undefined): number {
  if (!entry) return 0;
  const m = /^\{"attempts":(\d+)/.exec(entry);
  return m ? Number(m[1]) : 0;
}

function toChunk(reply: unknown): RawChunk {
  const [entries, fails, deadline, depth] = reply as [string[], (string | null)[], number, number];
  return { entries, fails, leaseDeadline: Number(deadline), splitDepth: Number(depth ?? 0) };
}

/** The KEYS of an enqueue call (the enqueue of many commands in one MULTI runs the script itself). */
export function enqueueKeys(k: TypeKeys): string[] {
  return keysFor("enqueue", typeKeysOf(k));
}

/**
 * The producer protocol version the enqueue script speaks (its ARGV[1];
 * docs/protocol.md). Moves only when its keys, arguments, reply or entries change.
 */
export const ENQUEUE_PROTOCOL_VERSION = 2;

/**
 * ARGV of one enqueue script call: the protocol version, the count of ids to
 * generate, then pairs of id ('' = generate) and payload.
 */
export function enqueueArgs(ids: string[], payloads: string[], from: number, to: number): Arg[] {
  const args: Arg[] = [ENQUEUE_PROTOCOL_VERSION, 0];
  let autos = 0;
  for (let i = from; i < to; i++) {
    if (ids[i] === "") autos++;
    args.push(ids[i] as string, payloads[i] as string);
  }
  args[1] = autos;
  return args;
}

export interface RawEnqueueReply {
  added: number;
  firstSeq: number;
  deduped: string[];
}

export function parseEnqueueReply(reply: unknown): RawEnqueueReply {
  const [added, firstSeq, deduped] = reply as [number, number, string[]];
  return { added, firstSeq, deduped };
}

export async function acquireScript(
  client: RedisClient,
  k: TypeKeys,
  owner: string,
  max: number,
  leaseMs: number,
): Promise<RawChunk> {
  const keys = typeKeysOf(k, { chunk: k.chunk(owner) });
  return toChunk(await callScript(client, "acquire", keys, [owner, max, leaseMs, k.group("")]));
}

export async function ackScript(
  client: RedisClient,
  k: TypeKeys,
  owner: string,
  ids: string[],
): Promise<{ acked: number; notHeld: string[] }> {
  const keys = typeKeysOf(k, { chunk: k.chunk(owner) });
  const [acked, notHeld] = (await callScript(client, "ack", keys, [owner, ...ids])) as [number, string[]];
  return { acked, notHeld };
}

export interface FailOptions {
  retry: boolean;
  /** -1: the policy's backoff. */
  delayMs: number;
  error: string;
}

export async function releaseScript(
  client: RedisClient,
  k: TypeKeys,
  owner: string,
  ids: string[],
  policy: RetryPolicy,
  fail: FailOptions,
): Promise<{ retried: number; dead: number; notHeld: string[] }> {
  const keys = typeKeysOf(k, { chunk: k.chunk(owner) });
  const args = [owner, ...policyArgs(policy), fail.retry ? 1 : 0, fail.delayMs, fail.error, ...ids];
  const [retried, dead, notHeld] = (await callScript(client, "release", keys, args)) as [number, number, string[]];
  return { retried, dead, notHeld };
}

export interface SettleFailure extends FailOptions {
  id: string;
  /** How the failure was pinned on this item (kept in its failure record). */
  how: string;
}

/** What a settle does with the items of a chunk, by whose fault each outcome is. */
export interface SettleItems {
  ack: string[];
  /** Every item the chunk holds is acked (`ack` then is every id of the chunk; no id is sent, none matched). */
  ackAll: boolean;
  /** Charged a failed attempt. */
  fail: SettleFailure[];
  /** Handed back through no fault of their own: no attempt, returns + 1. */
  giveBack: string[];
  giveBackReason: string;
  /** Back to the head of pending, never started: no count at all. */
  requeue: string[];
  /** Split into two groups (each run as its own chunk), no charge. */
  split: string[];
  /** Depth of the groups the split makes. */
  splitDepth: number;
}

export interface RawSettleReply {
  acked: number;
  retried: number;
  dead: number;
  notHeld: string[];
  next: RawChunk;
  /** A stop token was taken instead of a next chunk. */
  stopped: boolean;
  /** Items given back, requeued or split (no attempt charged). */
  returned: number;
}

/** Where a settle or reclaim records the minute's metrics (see lua/includes/minute-metrics.lua). */
export interface MinuteMetricsArgs {
  /** How long a minute's counts are kept (ms); 0: none are recorded. */
  windowMs: number;
  /** The settled chunk's run time (ms); -1 when not known. */
  runMs: number;
}

function metricsArgs(k: TypeKeys, m: MinuteMetricsArgs): Arg[] {
  return m.windowMs > 0 ? [k.minute(""), m.windowMs, Math.max(-1, Math.round(m.runMs))] : ["", 0, -1];
}

/** One settle of a `settleScript` call: a chunk's outcome and, with `next`, the next chunk or a stop token. */
export interface SettleCall {
  /** The chunk settled. */
  owner: string;
  workerId: string;
  items: SettleItems;
  next: { owner: string; max: number; leaseMs: number } | null;
  /** The chunk's run time (ms); -1 when not known. */
  runMs: number;
}

/** Most settles one call carries (settle.lua's MAX_SETTLES). */
export const MAX_SETTLES_PER_CALL = 64;

/** Runs `calls` (the chunks of one type, or one shard) in one script call, in order; one reply each. */
export async function settleScript(
  client: RedisClient,
  k: TypeKeys,
  policy: RetryPolicy,
  metricsWindowMs: number,
  calls: readonly SettleCall[],
): Promise<RawSettleReply[]> {
  if (calls.length < 1 || calls.length > MAX_SETTLES_PER_CALL)
    throw new Error(`internal: settle takes 1 to ${MAX_SETTLES_PER_CALL} settles, got ${calls.length}`);
  const [metricsPrefix, windowMs] = metricsArgs(k, { windowMs: metricsWindowMs, runMs: -1 });
  const args: Arg[] = [
    calls.length,
    k.chunk(""),
    ...policyArgs(policy),
    k.group(""),
    metricsPrefix as Arg,
    windowMs as Arg,
  ];
  for (const c of calls) {
    const { ack, fail, giveBack, requeue, split } = c.items;
    args.push(
      c.owner,
      c.next?.owner ?? c.owner,
      c.next?.max ?? 0,
      c.next?.leaseMs ?? 0,
      c.workerId,
      c.items.splitDepth,
      c.items.giveBackReason,
      Math.max(-1, Math.round(c.runMs)),
      c.items.ackAll ? -1 : ack.length,
      fail.length,
      giveBack.length,
      requeue.length,
      split.length,
    );
    if (!c.items.ackAll) for (const id of ack) args.push(id);
    for (const f of fail) args.push(f.id, f.retry ? 1 : 0, f.delayMs, f.error, f.how);
    for (const id of giveBack) args.push(id);
    for (const id of requeue) args.push(id);
    for (const id of split) args.push(id);
  }
  const replies = (await callScript(client, "settle", typeKeysOf(k), args)) as unknown[];
  return replies.map((reply) => {
    const [acked, retried, dead, notHeld, chunk, stopped, returned] = reply as [
      number,
      number,
      number,
      string[],
      unknown,
      number,
      number,
    ];
    return { acked, retried, dead, notHeld, next: toChunk(chunk), stopped: stopped === 1, returned };
  });
}

export async function extendScript(
  client: RedisClient,
  k: TypeKeys,
  owner: string,
  leaseMs: number,
): Promise<{ held: number; leaseDeadline: number }> {
  const reply = await callScript(client, "extend", typeKeysOf(k, { chunk: k.chunk(owner) }), [owner, leaseMs]);
  const [held, leaseDeadline] = reply as [number, number];
  return { held, leaseDeadline };
}

export async function reclaimScript(
  client: RedisClient,
  k: TypeKeys,
  policy: RetryPolicy,
  limit: number,
  message: string,
  owners: string[],
  metricsWindowMs: number,
): Promise<{ chunks: number; returned: number; dead: number; more: boolean; handled: number }> {
  const m = metricsArgs(k, { windowMs: metricsWindowMs, runMs: -1 }).slice(0, 2);
  const args = [...policyArgs(policy), limit, k.chunk(""), k.group(""), message, ...m, ...owners];
  const reply = await callScript(client, "reclaim", typeKeysOf(k), args);
  const [chunks, returned, dead, more, handled] = reply as number[];
  return { chunks: chunks ?? 0, returned: returned ?? 0, dead: dead ?? 0, more: more === 1, handled: handled ?? 0 };
}

export async function deadScript(
  client: RedisClient,
  k: TypeKeys,
  action: "dead-retry" | "dead-purge",
  limit: number,
  ids: string[],
): Promise<{ count: number; more: boolean }> {
  const [count, more] = (await callScript(client, action, typeKeysOf(k), [limit, ...ids])) as number[];
  return { count: count ?? 0, more: more === 1 };
}

export async function returnChunkScript(
  client: RedisClient,
  k: TypeKeys,
  owner: string,
  splitDepth: number,
): Promise<number> {
  const keys = typeKeysOf(k, { chunk: k.chunk(owner) });
  return Number(await callScript(client, "return-chunk", keys, [owner, splitDepth, k.group("")]));
}

/** Registered hosts with their last beat (ms) and info JSON, and the time on the same clock. */
export async function hostListScript(client: RedisClient, beats: string, info: string) {
  const reply = await callScript(client, "host-list", { hostBeats: beats, hostInfo: info }, []);
  const [now, flat] = reply as [number, (string | null)[]];
  const hosts: { id: string; beatAt: number; info: string | null }[] = [];
  for (let i = 0; i < flat.length; i += 3) {
    hosts.push({ id: flat[i] as string, beatAt: Number(flat[i + 1]), info: flat[i + 2] ?? null });
  }
  return { now: Number(now), hosts };
}

export async function heartbeatScript(client: RedisClient, beats: string, info: string, hostId: string, json: string) {
  return Number(await callScript(client, "heartbeat", { hostBeats: beats, hostInfo: info }, [hostId, json]));
}

/** Renews the leader lease while `id` holds it; false when it does not. */
export async function leaderRenewScript(client: RedisClient, key: string, id: string, leaseMs: number) {
  return Number(await callScript(client, "leader-renew", { leader: key }, [id, leaseMs])) === 1;
}

export async function leaderReleaseScript(client: RedisClient, key: string, id: string) {
  return Number(await callScript(client, "leader-release", { leader: key }, [id])) === 1;
}

/** One job type a backlog call reads: its keys, and the reservations dispatched for it that no worker was seen taking. */
export interface BacklogRead {
  keys: TypeKeys;
  reservations: string[];
}

/** The backlog script's keys of each type, built once (a type's TypeKeys are built once and frozen, keys.ts). */
const backlogKeys = new WeakMap<TypeKeys, string[]>();

function backlogKeysOf(k: TypeKeys): string[] {
  let keys = backlogKeys.get(k);
  if (!keys) {
    keys = keysFor("backlog", typeKeysOf(k));
    backlogKeys.set(k, keys);
  }
  return keys;
}

/**
 * Per type of `reads`, in one call (on a cluster, all of one hash slot):
 * ready items (pending, split groups, due retries), the earliest lease
 * deadline (null: none) and all delayed items; which of its reservations
 * still wait for a worker; ids of workers leaving (stop token); its activity
 * count when it has nothing ready, leased or delayed (null otherwise).
 */
export async function backlogScript(client: RedisClient, now: number, reads: BacklogRead[]): Promise<Backlog[]> {
  const keys: string[] = [];
  const args: Arg[] = [now];
  for (const r of reads) {
    for (const key of backlogKeysOf(r.keys)) keys.push(key);
    args.push(r.reservations.length);
    for (const id of r.reservations) args.push(id);
  }
  const reply = (await runScript(client, "backlog", keys, args)) as unknown[];
  return reads.map((r, i) => {
    const [ready, first, delayed, waiting, stopping, activity] = reply[i] as [
      number,
      number,
      number,
      number[],
      string[],
      string | null,
    ];
    return {
      pending: ready,
      earliestLeaseDeadline: first < 0 ? null : first,
      delayed,
      waiting: r.reservations.filter((_, j) => waiting[j] === 1),
      stopping,
      activity: activity ?? null,
    };
  });
}

/** Records reservations of dispatched starts in the type's `reserved` set, which lives `ttlMs` after this write. */
export async function reserveScript(client: RedisClient, k: TypeKeys, ttlMs: number, ids: string[]): Promise<number> {
  return Number(await callScript(client, "reserve", typeKeysOf(k), [ttlMs, ...ids]));
}

/** Takes one of the type's stop tokens (shard 0's keys) for `workerId`: true when it must stop after its chunk. */
export async function takeStopScript(client: RedisClient, k: TypeKeys, workerId: string): Promise<boolean> {
  return Number(await callScript(client, "take-stop", typeKeysOf(k), [workerId])) === 1;
}

/** Sets a type's stop tokens from the workers listed now, atomically with workers taking them. */
export async function stopTokensScript(
  client: RedisClient,
  k: TypeKeys,
  target: number,
  dispatched: number,
  listed: string[],
): Promise<{ tokens: number; leaving: number }> {
  const reply = await callScript(client, "stop-tokens", typeKeysOf(k), [target, dispatched, ...listed]);
  const [tokens, leaving] = reply as [number, number];
  return { tokens, leaving };
}

/** Counts and marks `n` entries just pushed in the same MULTI (the fast enqueue path): the call's KEYS and ARGV. */
export function markPushedCall(k: TypeKeys, n: number): { keys: string[]; args: Arg[] } {
  return { keys: keysFor("mark-pushed", typeKeysOf(k)), args: [n] };
}

/** How long the head of pending has waited since its enqueue (ms; null: nothing pending or not known), and how many wait. */
export async function pendingAgeScript(
  client: RedisClient,
  k: TypeKeys,
): Promise<{ ageMs: number | null; pending: number }> {
  const [age, pending] = (await callScript(client, "pending-age", typeKeysOf(k), [])) as [number, number];
  return { ageMs: age < 0 ? null : age, pending };
}
