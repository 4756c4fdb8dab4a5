/**
 * Entries read back from Redis are parsed one by one: a malformed one is
 * reported with what is wrong with it, never thrown, so the caller can skip
 * and count it (quarantine) instead of failing a whole read.
 */

/** The JSON object in `raw`, or what is wrong with it. */
export function parseEntryObject(raw: string): Record<string, unknown> | string {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return "not JSON";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not an object";
  return v as Record<string, unknown>;
}
