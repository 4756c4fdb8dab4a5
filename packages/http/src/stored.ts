/**
 * Reading what batchjob stored in Redis for display (status, history): each
 * value parsed and checked for the fields shown. A value that is not valid
 * JSON or not of its shape becomes one problem line naming its key, and the
 * rest is shown: a corrupt value never ends a command with a stack trace.
 */
import type { WorkerHistoryItem } from "@batchjob/core";

/** What is wrong with a stored value, for one line: `bj:load is not valid JSON (...)`. */
export type Problems = string[];

/** The parsed value, or why it is not one (not JSON, or `check` names what is missing). */
export function readStored<T>(
  raw: string,
  check: (v: Record<string, unknown>) => string | undefined,
): { value: T } | { problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    return { problem: `is not valid JSON (${(err as Error).message})` };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { problem: "is not a JSON object" };
  const wrong = check(v as Record<string, unknown>);
  return wrong === undefined ? { value: v as T } : { problem: `is not what batchjob writes: ${wrong}` };
}

/** The first of `fields` of `v` that is not of its type (`number`: a finite number), or undefined. */
export function wrongField(
  v: Record<string, unknown>,
  fields: Record<string, "string" | "number" | "number|null" | "object">,
): string | undefined {
  for (const [name, type] of Object.entries(fields)) {
    const x = v[name];
    const ok =
      type === "string"
        ? typeof x === "string"
        : type === "object"
          ? typeof x === "object" && x !== null
          : (typeof x === "number" && Number.isFinite(x)) || (type === "number|null" && x === null);
    if (!ok) return `${name} is not ${type === "number|null" ? "a number or null" : `a ${type}`}`;
  }
  return undefined;
}

const HISTORY_FIELDS = {
  createdAt: "string",
  finishedAt: "string",
  jobType: "string",
  hostId: "string",
  pid: "number",
  chunks: "number",
  itemsDone: "number",
  itemsFailed: "number",
  itemsRetried: "number",
  peakMemoryBytes: "number|null",
  exitReason: "string",
} as const;

/**
 * The newest `limit` entries of a worker history list, skipping the ones that
 * are not history entries; they are counted in one problem line.
 */
export async function readHistory(
  client: { lrange(key: string, start: number, stop: number): Promise<string[]> },
  key: string,
  limit: number,
  problems: Problems,
): Promise<WorkerHistoryItem[]> {
  if (limit <= 0) return [];
  const out: WorkerHistoryItem[] = [];
  let bad = 0;
  let first: string | undefined;
  for (const raw of await client.lrange(key, 0, limit - 1)) {
    const r = readStored<WorkerHistoryItem>(raw, (v) => wrongField(v, HISTORY_FIELDS));
    if ("value" in r) out.push(r.value);
    else {
      bad++;
      first ??= r.problem;
    }
  }
  if (bad > 0) problems.push(`${key}: ${bad} of the newest ${limit} entries skipped; the first ${first}`);
  return out;
}
