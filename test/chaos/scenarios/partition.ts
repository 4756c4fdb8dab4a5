/**
 * Network partition of a worker host: one worker daemon runs in its own
 * network namespace (veth 10.231.<n>.1 / .2; Redis also binds the host-side
 * address; the sink is reached through its unix socket, so the job itself is
 * not cut off, only the worker's Redis). Once it is busy its link is cut for
 * `cutMs` (longer than the host TTL), then restored. Its work must move to
 * the other hosts, and what it settles after the link is back must be fenced.
 * maxAttempts 1. Recovery: from the cut until an item it was running is done
 * by another host; the bound is the host TTL plus two manager ticks.
 * Skipped (a row saying why) where `ip netns` cannot be used.
 */
import { Feeder, Ledger } from "../items.js";
import { createNetns, type Netns, netnsUnusable } from "../netns.js";
import { affectedBy, victimProbe } from "../probes.js";
import type { Row } from "../report.js";
import { emptyRow, fencedInLog, finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import { steadyType, TIMINGS } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

export interface PartitionParams {
  netnsId: number;
  hostDaemons: number;
  slots: number;
  cutMs: number;
  afterMs: number;
  itemMs: number;
  drainMs: number;
}

export const partition: Scenario<PartitionParams> = {
  name: "partition",
  title: "a worker host's network cut (netns + veth) for longer than its host TTL, then restored (maxAttempts 1)",
  params: () => ({
    netnsId: Number(process.env.CHAOS_NETNS_ID ?? 1),
    hostDaemons: 2,
    slots: 2,
    cutMs: 8000,
    afterMs: 5000,
    itemMs: 10,
    drainMs: 120_000,
  }),
  async run(ctx: ScenarioContext, p: PartitionParams): Promise<Row> {
    const why = netnsUnusable();
    let ns: Netns | undefined;
    try {
      if (why) throw new Error(why);
      ns = createNetns(p.netnsId);
    } catch (err) {
      const row = emptyRow("partition");
      row.skipped = err instanceof Error ? err.message : String(err);
      return row;
    }
    const netns = ns;
    const total = p.hostDaemons + 1;
    try {
      return await withStack(
        ctx,
        "partition",
        {
          jobTypes: [
            steadyType("steady", {
              maxAttempts: 1,
              parallel: { high: total * p.slots, medium: total * p.slots, low: total * p.slots },
            }),
          ],
          redisArgs: ["--bind", "127.0.0.1", netns.hostAddr],
        },
        async (stack, row) => {
          const cutOff = stack.startWorker({
            hostId: "netns-w",
            slots: p.slots,
            netns: netns.name,
            redisUrl: `redis://${netns.hostAddr}:${stack.server().port}`,
          });
          const others = Array.from({ length: p.hostDaemons }, () => stack.startWorker({ slots: p.slots }));
          stack.startManager();
          await stack.waitForHosts([cutOff.name, ...others.map((w) => w.name)]);
          const ledger = new Ledger();
          const mark = total * p.slots * 50 * 4;
          const feeder = new Feeder(stack.queue, "steady", ledger, {
            lowMark: mark,
            batch: mark,
            payload: { ms: p.itemMs },
          });
          await waitUntil(
            "the namespaced worker to run a chunk",
            async () => ((await stack.sinkView.running()).get(cutOff.pid)?.length ?? 0) > 0,
            30_000,
          );
          const affected = await affectedBy(stack.sinkView, cutOff.pid);
          const at = Date.now();
          netns.cut();
          row.faults = 1;
          const probe = victimProbe(stack.sinkView, affected, at);
          await sleep(p.cutMs);
          netns.restore();
          await sleep(p.afterMs);
          await feeder.stop();
          if (feeder.error) throw feeder.error;
          row.inFlight = affected.ids.length;
          const bound = (TIMINGS.worker.hostTtlMs + 2 * TIMINGS.manager.tickMs) / 1000;
          row.notes.push(
            `cut ${p.cutMs / 1000} s with ${affected.ids.length} items in flight; bound TTL + 2 ticks = ${bound} s`,
          );
          await finish(stack, row, ["steady"], ledger, [probe], p.drainMs);
          const f = fencedInLog(cutOff.logFile);
          row.notes.push(`its late settles refused: ${f.settles} (${f.items} items)`);
        },
      );
    } finally {
      netns.remove();
    }
  },
};
