/**
 * The queue's Redis fails mid-run (AOF on, appendfsync always), three ways:
 *   redis-shutdown  SHUTDOWN (AOF flushed), restarted on the same port and dir after `downMs`;
 *   redis-kill      kill -9, restarted the same way (AOF replayed);
 *   redis-stop      SIGSTOP for `stopMs` (clients see a silent server), then SIGCONT.
 * Items are fed until the fault (a backlog of `backlog` stays queued through
 * it); the daemons must reconnect on their own. maxAttempts 1: an attempt charged for the outage shows as a dead
 * healthy item. Recovery: from the end of the outage until the sink's total rises again.
 */
import { execFileSync } from "node:child_process";
import { Feeder, Ledger } from "../items.js";
import { totalProbe } from "../probes.js";
import type { Row } from "../report.js";
import { finish, type Scenario, type ScenarioContext, withStack } from "../scenario.js";
import type { Stack } from "../stack.js";
import { steadyType } from "../stack.js";
import { sleep, waitUntil } from "../util.js";

type Fault = "shutdown" | "kill" | "stop";

export interface RedisFaultParams {
  daemons: number;
  slots: number;
  /** Items kept queued while feeding, and so queued at the fault. */
  backlog: number;
  itemMs: number;
  /** Processing before the fault. */
  warmMs: number;
  /** Down time (shutdown, kill) or stopped time (stop). */
  faultMs: number;
  drainMs: number;
}

async function inject(stack: Stack, fault: Fault, ms: number): Promise<void> {
  const server = stack.server();
  const p = server.process;
  const exited = new Promise<void>((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) resolve();
    else p.once("exit", () => resolve());
  });
  if (fault === "stop") {
    p.kill("SIGSTOP");
    await sleep(ms);
    p.kill("SIGCONT");
    return;
  }
  if (fault === "shutdown") {
    // redis-cli exits non-zero when the server closes the connection on SHUTDOWN; the exit below is what counts
    try {
      execFileSync("redis-cli", ["-p", String(server.port), "SHUTDOWN"], { stdio: "ignore" });
    } catch {
      // checked by waiting for the exit
    }
  } else p.kill("SIGKILL");
  await exited;
  await sleep(ms);
  await server.restart();
}

function redisFault(name: string, fault: Fault, title: string, faultMs: number): Scenario<RedisFaultParams> {
  return {
    name,
    title,
    params: (scale) => ({
      daemons: 2,
      slots: 2,
      backlog: Math.max(1000, Math.round(3000 * scale)),
      itemMs: 5,
      warmMs: 3000,
      faultMs: fault === "stop" ? Math.max(6000, Math.round(faultMs * Math.min(1, scale))) : faultMs,
      drainMs: 120_000,
    }),
    run: (ctx: ScenarioContext, p: RedisFaultParams): Promise<Row> =>
      withStack(
        ctx,
        name,
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
          const feeder = new Feeder(stack.queue, "steady", ledger, {
            lowMark: p.backlog,
            batch: p.backlog,
            payload: { ms: p.itemMs },
          });
          await waitUntil("the first items done", async () => (await stack.sinkView.total()) > 0, 30_000);
          await sleep(p.warmMs);
          await feeder.stop();
          if (feeder.error) throw feeder.error;
          const before = await stack.sinkView.total();
          await inject(stack, fault, p.faultMs);
          row.faults = 1;
          const probe = await totalProbe(stack.sinkView, Date.now());
          row.notes.push(
            `${before} done before the fault, ${(p.faultMs / 1000).toFixed(0)} s ${fault === "stop" ? "stopped" : "down"}`,
          );
          await finish(stack, row, ["steady"], ledger, [probe], p.drainMs);
        },
      ),
  };
}

export const redisShutdown = redisFault(
  "redis-shutdown",
  "shutdown",
  "Redis SHUTDOWN mid-run, restarted from its AOF on the same port after 5 s",
  5000,
);
export const redisKill = redisFault(
  "redis-kill",
  "kill",
  "Redis kill -9 mid-run, restarted from its AOF (appendfsync always) after 5 s",
  5000,
);
export const redisStop = redisFault("redis-stop", "stop", "Redis SIGSTOP for 15 s, then SIGCONT", 15_000);
