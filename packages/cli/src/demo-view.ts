/**
 * The demo's terminal view, every line within the terminal's width (80
 * columns when not a terminal): where to look from another terminal (the
 * exact `batchjob status --prefix` command), a progress bar per job type
 * with its workers against target and the load level, and the final summary.
 */
import { DEFAULT_REDIS_URL, type QueueCounts, redactUrl, type WorkerHistoryItem } from "@batchjob/core";
import { bytes, table } from "./table.js";
import { DEFAULT_WIDTH, truncate, wrapWords } from "./terminal.js";

export interface TypeProgress {
  name: string;
  launcher: string;
  total: number;
  counts: QueueCounts;
  running: number;
  target: number | null;
}

function bar(fraction: number, width: number): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `${"█".repeat(full)}${"░".repeat(width - full)}`;
}

/**
 * The command that shows the demo from another terminal: `batchjob status
 * --prefix <prefix>`, with REDIS_URL when the demo's Redis is not the
 * default one (a password shown as `***`: the user puts theirs back), and
 * the URL of the dashboard the demo serves on loopback, when it serves one.
 */
export function renderLookHint(
  prefix: string,
  url: string,
  width: number = DEFAULT_WIDTH,
  dashboardUrl?: string,
): string {
  const shown = redactUrl(url);
  const command = `batchjob status --prefix ${prefix}`;
  const lines = ["Look from another terminal:"];
  if (url === DEFAULT_REDIS_URL) lines.push(`  ${command}`);
  else {
    lines.push(`  REDIS_URL=${shown} \\`, `    ${command}`);
    if (shown !== url) lines.push(...wrapWords("  (put the Redis password back where *** stands)", width));
  }
  if (dashboardUrl) lines.push(`or open the dashboard: ${dashboardUrl}/`);
  return lines.join("\n");
}

/** Each type on two lines: its bar and counts, then its workers against target, launcher, retries and dead. */
export function renderProgress(
  types: TypeProgress[],
  level: string,
  hosts: number,
  elapsedMs: number,
  width: number = DEFAULT_WIDTH,
): string {
  const lines = [`batchjob demo  ${(elapsedMs / 1000).toFixed(1)} s  load level ${level}  ${hosts} worker hosts`, ""];
  const w = Math.max(...types.map((t) => t.name.length));
  for (const t of types) {
    const done = t.counts.acked + t.counts.dead;
    const pct = t.total > 0 ? done / t.total : 0;
    lines.push(
      `${t.name.padEnd(w)}  ${bar(pct, 30)} ${String(Math.floor(pct * 100)).padStart(3)}%  ${done.toLocaleString("en-US").padStart(9)}/${t.total.toLocaleString("en-US")}`,
      `${" ".repeat(w + 2)}workers ${t.running}/${t.target ?? "-"}  ${t.launcher}  retried ${t.counts.retried}  dead ${t.counts.dead}`,
    );
  }
  return lines.map((l) => truncate(l, width)).join("\n");
}

export function renderSummary(
  types: TypeProgress[],
  history: WorkerHistoryItem[],
  elapsedMs: number,
  width: number = DEFAULT_WIDTH,
): string {
  const rows = types.map((t) => {
    const hs = history.filter((h) => h.jobType === t.name);
    const start = Math.min(...hs.map((h) => Date.parse(h.createdAt)));
    const end = Math.max(...hs.map((h) => Date.parse(h.finishedAt)));
    const done = hs.reduce((s, h) => s + h.itemsDone, 0);
    const peaks = hs.map((h) => h.peakMemoryBytes).filter((p): p is number => p !== null);
    const span = hs.length > 0 ? Math.max(1, end - start) : 0;
    return [
      t.name,
      t.launcher,
      hs.length,
      hs.reduce((s, h) => s + h.chunks, 0),
      done,
      t.counts.dead,
      span > 0 ? Math.round(done / (span / 1000)) : 0,
      peaks.length > 0 ? bytes(Math.max(...peaks)) : "-",
      [...new Set(hs.map((h) => h.exitReason))].join(","),
    ];
  });
  const total = types.reduce((s, t) => s + t.counts.acked, 0);
  return [
    "Summary from the worker history:",
    table(["TYPE", "KIND", "WORKERS", "CHUNKS", "DONE", "DEAD", "ITEMS/S", "PEAK MEM", "EXITS"], rows, {
      width,
      fixed: ["PEAK MEM"],
    }),
    "(retries are counted above; PEAK MEM: the most one worker used)",
    "",
    ...wrapWords(
      `${total.toLocaleString("en-US")} items done in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(total / (elapsedMs / 1000)).toLocaleString("en-US")} items/s overall).`,
      width,
    ),
  ].join("\n");
}
