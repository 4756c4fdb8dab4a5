/**
 * Load metrics of this host for its heartbeat: the 1-minute load average
 * normalised by cores, the CPU busy share sampled with os-utils (a
 * one-second sample, repeated in the background), and free memory. A load
 * file (for drills and tests) overrides load and CPU with the number it holds.
 */
import { readFileSync } from "node:fs";
import { cpus, freemem, loadavg, totalmem } from "node:os";
import type { HostLoad } from "@batchjob/core";
import osUtils from "os-utils";

export class LoadProbe {
  private cpu = 0;
  private running = false;

  constructor(private readonly loadFile?: string) {}

  /** Starts sampling the CPU share in the background. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const sample = () => {
      if (!this.running) return;
      osUtils.cpuUsage((share) => {
        this.cpu = Number.isFinite(share) ? share : 0;
        sample();
      });
    };
    sample();
  }

  stop(): void {
    this.running = false;
  }

  read(): HostLoad {
    const override = this.readOverride();
    const cores = Math.max(1, cpus().length);
    return {
      loadAvg: override ?? (loadavg()[0] ?? 0) / cores,
      cpu: override ?? this.cpu,
      freeMemBytes: freemem(),
      totalMemBytes: totalmem(),
    };
  }

  private readOverride(): number | undefined {
    if (!this.loadFile) return undefined;
    try {
      const n = Number(readFileSync(this.loadFile, "utf8").trim());
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }
}
