/**
 * Sends "start a worker of type T" (a reservation) to a host's inbox (a
 * BullMQ queue of that host), and lists the dispatches a host has not taken
 * yet (when it died). One BullMQ Queue object per host, kept open; each
 * sends its errors (a Redis outage) to the logger, never raw to stderr.
 */
import {
  DISPATCH_JOB_NAME,
  type DispatchMessage,
  type Keys,
  type Logger,
  parseDispatchMessage,
  type RedisClient,
} from "@batchjob/core";
import { Queue } from "bullmq";

/** An error as one line for the log (a connection error's stack says nothing more). */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Dispatcher {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: RedisClient,
    private readonly keys: Keys,
    private readonly from: string,
    /** Where the inbox queues' errors go (debug). @defaultValue none: they are dropped */
    private readonly log?: Logger,
  ) {}

  private inbox(hostId: string): Queue {
    let q = this.queues.get(hostId);
    if (!q) {
      q = new Queue(this.keys.inbox(hostId), { connection: this.connection, prefix: this.keys.bullPrefix });
      // without a listener BullMQ prints each error raw to stderr; these are the shared
      // connection's errors, which its owner logs once (openDaemon): one line per queue would flood
      q.on("error", (err) => this.log?.debug({ err: errorText(err), hostId }, "dispatch inbox error"));
      this.queues.set(hostId, q);
    }
    return q;
  }

  /** Adds the dispatch to the host's inbox; resolves once it is stored in Redis. */
  async dispatch(hostId: string, m: { jobType: string; reservationId: string }): Promise<void> {
    const message: DispatchMessage = { kind: "start-worker", ...m, from: this.from, sentAt: Date.now() };
    await this.inbox(hostId).add(DISPATCH_JOB_NAME, message, {
      jobId: m.reservationId,
      removeOnComplete: true,
      removeOnFail: 1000,
    });
  }

  /** Dispatches a host has not taken yet. */
  async undelivered(hostId: string): Promise<DispatchMessage[]> {
    const jobs = await this.inbox(hostId).getJobs(["wait", "delayed", "prioritized"]);
    const out: DispatchMessage[] = [];
    for (const j of jobs) {
      try {
        out.push(parseDispatchMessage(j.data));
      } catch {
        // not ours; it is removed with the inbox
      }
    }
    return out;
  }

  /** Removes a (dead) host's inbox and what is left in it. */
  async removeInbox(hostId: string): Promise<void> {
    const q = this.inbox(hostId);
    await q.obliterate({ force: true });
    await q.close();
    this.queues.delete(hostId);
  }

  /** Closes the inbox queues of hosts no longer alive (host ids carry a pid: they do not come back). */
  async keepOnly(alive: ReadonlySet<string>): Promise<void> {
    const gone = [...this.queues].filter(([hostId]) => !alive.has(hostId));
    for (const [hostId] of gone) this.queues.delete(hostId);
    await Promise.all(gone.map(([, q]) => q.close()));
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
