/**
 * What every launcher shares about results: the chunk document sent to spawn
 * and http jobs, the one collector of per-item results and of the item being
 * worked on (unknown ids and malformed entries are logged with
 * BJ_ERR_LAUNCHER_OUTPUT and ignored), and the constructors of reports.
 */
import type { Batch, Logger } from "@batchjob/core";
import { ErrorCode } from "@batchjob/core/job";
import type { ChunkReport, FatalEnd, ItemOutcome, Unreported } from "./types.js";

/** Warnings logged per chunk before the rest are only counted. */
const MAX_WARNINGS = 20;

/**
 * The JSON a spawn job reads on stdin and an http receiver gets as its body:
 * `{"chunkId","jobType","items":[{"id","payload","attempts"}]}`. The payloads
 * are JSON text already (the launcher's `payloads` is "json"): spliced in as
 * they are, never parsed and re-encoded.
 */
export function encodeChunk(batch: Batch): string {
  const items = batch.items.map(
    (i) => `{"id":${JSON.stringify(i.id)},"payload":${i.payload as string},"attempts":${i.attempts}}`,
  );
  return `{"chunkId":${JSON.stringify(batch.id)},"jobType":${JSON.stringify(batch.jobType)},"items":[${items.join(",")}]}`;
}

export const UNREPORTED_OK: Unreported = Object.freeze({ ok: true });

/** Items without a result failed with `error`; retried unless `retry` is false. */
export function unreportedFailure(error: string, retry = true): Unreported {
  return { ok: false, error, retry };
}

/** Items left when `ctx.signal` fired: "aborted: <reason>", retried. */
export function abortedUnreported(signal: AbortSignal): Unreported {
  const reason: unknown = signal.reason;
  const text = reason instanceof Error ? reason.message : reason === undefined ? "no reason given" : String(reason);
  return unreportedFailure(`aborted: ${text}`);
}

/**
 * The report of a chunk that ended (not fatally): its results, and when the
 * unreported items fail, the begun item without a result as `running`.
 */
export function endReport(
  results: ResultCollector,
  unreported: Unreported,
  peakMemoryBytes: number | null,
): ChunkReport {
  const running = unreported.ok ? undefined : results.running;
  const report: ChunkReport = { results: results.finish(), unreported, peakMemoryBytes };
  if (running !== undefined) report.running = running;
  return report;
}

/** An abnormal end: every unreported item fails with the same error and is retried; `running` is kept. */
export function fatalReport(
  results: ResultCollector,
  reason: FatalEnd["reason"],
  error: string,
  peakMemoryBytes: number | null,
): ChunkReport {
  return { ...endReport(results, unreportedFailure(error), peakMemoryBytes), fatal: { reason, error } };
}

/** The `results` of what a job returned (`WorkResult` or nothing); anything else is passed on for `addAll` to refuse. */
export function resultsOfReturn(value: unknown): unknown {
  return typeof value === "object" && value !== null ? (value as { results?: unknown }).results : value;
}

/** The message of anything thrown. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The system error code (ENOENT, EPIPE, ECONNREFUSED...) of a thrown value, if it has one. */
export function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "string" ? err.code : undefined;
}

/** A well-formed result entry. */
export type ParsedResult = { id: string; outcome: ItemOutcome };
type Parsed = ParsedResult | { problem: string };

/** One raw result entry -> an outcome, or what is wrong with it. `null` counts as absent for optional fields. */
export function parseItemResult(raw: unknown): Parsed {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { problem: "not an object" };
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== "string" || r.id === "") return { problem: "id must be a non-empty string" };
  if (typeof r.ok !== "boolean") return { problem: "ok must be true or false" };
  const outcome: ItemOutcome = { ok: r.ok };
  if (r.error !== undefined && r.error !== null) {
    if (typeof r.error !== "string") return { problem: "error must be a string" };
    outcome.error = r.error;
  }
  if (r.retry !== undefined && r.retry !== null) {
    if (typeof r.retry !== "boolean") return { problem: "retry must be true or false" };
    outcome.retry = r.retry;
  }
  if (r.delayMs !== undefined && r.delayMs !== null) {
    if (typeof r.delayMs !== "number" || !Number.isFinite(r.delayMs) || r.delayMs < 0) {
      return { problem: "delayMs must be a number >= 0" };
    }
    outcome.delayMs = r.delayMs;
  }
  return { id: r.id, outcome };
}

/** Characters of a refused document quoted in its problem. */
const QUOTED_CHARS = 120;

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * An http receiver's 2xx body -> its result entries, or what is wrong with it.
 * Blank: no entries (every item done). Anything else must be JSON
 * `{"results": [...]}` (other keys are ignored) whose entries all parse; one
 * bad entry refuses the whole document, so a truncated or garbled answer never
 * acks. Entries for ids outside the batch are left for ResultCollector to refuse.
 */
