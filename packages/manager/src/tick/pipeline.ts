/**
 * Runs a tick's steps in order over one context. Each step is guarded (a
 * failure is logged and reported, and the next step still runs), timed, and
 * skipped once this manager lost its leadership during the tick; a step
 * that needs the observation is skipped when observe failed.
 */
import type { Logger } from "@batchjob/core";
import type { TickContext, TickStep } from "./context.js";

export interface StepOutcome {
  failed: { step: string; error: string }[];
  stepsMs: Record<string, number>;
}

export async function runSteps(
  steps: readonly TickStep[],
  ctx: TickContext,
  stillLeader: () => boolean,
  log: Logger,
): Promise<StepOutcome> {
  const failed: StepOutcome["failed"] = [];
  const stepsMs: Record<string, number> = {};
  for (const step of steps) {
    if (step.needsObservation !== false && !ctx.observation) continue;
    const s0 = performance.now();
    if (step.name !== "observe" && !stillLeader()) {
      failed.push({ step: step.name, error: "skipped: leadership lost during the tick" });
      continue;
    }
    try {
      await step.run(ctx);
    } catch (err) {
      log.error({ err, step: step.name }, "manager step failed");
      failed.push({ step: step.name, error: err instanceof Error ? err.message : String(err) });
    } finally {
      stepsMs[step.name] = performance.now() - s0;
    }
  }
  return { failed, stepsMs };
}
