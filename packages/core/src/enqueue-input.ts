/**
 * Checks and encodes the items of an enqueue before anything is written:
 * ids (caller ids dedupe; no control characters, not starting with '#',
 * which generated ids use) and payloads (JSON that reads back as it was
 * given, at most maxPayloadBytes). One bad item fails the whole call, naming
 * its index and, for a payload, the path inside it.
 *
 * JSON.stringify stores some values as null without a word: NaN and
 * ±Infinity, an invalid Date, and undefined, a function or a symbol in an
 * array. Such a payload is refused. Only a payload whose JSON holds a `null`
 * can have one, so only those are walked (a second JSON.stringify, with a
 * replacer that knows the path). Object properties holding undefined are
 * left out, as JSON always does; a toJSON method (Date) gives the value
 * stored. (A Map or Set is stored as its own properties, {} mostly: JSON's
 * rule, not checked here.)
 */
import { InvalidArgumentError, InvalidItemIdError, InvalidPayloadError, PayloadTooLargeError } from "./errors.js";
import type { EnqueueItem } from "./queue-contracts.js";

// an entry is `<id>\t<payload>`, and ids show in logs and the CLI
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class excludes control characters on purpose
const CALLER_ID = /^[^#\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,255}$/;

export interface EncodedItems {
  /** Caller ids, '' where an id is to be generated. */
  ids: string[];
  payloads: string[];
  callerIds: number;
  /** Ordering keys (`key`), '' where none was given; undefined when no item has one. */
  orderKeys?: string[];
}

/** Longest ordering key (characters). */
const MAX_KEY_LENGTH = 1024;

/** An item's ordering key: '' when it has none; a key that is not a non-empty string is refused, naming the item. */
function checkKey(item: EnqueueItem, index: number): string {
  const key = (item as { key?: unknown }).key;
  if (key === undefined) return "";
  if (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    const shown =
      typeof key === "string" ? `a string of ${key.length} characters` : (JSON.stringify(key) ?? typeof key);
    throw new InvalidArgumentError(
      `item ${index}: key must be a string of 1 to ${MAX_KEY_LENGTH} characters, got ${shown}`,
    );
  }
  return key;
}

function checkId(item: EnqueueItem, index: number): string {
  if (item === null || typeof item !== "object" || !("payload" in item)) {
    throw new InvalidPayloadError(
      `item ${index}: expected {id?, payload}, got ${item === null ? "null" : typeof item}`,
    );
  }
  if (item.id === undefined) return "";
  if (typeof item.id !== "string" || !CALLER_ID.test(item.id)) {
    throw new InvalidItemIdError(
      `item ${index}: id ${JSON.stringify(item.id)} is not allowed: use 1 to 256 characters without control characters, not starting with '#' (reserved for generated ids)`,
    );
  }
  return item.id;
}

/**
 * Why JSON would not hold `value` as it is (in an array when `inArray`), or
 * undefined; `original`: the value before its toJSON.
 */
function lossOf(value: unknown, original: unknown, inArray: boolean): string | undefined {
  if (original instanceof Date && Number.isNaN(original.getTime())) {
    return "is an invalid Date, which JSON stores as null";
  }
  const n = value instanceof Number ? value.valueOf() : value;
  if (typeof n === "number" && !Number.isFinite(n)) {
    return `is ${n}, which JSON cannot hold (it would be stored as null)`;
  }
  if (typeof value === "bigint") return "is a BigInt (give it as a string)";
  if (inArray && (value === undefined || typeof value === "function" || typeof value === "symbol")) {
    const what = value === undefined ? "undefined (or a hole)" : `a ${typeof value}`;
    return `is ${what}, which JSON stores as null in an array`;
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function pathSegment(holder: unknown, key: string): string {
  if (Array.isArray(holder)) return `[${key}]`;
  if (IDENTIFIER.test(key) && key.length <= 40) return `.${key}`;
  return `[${JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key)}]`;
}

/** The first value of `payload` JSON would not hold, with its path (`payload.a[2]`), or undefined. */
function payloadLoss(payload: unknown): { path: string; problem: string } | undefined {
  const paths = new Map<object, string>();
  let found: { path: string; problem: string } | undefined;
  const stop = new Error("stop");
  try {
    JSON.stringify(payload, function (this: unknown, key: string, value: unknown) {
      // the first call has the wrapper {"": payload} as its holder, which has no path
      const parent = typeof this === "object" && this !== null ? paths.get(this) : undefined;
      const path = parent === undefined ? "payload" : parent + pathSegment(this, key);
      const holder = this as Record<string, unknown>;
      const problem = lossOf(value, holder[key], parent !== undefined && Array.isArray(this));
      if (problem !== undefined) {
        found = { path, problem };
        throw stop;
      }
      // stringify descends into `value` right after this call: its children's paths start here
      if (typeof value === "object" && value !== null) paths.set(value, path);
      return value;
    });
  } catch (err) {
    if (err !== stop) return undefined;
  }
  return found;
}

function encodePayload(item: EnqueueItem, index: number, maxPayloadBytes: number): string {
  let payload: string | undefined;
  try {
    payload = JSON.stringify(item.payload);
  } catch (err) {
    // a BigInt: say where it is
    const loss = payloadLoss(item.payload);
    const why = loss ? `${loss.path} ${loss.problem}` : (err as Error).message;
    throw new InvalidPayloadError(`item ${index}: payload is not JSON-serialisable: ${why}`, { cause: err });
  }
  if (payload === undefined) {
    throw new InvalidPayloadError(`item ${index}: payload is not JSON-serialisable (${typeof item.payload})`);
  }
  if (payload.includes("null")) {
    const loss = payloadLoss(item.payload);
    if (loss) throw new InvalidPayloadError(`item ${index}: ${loss.path} ${loss.problem}`);
  }
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × length: count bytes only when it can matter
  const bytes = payload.length > maxPayloadBytes / 3 ? Buffer.byteLength(payload) : payload.length;
  if (bytes > maxPayloadBytes) {
    throw new PayloadTooLargeError(
      `item ${index}: payload is ${Buffer.byteLength(payload)} bytes of JSON, more than maxPayloadBytes ${maxPayloadBytes}`,
    );
  }
  return payload;
}

export function encodeItems(items: EnqueueItem[], maxPayloadBytes: number): EncodedItems {
  if (!Array.isArray(items)) throw new InvalidArgumentError("enqueue expects an array of {id?, payload}");
  const n = items.length;
  const ids = new Array<string>(n);
  const payloads = new Array<string>(n);
  let callerIds = 0;
  let orderKeys: string[] | undefined;
  for (let i = 0; i < n; i++) {
    const item = items[i] as EnqueueItem;
    const id = checkId(item, i);
    if (id !== "") callerIds++;
    ids[i] = id;
    payloads[i] = encodePayload(item, i, maxPayloadBytes);
    const key = checkKey(item, i);
    if (key !== "") {
      orderKeys ??= new Array<string>(n).fill("");
      orderKeys[i] = key;
    }
  }
  return orderKeys ? { ids, payloads, callerIds, orderKeys } : { ids, payloads, callerIds };
}
