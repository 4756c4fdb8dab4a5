/**
 * Property tests of a spawned job's stdout: any text, cut into any pieces,
 * through LineSplitter, parseStdoutLine and ResultCollector gives the results
 * and the running item of a model written here (only ids of the batch, the
 * first result of each), the same however the text was cut, and a warning
 * naming the line for everything else.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ResultCollector } from "../src/launchers/results.js";
import { LineSplitter, parseStdoutLine, readStdoutLine } from "../src/launchers/spawn.js";
import type { ItemOutcome } from "../src/launchers/types.js";
import { jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, type LogRecord } from "./fixtures/capture-log.js";

const NUM_RUNS = 2000;
/** A short line limit, so that over-long lines come up. */
const MAX = 120;
const batch = jsonBatchOf([1, 2, 3, 4]);
const ids = batch.items.map((i) => i.id);

const id = fc.oneof(fc.constantFrom(...ids), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }));
const resultLine = fc
  .record(
    {
      id,
      ok: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
      error: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null), fc.integer()),
      retry: fc.oneof(fc.boolean(), fc.constant(null), fc.string({ maxLength: 3 })),
      delayMs: fc.oneof(fc.nat(), fc.integer(), fc.constant(null), fc.string({ maxLength: 3 })),
    },
    { requiredKeys: [] },
  )
  .map((r) => JSON.stringify(r));
const line = fc.oneof(
  resultLine,
  fc.record({ id: fc.constantFrom(...ids), ok: fc.boolean() }).map((r) => JSON.stringify(r)),
  id.map((running) => JSON.stringify({ running })),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme-ascii", minLength: MAX + 1, maxLength: MAX + 40 }),
  fc.constantFrom("", "   ", "\r", '{"id": ', "not json"),
);
/** A whole stdout, and where it is cut into the pieces the pipe delivers. */
const stdout = fc
  .tuple(fc.array(line, { maxLength: 12 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 6 }))
  .map(([lines, newlineAtEnd, cuts]) => {
    const text = lines.join("\n") + (newlineAtEnd ? "\n" : "");
    const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
    const pieces = [0, ...at].map((from, i) => text.slice(from, at[i] ?? text.length));
    return { text, pieces };
  });

/** Feeds the pieces as the spawn launcher does; returns the results, the running item and the warnings. */
function read(pieces: string[]): { results: Map<string, ItemOutcome>; running?: string; warnings: LogRecord[] } {
  const { log, records } = captureLog();
  const results = new ResultCollector(batch, log);
  const splitter = new LineSplitter(MAX, (l, n, overlong) => readStdoutLine(results, l, n, overlong));
  for (const p of pieces) splitter.push(p);
  splitter.end();
  const running = results.running;
  return { results: results.finish(), running, warnings: records };
}

const absent = (v: unknown) => v === undefined || v === null;

/** The model: each line of the text on its own, as the README describes the protocol. */
function model(text: string): { results: Map<string, ItemOutcome>; running?: string } {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const results = new Map<string, ItemOutcome>();
  let begun: string | undefined;
  for (const l of lines) {
    if (l.length > MAX || l.trim() === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(l.trim());
    } catch {
      continue;
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) continue;
    const e = v as Record<string, unknown>;
    if ("running" in e && !("id" in e)) {
      begun = typeof e.running === "string" && ids.includes(e.running) ? e.running : undefined;
      continue;
    }
    if (typeof e.id !== "string" || !ids.includes(e.id) || typeof e.ok !== "boolean") continue;
    if (!absent(e.error) && typeof e.error !== "string") continue;
    if (!absent(e.retry) && typeof e.retry !== "boolean") continue;
    if (!absent(e.delayMs) && !(typeof e.delayMs === "number" && e.delayMs >= 0)) continue;
    if (results.has(e.id)) continue;
    const o: ItemOutcome = { ok: e.ok };
    if (!absent(e.error)) o.error = e.error as string;
    if (!absent(e.retry)) o.retry = e.retry as boolean;
    if (!absent(e.delayMs)) o.delayMs = e.delayMs as number;
    results.set(e.id, o);
  }
  const running = begun !== undefined && !results.has(begun) ? begun : undefined;
  return { results, ...(running === undefined ? {} : { running }) };
}

describe("spawn stdout (fuzz)", () => {
  it(`gives the model's results and running item, whatever the cuts; warns naming the line (${NUM_RUNS} runs)`, () => {
    let runs = 0;
    fc.assert(
      fc.property(stdout, ({ text, pieces }) => {
        runs++;
        const got = read(pieces);
        const whole = read([text]);
        const expected = model(text);
        expect(got.results).toEqual(expected.results);
        expect(got.running).toBe(expected.running);
        expect([...got.results.keys()].every((k) => ids.includes(k))).toBe(true);
        expect(got.warnings).toEqual(whole.warnings);
        for (const w of got.warnings)
          expect(w.msg).toMatch(/^(ignored output of the job \(stdout line \d+\): \S|\d+ more)/);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });

  it(`parseStdoutLine: blank, JSON or a "not JSON" problem, for any line (${NUM_RUNS} runs)`, () => {
    let runs = 0;
    fc.assert(
      fc.property(fc.oneof(line, fc.string({ unit: "binary" })), (l) => {
        runs++;
        const parsed = parseStdoutLine(l);
        let json = true;
        try {
          JSON.parse(l.trim());
        } catch {
          json = false;
        }
        if (l.trim() === "") expect(parsed).toEqual({ kind: "blank" });
        else if (!json) expect(parsed).toEqual({ kind: "bad", problem: expect.stringMatching(/^not JSON: \S/) });
        else expect(["result", "running"]).toContain(parsed.kind);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });
});
