/**
 * Leader kills: three managers; every `everyMs` the one holding the leader
 * lease is `kill -9`ed and a new manager started. Workers end after each
 * chunk (limits.maxChunks 1), so every chunk needs a start from the leader:
 * while no manager leads, no new work starts. maxAttempts 1.
 * Recovery: from each kill until another manager leads and a chunk begun
 * after that takeover is running.
 */
import { Feeder, Ledger } from "../items.js";
import { type Probe, probe } from "../probes.js";
import type { Row } from "../report.js";
import { finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { steadyType, TIMINGS } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

export interface LeaderKillsParams {
  managers: number;
  daemons: number;
  slots: number;
  kills: number;
  everyMs: number;
  itemMs: number;
  chunkSize: number;
  drainMs: number;
}

export const leaderKills: Scenario<LeaderKillsParams> = {
  name: "leader-kills",
  title: "kill -9 of the leader manager, repeatedly (workers end after each chunk, maxAttempts 1)",
  params: (scale) => ({
    managers: 3,
    daemons: 2,
    slots: 2,
    kills: Math.max(3, Math.round(8 * scale)),
    everyMs: 4000,
    itemMs: 10,
    chunkSize: 20,
    drainMs: 120_000,
  }),
  run: (ctx: ScenarioContext, p: LeaderKillsParams): Promise<Row> =>
    withStack(
      ctx,
      "leader-kills",
      {
        jobTypes: [
          steadyType("steady", {
            chunkSize: p.chunkSize,
            maxAttempts: 1,
            limits: { maxChunks: 1 },
            parallel: { high: p.daemons * p.slots, medium: p.daemons * p.slots, low: p.daemons * p.slots },
          }),
        ],
      },
      async (stack, row) => {
        const workers = Array.from({ length: p.daemons }, () => stack.startWorker({ slots: p.slots }));
        const managers = Array.from({ length: p.managers }, () => stack.startManager());
        await stack.waitForHosts(workers.map((w) => w.name));
        const ledger = new Ledger();
        const mark = p.daemons * p.slots * p.chunkSize * 4;
        const feeder = new Feeder(stack.queue, "steady", ledger, {
          lowMark: mark,
          batch: mark,
          payload: { ms: p.itemMs },
        });
        await waitUntil("the first items done", async () => (await stack.sinkView.total()) > 0, 30_000);
        const probes: Probe[] = [];
        let missed = 0;
        for (let k = 0; k < p.kills; k++) {
          await sleep(p.everyMs * (0.75 + ctx.rng.next() / 2));
          const leaderId = await stack.leader();
          const victim = managers.find((m) => m.name === leaderId && m.alive());
          if (!victim) {
            missed++;
            continue;
          }
          const at = Date.now();
          await stack.procs.kill(victim, "SIGKILL");
          row.faults++;
          managers[managers.indexOf(victim)] = stack.startManager();
          let takeover: number | null = null;
          probes.push(
            probe(at, async () => {
              if (takeover === null) {
                const now = await stack.leader();
                if (now === null || now === victim.name) return false;
                takeover = Date.now();
              }
              return (await stack.sinkView.firstBegunSince(takeover)) !== null;
            }),
          );
        }
        await feeder.stop();
        if (feeder.error) throw feeder.error;
        const lease = TIMINGS.manager.leaderLeaseMs / 1000;
        row.notes.push(
          `${row.faults} leader kills (lease ${lease} s)${missed ? `, ${missed} without a leader to kill` : ""}`,
        );
        await finish(stack, row, ["steady"], ledger, probes, p.drainMs);
      },
    ),
};
