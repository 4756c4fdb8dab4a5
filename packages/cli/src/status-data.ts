/**
 * The data behind `batchjob status` and its documented `--json` shape
 * (StatusReport): per job type the queue counts, running workers against the
 * target and the last scaling decision; the load level and leader; the hosts
 * with heartbeat age, load and slots; recent worker history.
 */
import {
  defaults,
  HostRegistry,
  type LiveHost,
  type QueueCounts,
  RedisWorkerHistory,
  RedisWorkerList,
  type WorkerHistoryItem,
} from "@batchjob/core";
import type { Session } from "./connect.js";

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
}

/** A job type's row: its counts, running workers and the manager's last decision. */
function jobTypeRow(name: string, c: QueueCounts | undefined, raw: string | undefined, running: number): StatusJobType {
  const d = raw ? (JSON.parse(raw) as StatusJobType["decision"] & { target: number }) : null;
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

/** Every job type known: configured, published by the leader, or ever enqueued to. */
async function typeNames(s: Session): Promise<string[]> {
  const published = await s.client.get(s.keys.config);
  const publishedTypes = published ? ((JSON.parse(published) as { jobTypes?: { name: string }[] }).jobTypes ?? []) : [];
  const names = new Set<string>([
    ...(s.config?.jobTypes.map((t) => t.name) ?? []),
    ...publishedTypes.map((t) => t.name),
    ...(await s.queue.jobTypes()),
  ]);
  return [...names].sort();
}

export async function collectStatus(s: Session, options: { historyLimit: number }): Promise<StatusReport> {
  const { client, keys, queue, config } = s;
  const ttl = config?.worker.hostTtlMs ?? defaults.worker.hostTtlMs;
  const [names, leader, loadRaw, decisionsRaw, workers, hosts, history] = await Promise.all([
    typeNames(s),
    client.get(keys.leader),
    client.get(keys.load),
    client.hgetall(keys.decisions),
    new RedisWorkerList(client, keys).list(),
    new HostRegistry(client, keys).list(ttl),
    new RedisWorkerHistory(client, keys).list({ limit: options.historyLimit }),
  ]);
  const counts = await Promise.all(names.map((n) => queue.counts(n)));
  const jobTypes = names.map((name, i) =>
    jobTypeRow(name, counts[i], decisionsRaw[name], workers.filter((w) => w.jobType === name).length),
  );
  return {
    at: new Date().toISOString(),
    prefix: keys.prefix,
    leader,
    load: loadRaw ? (JSON.parse(loadRaw) as StatusReport["load"]) : null,
    jobTypes,
    hosts: hostRows(hosts),
    history,
  };
}
