/**
 * This host's dispatch inbox: a BullMQ queue that the manager adds "start a
 * worker of type T" messages (reservations) to. BullMQ carries these few
 * control messages; the item queues carry the data. On close, the
 * reservations of messages still waiting are dropped, so the manager plans
 * those starts again; they held no item. Every BullMQ object here has an
 * error listener: its errors go to the log as JSON, never raw to stderr.
 */
import {
  type Acquirer,
  DISPATCH_JOB_NAME,
  type Keys,
  type Logger,
  parseDispatchMessage,
  type RedisClient,
} from "@batchjob/core";
import { Queue, Worker } from "bullmq";
import type { WorkerPool } from "./pool.js";

export class Inbox {
  private worker: Worker | undefined;

  constructor(
    private readonly connection: RedisClient,
    private readonly keys: Keys,
    private readonly hostId: string,
    private readonly pool: WorkerPool,
    private readonly queue: Pick<Acquirer, "claim">,
    private readonly log: Logger,
  ) {}

  get queueName(): string {
    return this.keys.inbox(this.hostId);
  }

  async open(): Promise<void> {
    this.worker = new Worker(
      this.queueName,
      async (job) => {
        if (job.name !== DISPATCH_JOB_NAME) throw new Error(`unknown inbox message ${job.name}`);
        const m = parseDispatchMessage(job.data);
        const result = await this.pool.start(m.jobType, m.reservationId);
        this.log.debug({ jobType: m.jobType, reservationId: m.reservationId, result }, "dispatch handled");
        return result;
      },
      { connection: this.connection, prefix: this.keys.bullPrefix, concurrency: 1, autorun: true },
    );
    this.worker.on("error", (err) => this.log.warn({ err }, "inbox connection error"));
    this.worker.on("failed", (job, err) => this.log.error({ err, data: job?.data }, "dispatch message failed"));
    await this.worker.waitUntilReady();
  }

  /** Stops taking messages; the reservations of messages still waiting are dropped; the inbox is removed. */
  async close(): Promise<void> {
    await this.worker?.close();
    this.worker = undefined;
    const q = new Queue(this.queueName, { connection: this.connection, prefix: this.keys.bullPrefix });
    // the shared connection's errors, logged by its owner; without a listener BullMQ prints them raw
    q.on("error", (err) => this.log.debug({ err: err.message }, "inbox queue error while closing"));
    try {
      const waiting = await q.getJobs(["wait", "delayed", "prioritized"]);
      for (const job of waiting) {
        try {
          const m = parseDispatchMessage(job.data);
          await this.queue.claim(m.jobType, m.reservationId);
        } catch (err) {
          this.log.warn({ err, data: job.data }, "could not drop the reservation of an undelivered dispatch");
        }
      }
      await q.obliterate({ force: true });
    } finally {
      await q.close();
    }
  }
}
