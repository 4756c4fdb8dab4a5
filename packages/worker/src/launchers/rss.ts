/**
 * The process's resident set size, read at most once per RSS_FRESH_MS: a
 * read is a /proc file read (20–50 µs), and a worker of one-item chunks took
 * two per chunk, a fifth of its CPU (#12). A chunk's peak is a sample
 * anyway (every 100 ms while it runs); a value up to RSS_FRESH_MS old misses
 * at most what a job touched within those milliseconds, and memory still
 * held shows in the next read.
 */
const RSS_FRESH_MS = 5;

let readAt = Number.NEGATIVE_INFINITY;
let last = 0;

export function rss(): number {
  const now = performance.now();
  if (now - readAt >= RSS_FRESH_MS) {
    last = process.memoryUsage.rss();
    readAt = now;
  }
  return last;
}
