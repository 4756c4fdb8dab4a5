/**
 * The data behind `batchjob status` and its documented `--json` shape
 * (StatusReport): per job type the queue counts, running workers against the
 * target and the last scaling decision; the load level and leader; the hosts
 * with heartbeat age, load and slots; recent worker history.
 * Each read waits a bounded time and fails on its own: on a cluster with a
 * slot range down, the types (or the control plane) whose slot cannot be
 * read are named with their slot in `problems` and their row, and the rest
 * is shown as usual. A corrupt value in Redis (the published config, a
 * decision, the load, a history, worker or host entry, a type name) is left
 * out and named in `problems` too, one line each.
 * Shared by `batchjob status` and the HTTP server's /api/status.
 */
import {
  type BatchjobConfig,
  type BatchQueue,
  defaults,
  HostRegistry,
  hashSlot,
  isCluster,
  isJobTypeName,
  type Keys,
  type LiveHost,
  PausedTypes,
  type QueueCounts,
  type RedisClient,
  RedisWorkerList,
  TypeMetrics,
  type WorkerHistoryItem,
  type WorkerListItem,
} from "@batchjob/core";
import { type Problems, readHistory, readStored, wrongField } from "./stored.js";

/** What a status report reads from: a connection, its keys and queue, and the config when one was given. */
export interface StatusSource {
  client: RedisClient;
  keys: Keys;
  queue: BatchQueue;
  config: BatchjobConfig | undefined;
}

/** How long one read of `status` may take before what it reads is reported unavailable. */
export const STATUS_READ_MS = 2000;

export interface StatusJobType {
  name: string;
  /** The counts are null when the type's slot could not be read (see `unavailable`). */
  pending: number | null;
  leased: number | null;
  delayed: number | null;
  dead: number | null;
  /** Workers running now (worker list). */
  running: number;
  /** Workers the manager aims for at the current level; null before a manager decided. */
  target: number | null;
  decision: { reason: string; at: number; start: number; stopTokens: number; level: string } | null;
  enqueued: number | null;
  acked: number | null;
  died: number | null;
  /** Paused (`batchjob pause`): enqueue works, no worker starts; false when the paused set could not be read. */
  paused: boolean;
  /** How long the oldest pending item has waited since its enqueue (ms); null when none waits or it is not known. */
  oldestPendingAgeMs: number | null;
  /** The type's alerts firing now (the manager's alerts step), oldest first. */
  alerts: { alert: string; value: number; threshold: number; since: number }[];
  /** Why the type's queue could not be read (its cluster slot, the error); null when it was. */
  unavailable: string | null;
}

export interface StatusHost {
  id: string;
  hostname: string;
  pid: number;
  alive: boolean;
  beatAgeMs: number | null;
  slots: number;
  running: Record<string, number>;
  load: { loadAvg: number; cpu: number; freeMemBytes: number; totalMemBytes: number };
  draining: boolean;
  version: string;
}

export interface StatusReport {
  /** ISO time of the report. */
  at: string;
  prefix: string;
  /** Manager id holding the leader lease, null when none runs. */
  leader: string | null;
  load: { level: "high" | "medium" | "low"; value: number; hosts: number; at: number } | null;
  jobTypes: StatusJobType[];
  hosts: StatusHost[];
  history: WorkerHistoryItem[];
  /**
   * What could not be read, one line each: a value in Redis that is not what
   * batchjob writes (naming its key), a cluster slot down (naming the slot).
   * Empty when all was read.
   */
  problems: string[];
}

type Decision = NonNullable<StatusJobType["decision"]> & { target: number };
const DECISION_FIELDS = {
  reason: "string",
  at: "number",
  start: "number",
  stopTokens: "number",
  level: "string",
  target: "number",
} as const;
const LOAD_FIELDS = { level: "string", value: "number", hosts: "number", at: "number" } as const;

/** A job type's last decision as the manager published it; null (and a problem) when it is corrupt. */
function decisionOf(key: string, name: string, raw: string | undefined, problems: Problems): Decision | null {
  if (!raw) return null;
  const r = readStored<Decision>(raw, (v) => wrongField(v, DECISION_FIELDS));
  if ("value" in r) return r.value;
  problems.push(`${key} field ${name} ${r.problem}: no decision shown`);
  return null;
}

/** The load level the manager published; null (and a problem) when it is corrupt. */
function loadOf(key: string, raw: string | null, problems: Problems): StatusReport["load"] {
  if (!raw) return null;
  const r = readStored<NonNullable<StatusReport["load"]>>(raw, (v) =>
    ["high", "medium", "low"].includes(v.level as string)
      ? wrongField(v, LOAD_FIELDS)
      : "level is not high, medium or low",
  );
  if ("value" in r) return r.value;
  problems.push(`${key} ${r.problem}: the load level is not shown`);
  return null;
}

