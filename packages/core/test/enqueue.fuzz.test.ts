/**
 * Property tests of the enqueue input checks on arbitrary values: encodeItems
 * either refuses the first bad item with its typed error, naming the item
 * (and, for a payload JSON would change, a path that leads to the value), or
 * gives payloads that JSON.parse turns back into exactly what was given (as
 * a model written here says JSON should hold it). On a real Redis, a refused
 * enqueue writes no key at all, and an accepted one reads back the same.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { testQueue } from "../../../test/harness/queue.js";
import { encodeItems } from "../src/enqueue-input.js";
import { InvalidItemIdError, InvalidPayloadError, PayloadTooLargeError } from "../src/index.js";

const PURE_RUNS = 4000;
const REDIS_RUNS = 300;

const LOSSY = Symbol("lossy");
const OMIT = Symbol("omit");

/**
 * What JSON holds of `v`, exactly: LOSSY when JSON would change it (a
 * non-finite number, a BigInt, an invalid Date, undefined, a function or a
 * symbol in an array or a hole), OMIT for what an object leaves out.
 */
function model(v: unknown, key: string, inArray: boolean): unknown {
  let x = v;
  if (x instanceof Date && Number.isNaN(x.getTime())) return LOSSY;
  if (typeof x === "object" && x !== null && typeof (x as { toJSON?: unknown }).toJSON === "function") {
    x = (x as { toJSON: (k: string) => unknown }).toJSON(key);
  }
  if (x instanceof Number || x instanceof String || x instanceof Boolean) x = x.valueOf();
  if (x === null || typeof x === "boolean" || typeof x === "string") return x;
  if (typeof x === "number") return Number.isFinite(x) ? (Object.is(x, -0) ? 0 : x) : LOSSY;
  if (typeof x === "bigint") return LOSSY;
  if (x === undefined || typeof x === "function" || typeof x === "symbol") return inArray ? LOSSY : OMIT;
  if (Array.isArray(x)) {
    const out: unknown[] = [];
    for (let i = 0; i < x.length; i++) {
      if (!(i in x)) return LOSSY;
      const m = model(x[i], String(i), true);
      if (m === LOSSY) return LOSSY;
      out.push(m);
    }
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(x as object)) {
    const m = model((x as Record<string, unknown>)[k], k, false);
    if (m === LOSSY) return LOSSY;
    if (m !== OMIT) Object.defineProperty(out, k, { value: m, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the model of the caller id rule
const CALLER_ID = /^[^#\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,255}$/;

type Bad = { index: number; error: new (...a: never[]) => Error; lossy?: boolean };

/** The first item enqueue must refuse, and with what; undefined when all are fine. */
function firstBad(items: unknown[], maxPayloadBytes: number): Bad | undefined {
  for (let index = 0; index < items.length; index++) {
    const item = items[index];
    if (item === null || typeof item !== "object" || !("payload" in item)) return { index, error: InvalidPayloadError };
    const { id, payload } = item as { id?: unknown; payload: unknown };
    if (id !== undefined && (typeof id !== "string" || !CALLER_ID.test(id)))
      return { index, error: InvalidItemIdError };
    const m = model(payload, "", false);
    if (m === OMIT) return { index, error: InvalidPayloadError };
    if (m === LOSSY) return { index, error: InvalidPayloadError, lossy: true };
    if (Buffer.byteLength(JSON.stringify(m)) > maxPayloadBytes) return { index, error: PayloadTooLargeError };
  }
  return undefined;
}

/** The value a refusal's path (`payload.a[2]["x y"]`) leads to in `payload`; undefined when it leads nowhere. */
function at(payload: unknown, path: string): { found: boolean; value?: unknown; inArray?: boolean } {
  const seg = /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let cur: unknown = payload;
  let inArray = false;
  let i = "payload".length;
  while (i < path.length) {
    seg.lastIndex = i;
    const m = seg.exec(path);
    if (!m || cur === null || typeof cur !== "object") return { found: false };
    const key = m[1] ?? m[2] ?? JSON.parse(m[3] as string);
    inArray = Array.isArray(cur);
    cur = (cur as Record<string, unknown>)[key];
    i = seg.lastIndex;
  }
  return { found: true, value: cur, inArray };
}

const PATH_IN_MESSAGE =
  /^item \d+: (?:payload is not JSON-serialisable: )?(payload(?:\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*) is /;

/** Whether `v` (in an array when `inArray`) is something JSON cannot hold as it is. */
function unholdable(v: unknown, inArray: boolean): boolean {
  if (v instanceof Date) return Number.isNaN(v.getTime());
  const n = v instanceof Number ? v.valueOf() : v;
  if (typeof n === "number") return !Number.isFinite(n);
  if (typeof v === "bigint") return true;
  return inArray && (v === undefined || typeof v === "function" || typeof v === "symbol");
}

const nonFinite = fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
const payload = fc.oneof(
  { weight: 5, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 5,
    arbitrary: fc.anything({
      maxDepth: 3,
      withBoxedValues: true,
      withSparseArray: true,
      withNullPrototype: true,
      withBigInt: true,
      withDate: true,
    }),
  },
  // a value JSON cannot hold, deep inside something it can
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.jsonValue({ maxDepth: 2 }),
        fc.oneof(
          nonFinite,
          fc.constantFrom(undefined, () => 1, Symbol("s")),
        ),
      )
      .map(([outer, bad]) => ({ outer, list: [1, { bad }], inList: [bad] })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom([undefined], [() => 1], [Symbol("s")], new Date(Number.NaN), { d: new Date(0) }),
  },
);
const id = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.string({ maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom("#1", "", "a\tb", "x".repeat(257), 7, null) },
);
const item = fc.oneof(
  { weight: 12, arbitrary: fc.record({ id, payload }, { requiredKeys: ["payload"] }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 1 }) },
);
const items = fc.array(item, { maxLength: 6 });
/** Mostly good items, so that many enqueues reach Redis. */
const mostlyGood = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ id, payload: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: ["payload"] }) },
    { weight: 1, arbitrary: item },
  ),
  { maxLength: 5 },
);

