/**
 * Property tests of what an http receiver answers: parseResultDocument against
 * an oracle written here, ResultCollector keeping only the batch's ids, and the
 * launcher end to end against a real local server: a 2xx body is either a
 * valid document (its results, the rest done) or refused (every item failed,
 * retried): a garbled or truncated answer never acks.
 */
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "@batchjob/core";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import { parseResultDocument, ResultCollector } from "../src/launchers/results.js";
import type { ItemOutcome, Launcher } from "../src/launchers/types.js";
import { jsonBatchOf } from "./fixtures/batches.js";
import { captureLog } from "./fixtures/capture-log.js";

const NUM_RUNS = 2000;
const batch = jsonBatchOf([1, 2, 3, 4, 5]);
const ids = batch.items.map((i) => i.id);

// ---- generators: valid entries, entries with any field of any type, whole bodies

const anyValue = fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.double());
const validEntry = fc.record(
  {
    id: fc.oneof(fc.constantFrom(...ids), fc.string({ minLength: 1 })),
    ok: fc.boolean(),
    error: fc.oneof(fc.string(), fc.constant(null)),
    retry: fc.oneof(fc.boolean(), fc.constant(null)),
    delayMs: fc.oneof(fc.nat(), fc.constant(null)),
  },
  { requiredKeys: ["id", "ok"] },
);
const anyEntry = fc.oneof(
  validEntry,
  fc.record(
    {
      id: fc.oneof(fc.constantFrom(...ids), fc.string(), anyValue),
      ok: fc.oneof(fc.boolean(), anyValue),
      error: fc.oneof(fc.string(), anyValue),
      retry: fc.oneof(fc.boolean(), anyValue),
      delayMs: fc.oneof(fc.integer(), fc.double(), anyValue),
    },
    { requiredKeys: [] },
  ),
  anyValue,
);
const documentText = fc.oneof(
  fc.array(validEntry, { maxLength: 8 }).map((results) => JSON.stringify({ results })),
  fc.array(anyEntry, { maxLength: 8 }).map((results) => JSON.stringify({ results, other: 1 })),
  anyValue.map((results) => JSON.stringify({ results }) ?? ""),
);
/** A valid document cut short anywhere: what a dropped connection leaves. */
const truncated = fc
  .tuple(fc.array(validEntry, { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([results, at]) => {
    const text = JSON.stringify({ results });
    return text.slice(0, Math.floor(at * (text.length - 1)));
  });
const bodyText = fc.oneof(
  documentText,
  truncated,
  fc.json(),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.constantFrom("", "  \n", "null", "[]", "{}", '{"results":null}', '{"results": [ {"id": '),
);

// ---- the oracle: what the README promises, written without the parser

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;

function validOutcome(e: unknown): e is { id: string; ok: boolean } & Record<string, unknown> {
  if (!isObject(e) || typeof e.id !== "string" || e.id === "" || typeof e.ok !== "boolean") return false;
  if (!absent(e.error) && typeof e.error !== "string") return false;
  if (!absent(e.retry) && typeof e.retry !== "boolean") return false;
  return absent(e.delayMs) || (typeof e.delayMs === "number" && Number.isFinite(e.delayMs) && e.delayMs >= 0);
}

/** The entries a body settles, or null when it must be refused. */
function oracle(text: string): Record<string, unknown>[] | null {
  if (text.trim() === "") return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(doc) || !Array.isArray(doc.results)) return null;
  return doc.results.every(validOutcome) ? doc.results : null;
}

function outcomeOf(e: Record<string, unknown>): ItemOutcome {
  const o: ItemOutcome = { ok: e.ok as boolean };
  if (!absent(e.error)) o.error = e.error as string;
  if (!absent(e.retry)) o.retry = e.retry as boolean;
  if (!absent(e.delayMs)) o.delayMs = e.delayMs as number;
  return o;
}

/** The first result of each id of the batch. */
function expectedResults(entries: Record<string, unknown>[]): Map<string, ItemOutcome> {
  const m = new Map<string, ItemOutcome>();
  for (const e of entries)
    if (ids.includes(e.id as string) && !m.has(e.id as string)) m.set(e.id as string, outcomeOf(e));
  return m;
}

describe("http result document (fuzz)", () => {
  it(`parses exactly the valid documents, keeps only the batch's ids, and names the problem otherwise (${NUM_RUNS} runs)`, () => {
    let runs = 0;
    fc.assert(
      fc.property(bodyText, (text) => {
        runs++;
        const doc = parseResultDocument(text);
        const expected = oracle(text);
        if (expected === null) {
          expect(doc).toEqual({ problem: expect.stringMatching(/\S/) });
          return;
        }
        expect(doc).toHaveProperty("results");
        const { log, records } = captureLog();
        const results = new ResultCollector(batch, log);
        for (const [i, r] of ("results" in doc ? doc.results : []).entries()) {
          results.add({ id: r.id, ...r.outcome }, `results[${i}]`);
        }
        const got = results.finish();
        expect([...got.keys()].every((id) => ids.includes(id))).toBe(true);
        expect(got).toEqual(expectedResults(expected));
        for (const r of records) expect(r.msg).toMatch(/\S/);
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });

  it(`refuses every truncated document (${NUM_RUNS} runs)`, () => {
    let runs = 0;
    fc.assert(
      fc.property(truncated, (text) => {
        runs++;
        if (text.trim() === "") return; // cut before the first byte: an empty answer, documented as all done
        expect(parseResultDocument(text)).toEqual({ problem: expect.stringContaining("not JSON") });
      }),
      { numRuns: NUM_RUNS },
    );
    expect(runs).toBe(NUM_RUNS);
  });
});

describe("http launcher answers (fuzz, real server)", () => {
  const E2E_RUNS = 1000;
  let server: Server;
  let launcher: Launcher;
  let answer: string = "";

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(answer));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const log = createLogger("fuzz", { level: "silent" });
    launcher = await createLauncher(
      { kind: "http", url, secret: "a-test-secret-of-32-characters!!", timeoutMs: 10_000, maxResponseBytes: 4096 },
      { jobType: "test", baseDir: ".", log },
    );
  });
  afterAll(async () => {
    await launcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it(`a 2xx answer settles its valid results, or fails every item; it never acks a bad one (${E2E_RUNS} runs)`, async () => {
    let runs = 0;
    const log = createLogger("fuzz", { level: "silent" });
    await fc.assert(
      fc.asyncProperty(bodyText, async (text) => {
        runs++;
        answer = text;
        const report = await launcher.run(batch, { signal: new AbortController().signal, log });
        // what the receiver sends: UTF-8 (a lone surrogate becomes U+FFFD), read back without a BOM
        const sent = Buffer.from(text, "utf8");
        const expected = sent.length > 4096 ? null : oracle(sent.toString("utf8").replace(/^\uFEFF/, ""));
        expect(report.fatal).toBeUndefined();
        if (expected === null) {
          expect(report.results.size).toBe(0);
          expect(report.unreported).toMatchObject({
            ok: false,
            retry: true,
            error: expect.stringMatching(/^HTTP 200: /),
          });
        } else {
          expect(report.unreported).toEqual({ ok: true });
          expect(report.results).toEqual(expectedResults(expected));
        }
      }),
      { numRuns: E2E_RUNS },
    );
    expect(runs).toBe(E2E_RUNS);
  });
});
