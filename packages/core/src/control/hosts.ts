/**
 * The host registry: each worker daemon's heartbeat (what it runs, its slots
 * and load) in one ZSET scored by the Redis time of the beat plus a HASH of
 * the last HostInfo. A host is dead when it marked itself gone, or when a
 * whole TTL passed without a beat while the one judging could see Redis:
 * `now - max(beatAt, reachableSince) > ttl` (docs/scaling.md, "Host liveness").
 */
import { parseEntryObject } from "../json-entry.js";
import type { Keys } from "../keys.js";
import type { RedisClient } from "../redis.js";
import { heartbeatScript, hostListScript } from "../scripts/commands.js";

/** Load metrics a host reports with each heartbeat. */
export interface HostLoad {
  /** 1-minute load average divided by the number of cores. */
  loadAvg: number;
  /** CPU busy share, 0..1, sampled with os-utils. */
  cpu: number;
  freeMemBytes: number;
  totalMemBytes: number;
}

export interface HostInfo {
  id: string;
  hostname: string;
  pid: number;
  /** Most workers at once. */
  slots: number;
  /** Running workers per job type. */
  running: Record<string, number>;
  /** Job types it serves; null: every type. */
  jobTypes: string[] | null;
  load: HostLoad;
  version: string;
  startedAt: string;
  /** Draining for shutdown: takes no new work. */
  draining: boolean;
  /**
   * Ids of the workers it runs, those still leaving the worker list
   * included: a listed worker of this host missing here is a ghost. Absent
   * from hosts of earlier releases.
   */
  workers?: string[];
  /**
   * When this info was taken (ISO), on the host's own clock: the clock of
   * its workers' list entries (`createdAt`, `updatedAt`), so the two compare
   * without clock skew. Absent from hosts of earlier releases.
   */
  sampledAt?: string;
  /**
   * Of the running workers, those lingering on an empty queue (#12): each
   * gives its slot up to a dispatch that finds the host full, so the
   * allocator counts their slots as free. Absent from hosts of earlier releases.
   */
  lingering?: number;
}

export interface LiveHost extends HostInfo {
  /** Time of the last beat (ms, Redis clock). */
  beatAt: number;
  /** Age of the last beat in ms. */
  beatAgeMs: number;
}

/** Workers a host runs now, all types together. */
export function runningTotal(host: Pick<HostInfo, "running">): number {
  let n = 0;
  for (const v of Object.values(host.running)) n += v;
  return n;
}

export function serves(host: Pick<HostInfo, "jobTypes">, jobType: string): boolean {
  return host.jobTypes === null || host.jobTypes.includes(jobType);
}

/** A HostInfo read from Redis, or what is wrong with it. */
export function parseHostInfo(raw: string): HostInfo | string {
  const v = parseEntryObject(raw);
  if (typeof v === "string") return v;
  const h = v as Partial<HostInfo>;
  if (typeof h.id !== "string" || typeof h.slots !== "number" || !Number.isFinite(h.slots)) return "no id or slots";
  if (typeof h.running !== "object" || h.running === null) return "no running counts";
  if (h.jobTypes !== null && !Array.isArray(h.jobTypes)) return "jobTypes is neither null nor a list";
  if (typeof h.load !== "object" || h.load === null) return "no load";
  if (h.workers !== undefined && !(Array.isArray(h.workers) && h.workers.every((w) => typeof w === "string")))
    return "workers is not a list of ids";
  if (h.sampledAt !== undefined && (typeof h.sampledAt !== "string" || Number.isNaN(Date.parse(h.sampledAt))))
    return "sampledAt is not a time";
  if (h.lingering !== undefined && !(Number.isInteger(h.lingering) && h.lingering >= 0))
    return "lingering is not a count";
  return h as HostInfo;
}

export interface HostRegistryOptions {
  /**
   * The lister's own blind spells (the manager's): told the Redis time of
   * each listing, returns the Redis time since when the lister has seen Redis
   * without a gap. A host is not judged on time the lister could not see.
   * Without it, every beat is judged on its age alone (`status`).
   */
  reachableSince?: (now: number) => number;
}

export interface HostListing {
  /** Redis time of the listing (ms). */
  now: number;
  /** Since when the lister has seen Redis without a gap (ms, Redis clock); 0 without `reachableSince`. */
  reachableSince: number;
  alive: LiveHost[];
  /** Hosts gone (marked so) or silent for a whole TTL the lister could see. */
  dead: string[];
}

export class HostRegistry {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: Keys,
    private readonly options: HostRegistryOptions = {},
  ) {}

  /** Records a heartbeat; returns its time (ms, Redis clock). */
  async beat(info: HostInfo): Promise<number> {
    return heartbeatScript(this.client, this.keys.hostBeats, this.keys.hostInfo, info.id, JSON.stringify(info));
  }

  /**
   * Hosts alive and dead, on the Redis clock that scored the beats. A host is
   * dead when it marked itself gone (beat 0), or when its last beat and the
   * time since when the lister sees Redis (`reachableSince`) are both more
   * than `ttlMs` ago: it had a whole TTL in which it could have beaten and
   * the lister would have seen it. A host whose info is malformed is skipped
   * (neither alive nor dead) and told to `onMalformed`.
   */
  async list(ttlMs: number, onMalformed: (hostId: string, error: string) => void = () => {}): Promise<HostListing> {
    const { now, hosts } = await hostListScript(this.client, this.keys.hostBeats, this.keys.hostInfo);
    const reachableSince = this.options.reachableSince?.(now) ?? 0;
    const alive: LiveHost[] = [];
    const dead: string[] = [];
    for (const h of hosts) {
      if (h.beatAt === 0 || now - Math.max(h.beatAt, reachableSince) > ttlMs || !h.info) {
        dead.push(h.id);
        continue;
      }
      const info = parseHostInfo(h.info);
      if (typeof info === "string") onMalformed(h.id, info);
      else alive.push({ ...info, beatAt: h.beatAt, beatAgeMs: now - h.beatAt });
    }
    return { now, reachableSince, alive, dead };
  }

  /**
   * A host that stopped marks itself gone: its last beat is set to 0, so the
   * manager sees it dead at once and its reaper sweeps whatever raced the
   * shutdown (a dispatch sent just before), then forgets it.
   */
  async markGone(hostId: string): Promise<void> {
    await this.client.zadd(this.keys.hostBeats, "XX", 0, hostId);
  }

  /** Forgets a host (the reaper handled its death). */
  async remove(hostId: string): Promise<void> {
    await this.client.multi().zrem(this.keys.hostBeats, hostId).hdel(this.keys.hostInfo, hostId).exec();
  }
}
