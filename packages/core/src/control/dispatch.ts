/**
 * The dispatch protocol between manager and worker daemons: "start a worker
 * of job type T" under a reservation id, carried by BullMQ through one inbox
 * queue per host. Nothing is leased for it: the worker acquires its chunks
 * itself once it runs. Both sides depend on this module, never on each other.
 */
import { InvalidArgumentError } from "../errors.js";
import { assertJobTypeName } from "../keys.js";

export interface DispatchMessage {
  kind: "start-worker";
  jobType: string;
  /** Names this start in `bj:{T}:reserved` until a worker takes it (the manager counts it as starting till then). */
  reservationId: string;
  /** Manager that sent it. */
  from: string;
  /** ms since epoch (sender's clock; display only). */
  sentAt: number;
}

/** The BullMQ job name of a dispatch. */
export const DISPATCH_JOB_NAME = "start-worker";

/** Host ids become queue names and key parts: [A-Za-z0-9._-], at most 100 characters. */
export function sanitizeHostId(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 100);
  if (!s) throw new InvalidArgumentError(`host id ${JSON.stringify(raw)} is empty once sanitised`);
  return s;
}

/** Validates a message read from an inbox; throws naming the bad field. */
export function parseDispatchMessage(data: unknown): DispatchMessage {
  const m = data as Partial<DispatchMessage> | null;
  if (!m || typeof m !== "object") throw new InvalidArgumentError("dispatch message: expected an object");
  if (m.kind !== "start-worker") throw new InvalidArgumentError(`dispatch message: unknown kind ${String(m.kind)}`);
  assertJobTypeName(m.jobType);
  if (typeof m.reservationId !== "string" || m.reservationId.length === 0) {
    throw new InvalidArgumentError("dispatch message: reservationId must be a non-empty string");
  }
  return {
    kind: "start-worker",
    jobType: m.jobType,
    reservationId: m.reservationId,
    from: String(m.from ?? "unknown"),
    sentAt: Number(m.sentAt ?? 0),
  };
}
