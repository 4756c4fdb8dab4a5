/**
 * A frozen worker: a busy worker daemon is SIGSTOPped for `freezeMs`, longer
 * than its host TTL and its chunks' lease, then SIGCONTed. Its chunks must be
 * handed to others while it sleeps, and what it settles when it wakes must be
 * fenced (refused: the chunk ids are no longer its). maxAttempts 1.
 * Recovery: from the freeze until an item it was running is done by another host.
 */
import { Feeder, Ledger } from "../items.js";
import { affectedBy, victimProbe } from "../probes.js";
import type { Row } from "../report.js";
import { fencedInLog, finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { steadyType, TIMINGS } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

export interface FrozenWorkerParams {
  daemons: number;
  slots: number;
  freezeMs: number;
  warmMs: number;
  afterMs: number;
  itemMs: number;
  drainMs: number;
}

export const frozenWorker: Scenario<FrozenWorkerParams> = {
  name: "frozen-worker",
  title: "a busy worker daemon SIGSTOPped past its host TTL and lease, then SIGCONTed (maxAttempts 1)",
  params: () => ({ daemons: 3, slots: 2, freezeMs: 8000, warmMs: 3000, afterMs: 4000, itemMs: 10, drainMs: 120_000 }),
  run: (ctx: ScenarioContext, p: FrozenWorkerParams): Promise<Row> =>
    withStack(
      ctx,
      "frozen-worker",
      {
        jobTypes: [
          steadyType("steady", {
            maxAttempts: 1,
            parallel: { high: p.daemons * p.slots, medium: p.daemons * p.slots, low: p.daemons * p.slots },
          }),
        ],
      },
      async (stack, row) => {
        const workers = Array.from({ length: p.daemons }, () => stack.startWorker({ slots: p.slots }));
        stack.startManager();
        await stack.waitForHosts(workers.map((w) => w.name));
        const ledger = new Ledger();
        const mark = p.daemons * p.slots * 50 * 4;
        const feeder = new Feeder(stack.queue, "steady", ledger, {
          lowMark: mark,
          batch: mark,
          payload: { ms: p.itemMs },
        });
        await waitUntil("the first items done", async () => (await stack.sinkView.total()) > 0, 30_000);
        await sleep(p.warmMs);
        const victim = await waitUntil(
          "a busy worker daemon",
          async () => {
            const running = await stack.sinkView.running();
            return workers.find((w) => (running.get(w.pid)?.length ?? 0) > 0) ?? null;
          },
          20_000,
        );
        const affected = await affectedBy(stack.sinkView, victim.pid);
        const at = Date.now();
        await stack.procs.kill(victim, "SIGSTOP");
        row.faults = 1;
        const probe = victimProbe(stack.sinkView, affected, at);
        await sleep(p.freezeMs);
        victim.child.kill("SIGCONT");
        await sleep(p.afterMs);
        await feeder.stop();
        if (feeder.error) throw feeder.error;
        row.inFlight = affected.ids.length;
        const ttl = TIMINGS.worker.hostTtlMs / 1000;
        row.notes.push(`frozen ${p.freezeMs / 1000} s (host TTL ${ttl} s) with ${affected.ids.length} items in flight`);
        await finish(stack, row, ["steady"], ledger, [probe], p.drainMs);
        const f = fencedInLog(victim.logFile);
        row.notes.push(`its late settles refused: ${f.settles} (${f.items} items)`);
      },
    ),
};
