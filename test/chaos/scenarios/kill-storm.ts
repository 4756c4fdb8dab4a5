/**
 * Kill storm: worker daemons on a never-failing inline job with
 * maxAttempts 1, one of them `kill -9`ed every `everyMs` (a busy one when
 * there is one) and replaced at once. Any attempt charged for a host death
 * shows as a dead healthy item. Recovery: from each kill until an item the
 * victim was running is done by another host.
 */
import { Feeder, Ledger } from "../items.js";
import { affectedBy, type Probe, victimProbe } from "../probes.js";
import type { Row } from "../report.js";
import { finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { steadyType } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

export interface KillStormParams {
  daemons: number;
  slots: number;
  kills: number;
  everyMs: number;
  itemMs: number;
  chunkSize: number;
  drainMs: number;
}

export const killStorm: Scenario<KillStormParams> = {
  name: "kill-storm",
  title: "kill -9 of random worker daemons, each replaced at once (inline, maxAttempts 1)",
  params: (scale) => ({
    daemons: 4,
    slots: 2,
    kills: Math.max(5, Math.round(32 * scale)),
    everyMs: 1500,
    itemMs: 10,
    chunkSize: 50,
    drainMs: 120_000,
  }),
  run: (ctx: ScenarioContext, p: KillStormParams): Promise<Row> =>
    withStack(
      ctx,
      "kill-storm",
      {
        jobTypes: [
          steadyType("steady", {
            chunkSize: p.chunkSize,
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
        const mark = p.daemons * p.slots * p.chunkSize * 4;
        const feeder = new Feeder(stack.queue, "steady", ledger, {
          lowMark: mark,
          batch: mark,
          payload: { ms: p.itemMs },
        });
        await waitUntil("the first items done", async () => (await stack.sinkView.total()) > 0, 30_000);
        const probes: (Probe | null)[] = [];
        let inFlight = 0;
        let idle = 0;
        for (let k = 0; k < p.kills; k++) {
          await sleep(p.everyMs * (0.5 + ctx.rng.next()));
          const running = await stack.sinkView.running();
          const alive = workers.filter((w) => w.alive());
          const busy = alive.filter((w) => (running.get(w.pid)?.length ?? 0) > 0);
          const victim = ctx.rng.pick(busy.length > 0 ? busy : alive);
          const affected = await affectedBy(stack.sinkView, victim.pid);
          const at = Date.now();
          await stack.procs.kill(victim, "SIGKILL");
          row.faults++;
          inFlight += affected.ids.length;
          const probe = victimProbe(stack.sinkView, affected, at);
          if (!probe) idle++;
          probes.push(probe);
          workers[workers.indexOf(victim)] = stack.startWorker({ slots: p.slots });
        }
        await feeder.stop();
        if (feeder.error) throw feeder.error;
        row.inFlight = inFlight;
        row.notes.push(
          `${row.faults} kills, ${inFlight} items in flight at them${idle ? `, ${idle} of idle daemons` : ""}`,
        );
        await finish(
          stack,
          row,
          ["steady"],
          ledger,
          probes.filter((x) => x !== null),
          p.drainMs,
        );
      },
    ),
};
