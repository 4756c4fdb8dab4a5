/**
 * The line protocol of the `process` launcher (version 1), both directions; pure.
 *   daemon -> process, stdin: one line per chunk, `{"chunk":{"chunkId","jobType","items":[{"id","payload","attempts"}]}}`
 *     (the document spawn and http send, on one line); stdin closes when the process should exit.
 *   process -> daemon, stdout: `{"ready":1}` once, when it can take chunks (1: the protocol it speaks); then,
 *     per chunk, progress `{"running":"<id>"}` and result lines `{"id","ok","error"?,"retry"?,"delayMs"?}`
 *     as spawn reads them, and last `{"done":"<chunkId>"}`, or `{"done":"<chunkId>","error":"..."}` when
 *     the items it gave no result for failed (a per-chunk handler threw).
 * Anything else on stdout breaks the protocol: the chunk's unreported items fail, none is acked.
 */
import type { Batch } from "@batchjob/core";
import { encodeChunk, parseItemResult } from "./results.js";
import { parseStdoutLine } from "./spawn.js";

/** The protocol version the daemon speaks: a process says it in its ready line. */
export const PROCESS_PROTOCOL = 1;

/** What one stdout line of a worker process says. */
export type ProcessLine =
  | { kind: "blank" }
  | { kind: "ready"; protocol: unknown }
  | { kind: "done"; chunkId: unknown; error?: unknown }
  | { kind: "running"; id: unknown }
  | { kind: "result"; value: unknown }
  | { kind: "bad"; problem: string };

/**
 * The line of one chunk, newline included. Payloads are spliced in as stored
 * JSON text; a raw CR or LF in one can only be whitespace between tokens (JSON
 * strings escape them), so it becomes a space and the chunk stays one line.
 */
export function encodeChunkLine(batch: Batch): string {
  const doc = encodeChunk(batch);
  const line = doc.includes("\n") || doc.includes("\r") ? doc.replace(/[\r\n]/g, " ") : doc;
  return `{"chunk":${line}}\n`;
}

function keyed(value: unknown, key: string): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && key in value && !("id" in value);
}

/**
 * Parses one stdout line with spawn's parser, then tells the ready and done
 * lines apart and checks a result entry's shape (a malformed one is "bad").
 */
export function parseProcessLine(line: string): ProcessLine {
  const parsed = parseStdoutLine(line);
  if (parsed.kind !== "result") return parsed;
  const value = parsed.value;
  if (keyed(value, "ready")) return { kind: "ready", protocol: value.ready };
  if (keyed(value, "done")) {
    return value.error === undefined || value.error === null
      ? { kind: "done", chunkId: value.done }
      : { kind: "done", chunkId: value.done, error: value.error };
  }
  const result = parseItemResult(value);
  if ("problem" in result) return { kind: "bad", problem: `not a protocol line (${result.problem})` };
  return parsed;
}
