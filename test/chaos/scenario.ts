/**
 * What every scenario shares: its context (code under test, sink, logs,
 * random source), the run wrapper (start the stack, run the body, always
 * kill and stop everything, time it, turn a harness failure into the row's
 * error) and the ending (drain, stop the daemons, read the probes, tally).
 */
import { readFileSync } from "node:fs";
import type { CodeUnderTest } from "./core.js";
import type { Ledger } from "./items.js";
import { drain, tally } from "./measure.js";
import type { Probe } from "./probes.js";
import type { Row } from "./report.js";
import type { SinkServer } from "./sink.js";
import { Stack, type StackOptions } from "./stack.js";
import type { Rng } from "./util.js";

export interface ScenarioContext {
  code: CodeUnderTest;
  sink: SinkServer;
  runDir: string;
  logLevel: string;
  rng: Rng;
  log(msg: string): void;
}

export interface Scenario<P = unknown> {
  name: string;
  /** One line on the fault, for the run's output. */
  title: string;
  /** Parameters at a scale (1: the full run; smaller: a short one). */
  params(scale: number): P;
  run(ctx: ScenarioContext, params: P): Promise<Row>;
}

export function emptyRow(scenario: string): Row {
  return { scenario, faults: 0, recover: [], drained: false, totalS: 0, notes: [] };
}

/** Starts the stack, runs `body`, and always kills and stops what the stack started. */
export async function withStack(
  ctx: ScenarioContext,
  name: string,
  options: Omit<StackOptions, "name" | "code" | "sink" | "runDir" | "logLevel">,
  body: (stack: Stack, row: Row) => Promise<void>,
): Promise<Row> {
  const started = Date.now();
  const row = emptyRow(name);
  let stack: Stack | undefined;
  try {
    stack = await Stack.start({
      ...options,
      name,
      code: ctx.code,
      sink: ctx.sink,
      runDir: ctx.runDir,
      logLevel: ctx.logLevel,
    });
    await body(stack, row);
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    ctx.log(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await stack?.close().catch((err: unknown) => ctx.log(`${name}: cleanup failed: ${String(err)}`));
    row.totalS = (Date.now() - started) / 1000;
  }
  return row;
}

/**
 * The end of a scenario: waits (up to `drainMs`) for its types to drain,
 * kills its daemons so the sink stops changing, reads the probes and tallies.
 */
export async function finish(
  stack: Stack,
  row: Row,
  types: string[],
  ledger: Ledger,
  probes: (Probe | null)[],
  drainMs: number,
): Promise<void> {
  row.drained = await drain(stack, types, drainMs);
  if (!row.drained) row.notes.push(`not drained within ${drainMs / 1000} s`);
  await stack.procs.killAll();
  for (const p of probes) p?.cancel();
  row.recover = await Promise.all(probes.map((p) => p?.result ?? Promise.resolve(null)));
  const t = await tally(stack, types, ledger);
  row.tally = t;
  if (t.acked + t.died !== t.enqueued) row.notes.push(`acked ${t.acked} + died ${t.died} ≠ enqueued ${t.enqueued}`);
}

/**
 * Settles the queue refused to a daemon because the chunk was no longer its
 * (fencing), as its log tells them: the worker logs `notHeld` (at warn) for each.
 */
export function fencedInLog(logFile: string): { settles: number; items: number } {
  let text = "";
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return { settles: 0, items: 0 };
  }
  let settles = 0;
  let items = 0;
  for (const m of text.matchAll(/"notHeld":(\d+)/g)) {
    settles++;
    items += Number(m[1]);
  }
  return { settles, items };
}
