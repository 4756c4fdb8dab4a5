/**
 * The heartbeat loop: every `heartbeatMs`, writes this host's HostInfo
 * (slots, running workers per type and their ids, served types, load, and
 * when it was taken on this host's clock) to the registry.
 * A failed beat is logged and retried at the next tick; it never stops the daemon.
 */
import { type HostInfo, type HostRegistry, type Logger, VERSION } from "@batchjob/core";
import type { LoadProbe } from "./load.js";

export interface HeartbeatSource {
  hostId: string;
  hostname: string;
  slots: number;
  jobTypes: string[] | null;
  startedAt: string;
  running(): Record<string, number>;
  /** Ids of the workers this host runs, those still leaving the worker list included. */
  workerIds(): string[];
  draining(): boolean;
  /** Workers lingering on an empty queue: their slots are free for a dispatch (#12). */
  lingering(): number;
}

export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly registry: HostRegistry,
    private readonly probe: LoadProbe,
    private readonly source: HeartbeatSource,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  info(): HostInfo {
    const s = this.source;
    return {
      id: s.hostId,
      hostname: s.hostname,
      pid: process.pid,
      slots: s.slots,
      running: s.running(),
      jobTypes: s.jobTypes,
      load: this.probe.read(),
      version: VERSION,
      startedAt: s.startedAt,
      draining: s.draining(),
      workers: s.workerIds(),
      lingering: s.lingering(),
      // the clock of this host's worker list entries: the manager compares the two
      sampledAt: new Date().toISOString(),
    };
  }

  /** Beats once now (awaited), then every interval. */
  async start(): Promise<void> {
    this.probe.start();
    await this.beat();
    this.timer = setInterval(() => {
      this.inFlight = this.beat();
    }, this.intervalMs);
  }

  /** One beat now, e.g. right after the running workers changed; none once stopped. */
  async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.registry.beat(this.info());
    } catch (err) {
      this.log.warn({ err }, "heartbeat failed; retrying at the next tick");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.probe.stop();
    await this.inFlight;
  }
}
