/**
 * Checks and encodes the items of an enqueue before anything is written:
 * ids (caller ids dedupe; no control characters, not starting with '#',
 * which generated ids use) and payloads (JSON-serialisable, at most
 * maxPayloadBytes). One bad item fails the whole call, naming its index.
 */
import { InvalidItemIdError, InvalidPayloadError, PayloadTooLargeError } from "./errors.js";
import type { EnqueueItem } from "./queue-contracts.js";

// an entry is `<id>\t<payload>`, and ids show in logs and the CLI
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class excludes control characters on purpose
const CALLER_ID = /^[^#\x00-\x1f\x7f][^\x00-\x1f\x7f]{0,255}$/;

export interface EncodedItems {
  /** Caller ids, '' where an id is to be generated. */
  ids: string[];
  payloads: string[];
  callerIds: number;
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

function encodePayload(item: EnqueueItem, index: number, maxPayloadBytes: number): string {
  let payload: string | undefined;
  try {
    payload = JSON.stringify(item.payload);
  } catch (err) {
    throw new InvalidPayloadError(`item ${index}: payload is not JSON-serialisable: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (payload === undefined) {
    throw new InvalidPayloadError(`item ${index}: payload is not JSON-serialisable (${typeof item.payload})`);
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
  const n = items.length;
  const ids = new Array<string>(n);
  const payloads = new Array<string>(n);
  let callerIds = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i] as EnqueueItem;
    const id = checkId(item, i);
    if (id !== "") callerIds++;
    ids[i] = id;
    payloads[i] = encodePayload(item, i, maxPayloadBytes);
  }
  return { ids, payloads, callerIds };
}
