/**
 * A bounded `pnpm chaos`: a reduced kill storm and a reduced poison mix on
 * real daemons (the built CLI) and real redis-servers, asserting what the
 * issue "Each item's fate is its own" is done by, and a Sentinel failover to
 * a lagging replica (the Redis HA issue). Full figures: `pnpm chaos`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCodeUnderTest } from "../chaos/core.js";
import type { Row } from "../chaos/report.js";
import { formatTable } from "../chaos/report.js";
import type { ScenarioContext } from "../chaos/scenario.js";
import { sentinelLagging } from "../chaos/scenarios/failovers.js";
import { killStorm } from "../chaos/scenarios/kill-storm.js";
import { poisonMix } from "../chaos/scenarios/poison-mix.js";
import { type SinkServer, startSink } from "../chaos/sink.js";
import { Rng } from "../chaos/util.js";

let sink: SinkServer | undefined;
let ctx: ScenarioContext;
let runDir = "";
let keep = false;

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), "bj-chaos-short-"));
  sink = await startSink();
  ctx = {
    code: await loadCodeUnderTest(process.env.CHAOS_ROOT),
    sink,
    runDir,
    logLevel: "warn",
    rng: new Rng(Number(process.env.CHAOS_SEED ?? 7)),
    log: (msg) => process.stderr.write(`[chaos] ${msg}\n`),
  };
}, 60_000);

afterAll(async () => {
  await sink?.stop();
  if (keep) process.stderr.write(`[chaos] daemon logs kept in ${runDir}\n`);
  else rmSync(runDir, { recursive: true, force: true });
});

/** The row's figures, failing the test on a harness error; the row is printed and the logs kept on failure. */
function figures(row: Row) {
  process.stderr.write(`${formatTable([row])}\n`);
  keep ||= !!row.error || !row.tally;
  expect(row.error).toBeUndefined();
  const t = row.tally;
  if (!t) throw new Error(`${row.scenario}: no tally`);
  return t;
}

describe("chaos, short (real daemons, real Redis)", () => {
  it("kill storm: ≥ 5 kill -9s of worker daemons, maxAttempts 1, a never-failing job: no item dead or lost, duplicates bounded by what was in flight", async () => {
    const p = { ...killStorm.params(0.15), kills: 6, drainMs: 60_000 };
    const row = await killStorm.run(ctx, p);
    const t = figures(row);
    keep ||= t.deadHealthy > 0 || t.lost > 0;
    expect(row.faults).toBeGreaterThanOrEqual(5);
    expect(row.drained).toBe(true);
    expect(t.lost).toBe(0);
    expect(t.deadHealthy).toBe(0);
    expect(t.processed).toBe(t.healthy);
    // each kill can repeat at most the chunks its victim held: chunkSize × slots
    expect(t.dupExtra).toBeLessThanOrEqual(p.chunkSize * p.slots * row.faults);
  }, 240_000);

  it("poison mix: chunk 50, 0.4% poison of every kind: each poison item dead of its own error after maxAttempts, no healthy item dead, none lost", async () => {
    const p = poisonMix.params(0.25);
    const row = await poisonMix.run(ctx, { ...p, drainMs: 150_000 });
    const t = figures(row);
    keep ||= t.deadHealthy > 0 || t.lost > 0 || t.deadPoison < t.poison;
    expect(row.drained).toBe(true);
    expect(t.poison).toBeGreaterThanOrEqual(6);
    expect(t.samples.poisonNotDead).toEqual([]);
    expect(t.deadPoison).toBe(t.poison);
    for (const d of t.poisonDead) {
      expect(d.attempts, `${d.id} attempts`).toBe(p.maxAttempts);
    }
    expect(t.samples.poisonNotOwn).toEqual([]);
    expect(t.poisonOwnError).toBe(t.poison);
    expect(t.deadHealthy).toBe(0);
    expect(t.lost).toBe(0);
    expect(t.processed).toBe(t.healthy);
  }, 240_000);

  it("a lagging replica promoted (Sentinel): no item lost or dead, repeats bounded by what it missed, no live host declared dead, JSON logs only", async () => {
    const p = sentinelLagging.params(0.2);
    const row = await sentinelLagging.run(ctx, p);
    const t = figures(row);
    keep ||= t.deadHealthy > 0 || t.lost > 0;
    expect(row.faults).toBe(1);
    expect(row.drained).toBe(true);
    expect(t.lost).toBe(0);
    expect(t.deadHealthy).toBe(0);
    expect(t.processed).toBe(t.healthy);
    // the replica really lagged: items were done on the master after its link was cut
    expect(row.counts?.doneUnreplicated).toBeGreaterThan(0);
    expect(t.dupExtra).toBeLessThanOrEqual(row.inFlight ?? 0);
    expect(row.counts?.hostsDeclaredDead).toBe(0);
    expect(row.counts?.nonJsonLogLines).toBe(0);
  }, 240_000);
});
