/**
 * Fork child kills: the steady job under the fork launcher; every `everyMs`
 * a fork child that is running a chunk (a child of one of this scenario's
 * worker daemons, read from /proc) is SIGKILLed from outside, as an OOM
 * killer would. maxAttempts 3: the item a child was on when it died may be
 * charged for the crash, so one kill must not be able to kill a healthy item.
 * Recovery: from each kill until an item the child was running is done again.
 */

import { join } from "node:path";
import { JOBS_DIR } from "../core.js";
import { Feeder, Ledger } from "../items.js";
import { affectedBy, type Probe, victimProbe } from "../probes.js";
import { childrenOf } from "../procs.js";
import type { Row } from "../report.js";
import { finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { steadyType } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

export interface ForkKillsParams {
  daemons: number;
  slots: number;
  kills: number;
  everyMs: number;
  itemMs: number;
  chunkSize: number;
  maxAttempts: number;
  drainMs: number;
}

export const forkKills: Scenario<ForkKillsParams> = {
  name: "fork-kills",
  title: "SIGKILL of busy fork children from outside (fork launcher, maxAttempts 3)",
  params: (scale) => ({
    daemons: 2,
    slots: 2,
    kills: Math.max(5, Math.round(20 * scale)),
    everyMs: 1500,
    itemMs: 10,
    chunkSize: 50,
    maxAttempts: 3,
    drainMs: 120_000,
  }),
  run: (ctx: ScenarioContext, p: ForkKillsParams): Promise<Row> =>
    withStack(
      ctx,
      "fork-kills",
      {
        jobTypes: [
          steadyType("forked", {
            chunkSize: p.chunkSize,
            maxAttempts: p.maxAttempts,
            parallel: { high: p.daemons * p.slots, medium: p.daemons * p.slots, low: p.daemons * p.slots },
            launcher: { kind: "fork", module: join(JOBS_DIR, "steady.mjs"), timeoutMs: 60_000 },
          }),
        ],
      },
      async (stack, row) => {
        const workers = Array.from({ length: p.daemons }, () => stack.startWorker({ slots: p.slots }));
        stack.startManager();
        await stack.waitForHosts(workers.map((w) => w.name));
        const ledger = new Ledger();
        const mark = p.daemons * p.slots * p.chunkSize * 4;
        const feeder = new Feeder(stack.queue, "forked", ledger, {
          lowMark: mark,
          batch: mark,
          payload: { ms: p.itemMs },
        });
        await waitUntil("the first items done", async () => (await stack.sinkView.total()) > 0, 30_000);
        const probes: (Probe | null)[] = [];
        let inFlight = 0;
        let missed = 0;
        for (let k = 0; k < p.kills; k++) {
          await sleep(p.everyMs * (0.5 + ctx.rng.next()));
          // a child of one of our daemons that the sink says is running a chunk
          const victim = await waitUntil(
            "a busy fork child",
            async () => {
              const running = await stack.sinkView.running();
              const children = workers.filter((w) => w.alive()).flatMap((w) => childrenOf(w.pid));
              const busy = children.filter((c) => (running.get(c)?.length ?? 0) > 0);
              return busy.length > 0 ? ctx.rng.pick(busy) : null;
            },
            10_000,
          ).catch(() => null);
          if (victim === null) {
            missed++;
            continue;
          }
          const affected = await affectedBy(stack.sinkView, victim);
          const at = Date.now();
          try {
            process.kill(victim, "SIGKILL");
          } catch {
            missed++;
            continue;
          }
          row.faults++;
          inFlight += affected.ids.length;
          probes.push(victimProbe(stack.sinkView, affected, at));
        }
        await feeder.stop();
        if (feeder.error) throw feeder.error;
        row.inFlight = inFlight;
        row.notes.push(
          `${row.faults} child kills, ${inFlight} items in flight at them${missed ? `, ${missed} missed` : ""}`,
        );
        await finish(stack, row, ["forked"], ledger, probes, p.drainMs);
      },
    ),
};