/** A job type's row: its counts, running workers and the manager's last decision. */
function jobTypeRow(
  name: string,
  c: QueueCounts | null,
  d: Decision | null,
  running: number,
  paused: boolean,
  extra: { oldestPendingAgeMs: number | null; alerts: StatusJobType["alerts"] },
  unavailable: string | null,
): StatusJobType {
  return {
    name,
    pending: c?.pending ?? null,
    leased: c?.leased ?? null,
    delayed: c?.delayed ?? null,
    dead: c?.dead ?? null,
    running,
    target: d?.target ?? null,
    decision: d ? { reason: d.reason, at: d.at, start: d.start, stopTokens: d.stopTokens, level: d.level } : null,
    enqueued: c?.enqueued ?? null,
    acked: c?.acked ?? null,
    died: c?.died ?? null,
    paused,
    oldestPendingAgeMs: extra.oldestPendingAgeMs,
    alerts: extra.alerts,
    unavailable,
  };
}

/** Live hosts with their last beat; dead ones with what is known of them (their id); sorted by id. */
function hostRows(hosts: { alive: LiveHost[]; dead: string[] }): StatusHost[] {
  const row = (h: Omit<StatusHost, "alive" | "beatAgeMs">, alive: boolean, beatAgeMs: number | null): StatusHost => ({
    id: h.id,
    hostname: h.hostname,
    pid: h.pid,
    alive,
    beatAgeMs,
    slots: h.slots,
    running: h.running,
    load: h.load,
    draining: h.draining,
    version: h.version,
  });
  const unknown = { hostname: "?", pid: 0, slots: 0, running: {}, draining: false, version: "?" };
  const noLoad = { loadAvg: 0, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 };
  // by id, so that rows keep their place from one `--watch` frame to the next
  return [
    ...hosts.alive.map((h) => row(h, true, h.beatAgeMs)),
    ...hosts.dead.map((id) => row({ id, ...unknown, load: noLoad }, false, null)),
  ].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** "slot N (node host:port)": where a key lives, as the client last knew it. */
export function slotName(client: RedisClient, key: string): string {
  const slot = hashSlot(key);
  const node = isCluster(client) ? client.slots[slot]?.[0] : undefined;
  return node ? `slot ${slot} (node ${node})` : `slot ${slot}`;
}

/** `read`, or its error (including no answer within STATUS_READ_MS), without throwing. */
async function settle<T>(read: Promise<T>): Promise<{ value: T } | { error: string }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ error: string }>((resolve) => {
    timer = setTimeout(() => resolve({ error: `no answer within ${STATUS_READ_MS} ms` }), STATUS_READ_MS);
  });
  try {
    return await Promise.race([read.then((value) => ({ value })), late]);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** The job type names the leader published with the config; none (and a problem) when it is corrupt. */
function publishedNames(key: string, raw: string | null, problems: Problems): unknown[] {
  if (!raw) return [];
  const r = readStored<{ jobTypes: unknown[] }>(raw, (v) =>
    Array.isArray(v.jobTypes) ? undefined : "jobTypes is not a list",
  );
  if ("value" in r)
    return r.value.jobTypes.map((t) => (typeof t === "object" && t !== null ? (t as { name?: unknown }).name : t));
  problems.push(`${key} ${r.problem}: the job types it lists are not shown`);
  return [];
}

/** The names of `found` that can be job types; the others make one problem line naming `key`. */
function typeNamesOf(key: string, found: unknown[], problems: Problems): string[] {
  const bad = found.filter((n) => !isJobTypeName(n));
  if (bad.length > 0) {
    const shown = bad.slice(0, 3).map((n) => JSON.stringify(n) ?? String(n));
    problems.push(
      `${key} names ${bad.length} job type${bad.length > 1 ? "s" : ""} that cannot be one, not shown: ${shown.join(", ")}`,
    );
  }
  return found.filter(isJobTypeName);
}

interface ControlReads {
  leader: string | null;
  load: StatusReport["load"];
  decisions: Record<string, string>;
  workers: WorkerListItem[];
  hosts: { alive: LiveHost[]; dead: string[] };
  history: WorkerHistoryItem[];
  /** Types published by the leader or ever enqueued to. */
  types: string[];
  /** Paused types (`keys.paused`). */
  paused: Set<string>;
  /** Alerts firing now, by job type (`keys.alerts`). */
  alerts: Map<string, StatusJobType["alerts"]>;
}

/**
 * The control plane's keys (one slot): each read on its own; what fails is
 * empty and named in `problems`, and so is each corrupt value or entry.
 */
async function readControl(s: StatusSource, historyLimit: number, problems: Problems): Promise<ControlReads> {
  const { client, keys, config } = s;
  const ttl = config?.worker.hostTtlMs ?? defaults.worker.hostTtlMs;
  const badWorkers: [string, string][] = [];
  const badHosts: [string, string][] = [];
  const corrupt: Problems = [];
  const [leader, load, decisions, workers, hosts, history, published, registered, paused, alerts] = await Promise.all([
    settle(client.get(keys.leader)),
    settle(client.get(keys.load)),
    settle(client.hgetall(keys.decisions)),
    settle(new RedisWorkerList(client, keys).list({}, (id, error) => badWorkers.push([id, error]))),
    settle(new HostRegistry(client, keys).list(ttl, (id, error) => badHosts.push([id, error]))),
    settle(readHistory(client, keys.history, historyLimit, corrupt)),
    settle(client.get(keys.config)),
    settle(s.queue.jobTypes()),
    settle(new PausedTypes(client, keys).list()),
    settle(client.hgetall(keys.alerts)),
  ]);
  const failed = [leader, load, decisions, workers, hosts, history, published, registered, paused, alerts].find(
    (r) => "error" in r,
  );
  if (failed && "error" in failed) {
    problems.push(
      `control plane (${slotName(client, keys.control)}, keys ${keys.control}:*) cannot be read: ${failed.error}; leader, load, workers, hosts and history are not shown`,
    );
  }
  problems.push(...corrupt);
  skipped(problems, keys.workers, badWorkers);
  skipped(problems, keys.hostInfo, badHosts);
  const value = <T>(r: { value: T } | { error: string }, fallback: T): T => ("value" in r ? r.value : fallback);
  return {
    leader: value(leader, null),
    load: loadOf(keys.load, value(load, null), problems),
    decisions: value(decisions, {}),
    workers: value(workers, []),
    hosts: "value" in hosts ? { alive: hosts.value.alive, dead: hosts.value.dead } : { alive: [], dead: [] },
    history: value(history, []),
    types: [
      ...typeNamesOf(keys.config, publishedNames(keys.config, value(published, null), problems), problems),
      ...typeNamesOf(keys.types, value(registered, []), problems),
    ],
    paused: new Set(value(paused, [])),
    alerts: alertsOf(keys.alerts, value(alerts, {}), problems),
  };
}

/** The alerts firing, by job type, from `keys.alerts` (`<type>:<alert>` -> JSON); a corrupt one is a problem. */
function alertsOf(key: string, raw: Record<string, string>, problems: Problems): ControlReads["alerts"] {
  const out: ControlReads["alerts"] = new Map();
  for (const [field, json] of Object.entries(raw)) {
    const r = readStored<{ jobType: string; alert: string; value: number; threshold: number; since: number }>(
      json,
      (v) =>
        wrongField(v, { jobType: "string", alert: "string", value: "number", threshold: "number", since: "number" }),
    );
    if (!("value" in r)) {
      problems.push(`${key} field ${field} ${r.problem}: that alert is not shown`);
      continue;
    }
    const { jobType, alert, value, threshold, since } = r.value;
    out.set(jobType, [...(out.get(jobType) ?? []), { alert, value, threshold, since }]);
  }
  for (const list of out.values()) list.sort((a, b) => a.since - b.since);
  return out;
}

/** One problem line for the entries of `key` that were skipped. */
function skipped(problems: Problems, key: string, bad: [string, string][]): void {
  const [first] = bad;
  if (first)
    problems.push(
      `${key}: ${bad.length} entr${bad.length > 1 ? "ies" : "y"} skipped; the first, ${first[0]}: ${first[1]}`,
    );
}

export async function collectStatus(s: StatusSource, options: { historyLimit: number }): Promise<StatusReport> {
  const { client, keys, queue, config } = s;
  const problems: Problems = [];
  const control = await readControl(s, options.historyLimit, problems);
  const names = [...new Set([...(config?.jobTypes.map((t) => t.name) ?? []), ...control.types])].sort();
  const metrics = new TypeMetrics(client, keys, (t) => queue.queuesOf(t));
  const [counts, ages] = await Promise.all([
    Promise.all(names.map((n) => settle(queue.counts(n)))),
    Promise.all(names.map((n) => settle(metrics.oldestPendingAgeMs(n)))),
  ]);
  const jobTypes = names.map((name, i) => {
    const c = counts[i] ?? { error: "not read" };
    let unavailable: string | null = null;
    if ("error" in c) {
      unavailable = `${slotName(client, keys.type(name).pending)} cannot be read: ${c.error}`;
      problems.push(`job type ${name}: ${unavailable}`);
    }
    const decision = decisionOf(keys.decisions, name, control.decisions[name], problems);
    const running = control.workers.filter((w) => w.jobType === name).length;
    const age = ages[i];
    const extra = {
      oldestPendingAgeMs: age && "value" in age ? age.value : null,
      alerts: control.alerts.get(name) ?? [],
    };
    const paused = control.paused.has(name);
    return jobTypeRow(name, "value" in c ? c.value : null, decision, running, paused, extra, unavailable);
  });
  return {
    at: new Date().toISOString(),
    prefix: keys.prefix,
    leader: control.leader,
    load: control.load,
    jobTypes,
    hosts: hostRows(control.hosts),
    history: control.history,
    problems,
  };
}
