import type { LiveHost, WorkerListItem } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { gapFor, Reachability } from "../src/reachability.js";
import { lostWorkers } from "../src/reaper.js";

describe("reachability: since when the manager has seen Redis without a gap", () => {
  it("starts at the first listing, keeps through ordinary ticks, restarts after a gap", () => {
    const r = new Reachability(5000);
    // listing time -> reachableSince
    const steps: [number, number][] = [
      [100_000, 100_000], // first listing: nothing seen before it
      [101_000, 100_000],
      [104_900, 100_000], // a slow tick (3.9 s) is no gap
      [109_900, 100_000], // exactly gapMs: still seen all along
      [125_000, 125_000], // 15.1 s blind (a failover): the run of sight starts again
      [126_000, 125_000],
      [120_000, 120_000], // the Redis clock went back (a node with another clock): start again
    ];
    for (const [now, since] of steps) expect([now, r.seen(now)]).toEqual([now, since]);
    expect(r.reachableSince).toBe(120_000);
  });

  it("allows a gap of half the host TTL, never less than three ticks", () => {
    expect(gapFor({ hostTtlMs: 20_000, tickMs: 1000 })).toBe(10_000);
    expect(gapFor({ hostTtlMs: 2000, tickMs: 1000 })).toBe(3000);
  });
});

const NOW = Date.parse("2030-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function liveHost(over: Partial<LiveHost> = {}): LiveHost {
  return {
    id: "h",
    hostname: "h",
    pid: 10,
    slots: 4,
    running: {},
    jobTypes: null,
    load: { loadAvg: 0, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 },
    version: "0",
    startedAt: iso(NOW - 60_000),
    draining: false,
    beatAt: NOW,
    beatAgeMs: 0,
    ...over,
  };
}

function entry(id: string, over: Partial<WorkerListItem> = {}): WorkerListItem {
  return {
    id,
    jobType: "t",
    hostId: "h",
    hostname: "h",
    pid: 10,
    launcher: "inline",
    reservationId: `r-${id}`,
    firstChunkId: null,
    currentChunkId: null,
    currentChunkSize: 0,
    createdAt: iso(NOW - 5000),
    updatedAt: iso(NOW - 5000),
    chunks: 0,
    itemsDone: 0,
    itemsFailed: 0,
    itemsRetried: 0,
    ...over,
  };
}

describe("lost workers", () => {
  const ttl = 20_000;
  const cases: [string, WorkerListItem, LiveHost[], string[], string | undefined][] = [
    [
      "runs on a live host that names it",
      entry("w"),
      [liveHost({ workers: ["w"], sampledAt: iso(NOW) })],
      [],
      undefined,
    ],
    ["its host is dead", entry("w"), [], ["h"], "stopped sending heartbeats"],
    ["its host is unknown, entry fresh", entry("w", { updatedAt: iso(NOW - 1000) }), [], [], undefined],
    [
      "its host is unknown, entry older than a TTL",
      entry("w", { updatedAt: iso(NOW - 30_000) }),
      [],
      [],
      "not registered",
    ],
    [
      "its host restarted under the same id",
      entry("w", { pid: 9, createdAt: iso(NOW - 120_000) }),
      [liveHost()],
      [],
      "restarted (pid 9 -> 10)",
    ],
    [
      "a ghost: missing from a beat taken after the entry was written",
      entry("w"),
      [liveHost({ workers: ["other"], sampledAt: iso(NOW - 1000) })],
      [],
      "missing from its heartbeat",
    ],
    [
      "not yet in a beat taken before the entry was written",
      entry("w", { updatedAt: iso(NOW) }),
      [liveHost({ workers: [], sampledAt: iso(NOW - 100) })],
      [],
      undefined,
    ],
    [
      "a beat taken in the same millisecond proves nothing",
      entry("w", { updatedAt: iso(NOW) }),
      [liveHost({ workers: [], sampledAt: iso(NOW) })],
      [],
      undefined,
    ],
    [
      "a host of an earlier release (no worker ids) is not judged",
      entry("w"),
      [liveHost({ sampledAt: iso(NOW) })],
      [],
      undefined,
    ],
    [
      "another process under the same host id is not judged by this one's beat",
      entry("w", { pid: 11, createdAt: iso(NOW) }),
      [liveHost({ workers: [], sampledAt: iso(NOW + 1000) })],
      [],
      undefined,
    ],
  ];
  it.each(cases)("%s", (_title, w, alive, dead, why) => {
    const lost = lostWorkers([w], alive, new Set(dead), ttl, NOW);
    if (why === undefined) expect(lost).toEqual([]);
    else expect(lost).toEqual([{ ...w, lostBecause: expect.stringContaining(why) }]);
  });
});