export function parseResultDocument(text: string): { results: ParsedResult[] } | { problem: string } {
  if (text.trim() === "") return { results: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON (${errorMessage(err)}): ${text.slice(0, QUOTED_CHARS)}` };
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { problem: `expected an object {"results": [...]}, got ${kindOf(doc)}` };
  }
  const raw: unknown = (doc as { results?: unknown }).results;
  if (raw === undefined) return { problem: 'no "results" array' };
  if (!Array.isArray(raw)) return { problem: `"results" must be an array, got ${kindOf(raw)}` };
  const results: ParsedResult[] = [];
  for (let i = 0; i < raw.length; i++) {
    const parsed = parseItemResult(raw[i]);
    if ("problem" in parsed) return { problem: `results[${i}]: ${parsed.problem}` };
    results.push(parsed);
  }
  return { results };
}

function sameOutcome(a: ItemOutcome, b: ItemOutcome): boolean {
  return a.ok === b.ok && a.error === b.error && a.retry === b.retry && a.delayMs === b.delayMs;
}

/**
 * Collects the results of one chunk: keeps the first result of each id of the
 * batch, and the item the job last said it began; warns about everything
 * else. Warnings past MAX_WARNINGS are counted and summed up by `finish()`,
 * after which the collector takes nothing more (a job still running after its
 * timeout cannot change a report already made).
 */
export class ResultCollector {
  readonly results = new Map<string, ItemOutcome>();
  private ids: Set<string> | undefined;
  private warnings = 0;
  private begun: string | undefined;
  private finished = false;

  constructor(
    private readonly batch: Batch,
    private readonly log: Logger,
  ) {}

  /** The item last begun, if it has no result yet. */
  get running(): string | undefined {
    return this.begun === undefined || this.results.has(this.begun) ? undefined : this.begun;
  }

  /** Adds one raw entry; `where` names it in warnings ("stdout line 3", "results[2]"). */
  add(raw: unknown, where: string): void {
    if (this.ended(where)) return;
    const parsed = parseItemResult(raw);
    if ("problem" in parsed) this.warn(where, `malformed result: ${parsed.problem}`);
    else if (!this.belongs(parsed.id)) this.warn(where, `unknown item id ${JSON.stringify(parsed.id)}`);
    else {
      const first = this.results.get(parsed.id);
      if (first === undefined) this.results.set(parsed.id, parsed.outcome);
      else if (!sameOutcome(first, parsed.outcome)) {
        this.warn(where, `second result for item ${parsed.id}; the first counts`);
      }
    }
  }

  /**
   * The job began the item `raw` (ctx.begin, a progress line). An id that is
   * not one of the batch is warned about and leaves no item running: the job
   * has moved on to something that cannot be blamed.
   */
  begin(raw: unknown, where: string): void {
    if (this.ended(where)) return;
    this.begun = undefined;
    if (typeof raw !== "string" || raw === "") this.warn(where, "the running item id must be a non-empty string");
    else if (!this.belongs(raw)) this.warn(where, `unknown item id ${JSON.stringify(raw)}`);
    else this.begun = raw;
  }

  /** Adds a `results` value as a job returned it: absent, or an array of entries. */
  addAll(raw: unknown, where: string): void {
    if (raw === undefined || raw === null) return;
    if (!Array.isArray(raw)) {
      this.warn(where, `expected an array of results, got ${typeof raw}`);
      return;
    }
    for (let i = 0; i < raw.length; i++) this.add(raw[i], `${where}[${i}]`);
  }

  /** Logs a problem with the job's output (BJ_ERR_LAUNCHER_OUTPUT). */
  warn(where: string, problem: string): void {
    this.warnings++;
    if (this.warnings > MAX_WARNINGS) return;
    this.log.warn(
      { code: ErrorCode.LAUNCHER_OUTPUT, chunkId: this.batch.id, jobType: this.batch.jobType, where },
      `ignored output of the job (${where}): ${problem}`,
    );
  }

  /** Logs how many warnings were left out; returns the results. Later input is ignored. */
  finish(): Map<string, ItemOutcome> {
    this.finished = true;
    if (this.warnings > MAX_WARNINGS) {
      this.log.warn(
        { code: ErrorCode.LAUNCHER_OUTPUT, chunkId: this.batch.id, jobType: this.batch.jobType },
        `${this.warnings - MAX_WARNINGS} more problems with the job's output were not logged`,
      );
    }
    return this.results;
  }

  private ended(where: string): boolean {
    if (this.finished) this.warn(where, "the chunk has already ended");
    return this.finished;
  }

  private belongs(id: string): boolean {
    const items = this.batch.items;
    if (items.length <= 8) return items.some((i) => i.id === id);
    this.ids ??= new Set(items.map((i) => i.id));
    return this.ids.has(id);
  }
}
