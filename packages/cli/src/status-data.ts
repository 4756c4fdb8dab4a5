/**
 * The data behind `batchjob status` and its documented `--json` shape
 * (StatusReport): per job type the queue counts, running workers against the
 * target and the last scaling decision; the load level and leader; the hosts
 * with heartbeat age, load and slots; recent worker history. A corrupt value
 * in Redis (the published config, a decision, the load, a history, worker or
 * host entry, a type name) is left out and named in `problems`, one line each.
 */
import {
  defaults,
  HostRegistry,
  isJobTypeName,
  type LiveHost,
  type QueueCounts,
  RedisWorkerList,
  type WorkerHistoryItem,
} from "@batchjob/core";
import type { Session } from "./connect.js";
import { type Problems, readHistory, readStored, wrongField } from "./stored.js";

export interface StatusJobType {
  name: string;
  pending: number;
  leased: number;
  delayed: number;
  dead: number;
  /** Workers running now (worker list). */
  running: number;
  /** Workers the manager aims for at the current level; null before a manager decided. */
  target: number | null;
  decision: { reason: string; at: number; start: number; stopTokens: number; level: string } | null;
  enqueued: number;
  acked: number;
  died: number;
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
  /** Values in Redis that could not be read, one line each naming its key; absent when there are none. */
  problems?: string[];
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
function jobTypeRow(name: string, c: QueueCounts | undefined, d: Decision | null, running: number): StatusJobType {
  return {
    name,
    pending: c?.pending ?? 0,
    leased: c?.leased ?? 0,
    delayed: c?.delayed ?? 0,
    dead: c?.dead ?? 0,
    running,
    target: d?.target ?? null,
    decision: d ? { reason: d.reason, at: d.at, start: d.start, stopTokens: d.stopTokens, level: d.level } : null,
    enqueued: c?.enqueued ?? 0,
    acked: c?.acked ?? 0,
    died: c?.died ?? 0,
  };
}

/** Live hosts with their last beat; dead ones with what is known of them (their id). */
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
  return [
    ...hosts.alive.map((h) => row(h, true, h.beatAgeMs)),
    ...hosts.dead.map((id) => row({ id, ...unknown, load: noLoad }, false, null)),
  ];
}

/** The job type names the leader published with the config; none (and a problem) when it is corrupt. */
async function publishedNames(s: Session, problems: Problems): Promise<unknown[]> {
  const raw = await s.client.get(s.keys.config);
  if (!raw) return [];
  const r = readStored<{ jobTypes: unknown[] }>(raw, (v) =>
    Array.isArray(v.jobTypes) ? undefined : "jobTypes is not a list",
  );
  if ("value" in r)
    return r.value.jobTypes.map((t) => (typeof t === "object" && t !== null ? (t as { name?: unknown }).name : t));
  problems.push(`${s.keys.config} ${r.problem}: the job types it lists are not shown`);
  return [];
}

/** Every job type known: configured, published by the leader, or ever enqueued to; names that cannot be one are skipped. */
async function typeNames(s: Session, problems: Problems): Promise<string[]> {
  const names = new Set<string>(s.config?.jobTypes.map((t) => t.name) ?? []);
  const sources: [string, unknown[]][] = [
    [s.keys.config, await publishedNames(s, problems)],
    [s.keys.types, await s.queue.jobTypes()],
  ];
  for (const [key, found] of sources) {
    const bad = found.filter((n) => !isJobTypeName(n));
    for (const n of found) if (isJobTypeName(n)) names.add(n);
    if (bad.length > 0) {
      const shown = bad.slice(0, 3).map((n) => JSON.stringify(n) ?? String(n));
      problems.push(
        `${key} names ${bad.length} job type${bad.length > 1 ? "s" : ""} that cannot be one, not shown: ${shown.join(", ")}`,
      );
    }
  }
  return [...names].sort();
}

/** One problem line for the entries of `key` that were skipped. */
function skipped(problems: Problems, key: string, bad: [string, string][]): void {
  const [first] = bad;
  if (first)
    problems.push(
      `${key}: ${bad.length} entr${bad.length > 1 ? "ies" : "y"} skipped; the first, ${first[0]}: ${first[1]}`,
    );
}

export async function collectStatus(s: Session, options: { historyLimit: number }): Promise<StatusReport> {
  const { client, keys, queue, config } = s;
  const ttl = config?.worker.hostTtlMs ?? defaults.worker.hostTtlMs;
  const problems: Problems = [];
  const badWorkers: [string, string][] = [];
  const badHosts: [string, string][] = [];
  const [names, leader, loadRaw, decisionsRaw, workers, hosts, history] = await Promise.all([
    typeNames(s, problems),
    client.get(keys.leader),
    client.get(keys.load),
    client.hgetall(keys.decisions),
    new RedisWorkerList(client, keys).list({}, (id, error) => badWorkers.push([id, error])),
    new HostRegistry(client, keys).list(ttl, (id, error) => badHosts.push([id, error])),
    readHistory(client, keys.history, options.historyLimit, problems),
  ]);
  skipped(problems, keys.workers, badWorkers);
  skipped(problems, keys.hostInfo, badHosts);
  const counts = await Promise.all(names.map((n) => queue.counts(n)));
  const jobTypes = names.map((name, i) =>
    jobTypeRow(
      name,
      counts[i],
      decisionOf(keys.decisions, name, decisionsRaw[name], problems),
      workers.filter((w) => w.jobType === name).length,
    ),
  );
  return {
    at: new Date().toISOString(),
    prefix: keys.prefix,
    leader,
    load: loadOf(keys.load, loadRaw, problems),
    jobTypes,
    hosts: hostRows(hosts),
    history,
    ...(problems.length > 0 ? { problems } : {}),
  };
}