/** Checks an enqueue's outcome against the model: the refusal of the first bad item, or every payload read back. */
function checkOutcome(input: unknown[], max: number, error: unknown, payloads: string[] | undefined): void {
  const bad = firstBad(input, max);
  if (bad) {
    expect(error).toBeInstanceOf(bad.error);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^item ${bad.index}: `));
    if (bad.lossy) {
      const path = PATH_IN_MESSAGE.exec(message)?.[1];
      expect(path, message).toBeDefined();
      if (!path?.includes('..."]')) {
        const target = at((input[bad.index] as { payload: unknown }).payload, path as string);
        expect(target.found, message).toBe(true);
        expect(unholdable(target.value, target.inArray === true), message).toBe(true);
      }
    }
    return;
  }
  expect(error).toBeUndefined();
  expect(payloads).toHaveLength(input.length);
  payloads?.forEach((p, i) => {
    expect(JSON.parse(p)).toStrictEqual(model((input[i] as { payload: unknown }).payload, "", false));
  });
}

describe("enqueue input: arbitrary values", () => {
  it(`refuses the first bad item by its index and a path inside it, or keeps every payload exactly (${PURE_RUNS} runs)`, () => {
    fc.assert(
      fc.property(items, fc.constantFrom(1_000_000, 64), (input, max) => {
        let error: unknown;
        let payloads: string[] | undefined;
        try {
          payloads = encodeItems(input as never, max).payloads;
        } catch (err) {
          error = err;
        }
        checkOutcome(input, max, error, payloads);
      }),
      { numRuns: PURE_RUNS },
    );
  });

  it(`on a real Redis: a refused enqueue writes nothing, an accepted one reads back the same (${REDIS_RUNS} runs)`, async () => {
    const max = 1024;
    const t = testQueue({ maxPayloadBytes: max });
    const keysOfPrefix = async () => {
      const found: string[] = [];
      let cursor = "0";
      do {
        const [next, keys] = await t.client.scan(cursor, "MATCH", `${t.prefix}:*`, "COUNT", 1000);
        found.push(...keys);
        cursor = next;
      } while (cursor !== "0");
      return found;
    };
    let refused = 0;
    let readBack = 0;
    try {
      await fc.assert(
        fc.asyncProperty(mostlyGood, async (input) => {
          const result = await t.queue.enqueue("fuzz", input as never).then(
            (r) => ({ r }),
            (error: unknown) => ({ error }),
          );
          if ("error" in result) {
            refused++;
            checkOutcome(input, max, result.error, undefined);
            expect(await keysOfPrefix()).toEqual([]);
            return;
          }
          checkOutcome(
            input,
            max,
            undefined,
            (input as { payload: unknown }[]).map((i) => JSON.stringify(i.payload)),
          );
          const { ids } = result.r;
          if (ids.length > 0) {
            const batch = await t.queue.acquire("fuzz", { max: ids.length });
            readBack++;
            // a repeated caller id keeps the first item's payload
            const expected = new Map<string, unknown>();
            ids.forEach((id, i) => {
              if (!expected.has(id)) expected.set(id, model((input[i] as { payload: unknown }).payload, "", false));
            });
            expect(new Map(batch.items.map((x) => [x.id, x.payload]))).toStrictEqual(expected);
          }
          const left = await keysOfPrefix();
          if (left.length > 0) await t.client.del(...left);
        }),
        { numRuns: REDIS_RUNS },
      );
    } finally {
      await t.close();
    }
    // the runs exercised both outcomes
    expect(refused).toBeGreaterThan(REDIS_RUNS / 10);
    expect(readBack).toBeGreaterThan(REDIS_RUNS / 3);
  });
});
