/**
 * Memory of a child process from Linux /proc/<pid>/status: VmRSS (now) and
 * VmHWM (its peak since start or since `resetPeak`). Reads are synchronous:
 * /proc is served from kernel memory and never waits on a disk. Elsewhere,
 * or once the process is gone, every read answers null.
 */
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";

export interface ProcMemory {
  rssBytes: number;
  peakBytes: number;
}

function kbField(status: string, name: string): number | null {
  const at = status.indexOf(name);
  if (at < 0) return null;
  const m = /^:\s*(\d+)\s*kB/.exec(status.slice(at + name.length, at + name.length + 40));
  return m?.[1] ? Number(m[1]) * 1024 : null;
}

/** VmRSS and VmHWM come in the first 2 KB of status; one read into this buffer gets them. */
const statusBuf = Buffer.alloc(8192);

/**
 * RSS and peak RSS of `pid`, or null (no /proc, process gone, a zombie).
 * One open, read and close: readFileSync's extra stat and reads doubled the
 * cost of a chunk's memory checks where /proc is slow (a sandboxed kernel).
 */
export function readProcMemory(pid: number): ProcMemory | null {
  let status: string;
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/status`, "r");
    status = statusBuf.toString("latin1", 0, readSync(fd, statusBuf, 0, statusBuf.length, 0));
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  const rssBytes = kbField(status, "VmRSS");
  if (rssBytes === null) return null;
  return { rssBytes, peakBytes: kbField(status, "VmHWM") ?? rssBytes };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0); false when not possible. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Samples a pid at once and then every `intervalMs` on an unref'd timer, and
 * keeps the highest peak seen; `onSample` may act on each timed sample (e.g.
 * kill above a limit). The first sample is taken in the constructor (or given
 * to it), so a process that dies before the first tick still has a peak.
 */
export class MemoryPoller {
  peakBytes: number | null = null;
  private readonly timer: NodeJS.Timeout;

  /** `first`: a reading just taken, used instead of the first sample. */
  constructor(
    private readonly pid: number,
    intervalMs: number,
    private readonly onSample?: (m: ProcMemory) => void,
    first?: ProcMemory | null,
  ) {
    this.record(first === undefined ? readProcMemory(pid) : first);
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  /** Keeps the peak of a reading taken elsewhere (a /proc read, or an RSS the process reported itself). */
  record(m: ProcMemory | null): void {
    if (m !== null && (this.peakBytes === null || m.peakBytes > this.peakBytes)) this.peakBytes = m.peakBytes;
  }

  /** Takes one sample now; null when the process cannot be read. */
  sample(): ProcMemory | null {
    const m = readProcMemory(this.pid);
    if (m === null) return null;
    this.record(m);
    this.onSample?.(m);
    return m;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
