/**
 * The fork launcher's child process (an entry point: it starts when run).
 *   1. argv: <absolute module path> <export>; the job is imported at once;
 *   2. {type:"run", batch} (payloads as JSON text) parses the payloads, runs the job,
 *      answers {type:"result", chunkId, results?, error?, rss};
 *   3. {type:"abort", chunkId} aborts that job's signal; losing the parent exits.
 * It says {type:"ready"} once the job is imported, or {type:"init-error"} and exits(1);
 * the job's ctx.log calls go as {type:"log"}, ctx.begin(id) as {type:"begin", chunkId, id} and
 * ctx.report(result) as {type:"report", chunkId, result}, each at once, so they outlive a crash;
 * an uncaught exception is told as {type:"crash"}, then exit(1).
 */
import type { Batch, BatchJob, WorkContext } from "@batchjob/core";
import { ErrorCode, runBatchJob } from "@batchjob/core/job";
import { loadBatchJob } from "./job-module.js";
import { errorMessage, resultsOfReturn } from "./results.js";
import { rss } from "./rss.js";

export type ParentMessage = { type: "run"; batch: Batch } | { type: "abort"; chunkId: string };

export type LogLevel = "info" | "warn" | "error";

export type ChildMessage =
  | { type: "result"; chunkId: string; results?: unknown; error?: string; rss: number }
  | { type: "log"; chunkId: string; level: LogLevel; obj: object | string; msg?: string }
  | { type: "begin"; chunkId: string; id: unknown }
  | { type: "report"; chunkId: string; result: unknown }
  | { type: "ready" }
  | { type: "init-error"; error: string }
  | { type: "crash"; error: string };

const [modulePath, exportName] = process.argv.slice(2);
const send = process.send?.bind(process);

if (!send || !modulePath || !exportName) {
  process.stderr.write("fork-child.js is started by the fork launcher: fork(path, [modulePath, exportName])\n");
  process.exit(2);
}

const post = (msg: ChildMessage, then?: () => void): void => {
  if (then) send(msg, undefined, {}, then);
  else send(msg);
};

// "." as baseDir: the parent passes an absolute path
const jobLoaded: Promise<BatchJob> = loadBatchJob(".", modulePath, exportName);
jobLoaded.then(
  () => post({ type: "ready" }),
  (err: unknown) => post({ type: "init-error", error: errorMessage(err) }, () => process.exit(1)),
);
const running = new Map<string, AbortController>();

process.on("disconnect", () => process.exit(0));
process.on("uncaughtException", (err) => {
  process.stderr.write(`fork child: uncaught exception: ${err instanceof Error ? err.stack : String(err)}\n`);
  post({ type: "crash", error: `uncaught exception: ${errorMessage(err)}` }, () => process.exit(1));
});
process.on("message", (msg: ParentMessage) => {
  if (msg.type === "run") void runChunk(msg.batch);
  else if (msg.type === "abort") running.get(msg.chunkId)?.abort(new Error("aborted by the worker"));
});

/** Errors become plain objects so they survive JSON. */
function plain(obj: object | string): object | string {
  if (typeof obj === "string") return obj;
  if (obj instanceof Error) return { err: { type: obj.name, message: obj.message, stack: obj.stack } };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    out[k] = v instanceof Error ? { type: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}

function logTo(chunkId: string): WorkContext["log"] {
  const at =
    (level: LogLevel) =>
    (obj: object | string, msg?: string): void => {
      try {
        post({ type: "log", chunkId, level, obj: plain(obj), msg });
      } catch {
        post({ type: "log", chunkId, level, obj: {}, msg: typeof obj === "string" ? obj : msg });
      }
    };
  return { info: at("info"), warn: at("warn"), error: at("error") };
}

/** Sends a begin/report of the job; one that cannot be cloned (a function in it) becomes a warning. */
function postProgress(msg: Extract<ChildMessage, { type: "begin" | "report" }>): void {
  try {
    post(msg);
  } catch (err) {
    const obj = { code: ErrorCode.LAUNCHER_OUTPUT, where: `ctx.${msg.type}` };
    post({
      type: "log",
      chunkId: msg.chunkId,
      level: "warn",
      obj,
      msg: `ignored ctx.${msg.type}: ${errorMessage(err)}`,
    });
  }
}

/** The batch arrives with payloads as JSON text; the job gets them parsed. One that does not parse fails alone, for good. */
function decode(raw: Batch): { batch: Batch; undecodable: { id: string; ok: false; error: string; retry: false }[] } {
  const items: Batch["items"] = [];
  const undecodable: { id: string; ok: false; error: string; retry: false }[] = [];
  for (const item of raw.items) {
    try {
      items.push({ ...item, payload: JSON.parse(item.payload as string) });
    } catch {
      undecodable.push({ id: item.id, ok: false, error: "stored payload is not valid JSON", retry: false });
    }
  }
  return { batch: { ...raw, items, size: items.length }, undecodable };
}

async function runChunk(raw: Batch): Promise<void> {
  let job: BatchJob;
  try {
    job = await jobLoaded;
  } catch {
    return; // told as init-error
  }
  const { batch, undecodable } = decode(raw);
  // reported at once, as the job's own reports are: they stand whatever becomes of the chunk (a crash, a timeout)
  for (const result of undecodable) postProgress({ type: "report", chunkId: batch.id, result });
  if (batch.size === 0) {
    // nothing left for the job
    post({ type: "result", chunkId: batch.id, results: [], rss: rss() });
    return;
  }
  const abort = new AbortController();
  running.set(batch.id, abort);
  let reply: ChildMessage;
  try {
    const value = await runBatchJob(job, batch, {
      jobType: batch.jobType,
      chunkId: batch.id,
      signal: abort.signal,
      log: logTo(batch.id),
      begin: (id) => postProgress({ type: "begin", chunkId: batch.id, id }),
      report: (result) => postProgress({ type: "report", chunkId: batch.id, result }),
    });
    reply = {
      type: "result",
      chunkId: batch.id,
      results: resultsOfReturn(value),
      rss: rss(),
    };
  } catch (err) {
    reply = {
      type: "result",
      chunkId: batch.id,
      error: errorMessage(err),
      rss: rss(),
    };
  } finally {
    running.delete(batch.id);
  }
  try {
    post(reply);
  } catch (err) {
    // results that JSON cannot carry (a BigInt, a cycle)
    const error = `cannot send the results to the worker: ${errorMessage(err)}`;
    post({ type: "result", chunkId: batch.id, error, rss: rss() });
  }
}
