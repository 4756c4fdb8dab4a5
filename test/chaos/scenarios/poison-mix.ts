/**
 * Poison mix: chunks of 50, 0.4% poison items spread at random among healthy
 * ones, maxAttempts 3, fixed 200 ms backoff. Two job types:
 *   mix-fork   fork launcher (poison.mjs, timeoutMs 2000, memoryLimitMb 160):
 *              crash (exit(1) / SIGKILL of the child), throw, hang, memory;
 *   mix-spawn  spawn launcher (spawn-job.mjs): exit 1 on the poison item.
 * Every poison item must end dead with its own error; no healthy item may.
 */
import { join } from "node:path";
import { JOBS_DIR } from "../core.js";
import { enqueueAll, Ledger, type PoisonKind } from "../items.js";
import type { Row } from "../report.js";
import { finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { steadyType } from "../stack.js";
import type { Rng } from "../util.js";

export interface PoisonMixParams {
  /** All items, healthy and poison, of both types. */
  items: number;
  /** Poison items per kind. */
  poison: Record<PoisonKind, number>;
  /** Share of the items on the spawn type. */
  spawnShare: number;
  chunkSize: number;
  maxAttempts: number;
  daemons: number;
  slots: number;
  itemMs: number;
  hangTimeoutMs: number;
  memoryLimitMb: number;
  drainMs: number;
}

const FORK_KINDS: PoisonKind[] = ["crash-exit", "crash-kill", "throw", "hang", "memory"];

/** `total` items with the poison of `kinds` at random positions. */
function mix(ledger: Ledger, rng: Rng, total: number, kinds: [PoisonKind, number][], ms: number) {
  const poison = kinds.flatMap(([kind, n]) => Array.from({ length: n }, () => kind));
  const items: { id: string; payload: unknown }[] = [];
  for (let i = poison.length; i < total; i++) items.push({ id: ledger.healthyId(), payload: { ms } });
  for (const kind of poison) items.push({ id: ledger.poisonId(kind), payload: { ms, poison: kind } });
  return rng.shuffle(items);
}

export const poisonMix: Scenario<PoisonMixParams> = {
  name: "poison-mix",
  title: "0.4% poison items (crash, throw, hang, memory, exit 1) among healthy ones, chunk 50, maxAttempts 3",
  params: (scale) => {
    const n = (x: number) => Math.max(1, Math.round(x * scale));
    const poison = { "crash-exit": n(2), "crash-kill": n(2), throw: n(4), hang: n(4), memory: n(4), exit: n(4) };
    const count = Object.values(poison).reduce((a, b) => a + b, 0);
    return {
      items: Math.round(count / 0.004),
      poison,
      spawnShare: 0.2,
      chunkSize: 50,
      maxAttempts: 3,
      daemons: 2,
      slots: 2,
      itemMs: 2,
      hangTimeoutMs: 2000,
      memoryLimitMb: 160,
      drainMs: 300_000,
    };
  },
  run: (ctx: ScenarioContext, p: PoisonMixParams): Promise<Row> => {
    const common = {
      chunkSize: p.chunkSize,
      maxAttempts: p.maxAttempts,
      backoff: { type: "fixed", delayMs: 200 },
      parallel: { high: p.slots, medium: p.slots, low: p.slots },
    };
    return withStack(
      ctx,
      "poison-mix",
      {
        jobTypes: [
          steadyType("mix-fork", {
            ...common,
            launcher: {
              kind: "fork",
              module: join(JOBS_DIR, "poison.mjs"),
              timeoutMs: p.hangTimeoutMs,
              memoryLimitMb: p.memoryLimitMb,
            },
          }),
          steadyType("mix-spawn", {
            ...common,
            launcher: {
              kind: "spawn",
              command: process.execPath,
              args: [join(JOBS_DIR, "spawn-job.mjs")],
              cwd: JOBS_DIR,
              timeoutMs: 30_000,
            },
          }),
        ],
      },
      async (stack, row) => {
        const workers = Array.from({ length: p.daemons }, () => stack.startWorker({ slots: p.slots }));
        stack.startManager();
        await stack.waitForHosts(workers.map((w) => w.name));
        const ledger = new Ledger();
        const spawnItems = Math.round(p.items * p.spawnShare);
        const forkKinds = FORK_KINDS.map((k): [PoisonKind, number] => [k, p.poison[k]]);
        const fork = mix(ledger, ctx.rng, p.items - spawnItems, forkKinds, p.itemMs);
        const spawn = mix(ledger, ctx.rng, spawnItems, [["exit", p.poison.exit]], p.itemMs);
        await Promise.all([enqueueAll(stack.queue, "mix-fork", fork), enqueueAll(stack.queue, "mix-spawn", spawn)]);
        await finish(stack, row, ["mix-fork", "mix-spawn"], ledger, [], p.drainMs);
        const t = row.tally;
        if (t) {
          row.notes.push(`${t.poisonOwnError}/${t.poison} poison dead of their own error`);
          if (t.samples.poisonNotOwn.length > 0)
            row.notes.push(`e.g. ${t.samples.poisonNotOwn[0]?.id}: ${t.samples.poisonNotOwn[0]?.error}`);
          if (t.samples.deadHealthy.length > 0)
            row.notes.push(`healthy dead e.g. ${t.samples.deadHealthy[0]?.id}: ${t.samples.deadHealthy[0]?.error}`);
        }
      },
    );
  },
};
