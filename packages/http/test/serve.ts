/** Test helpers: an HTTP server on a fresh prefix of the run's Redis, dead items to act on, Prometheus text parsed. */
import type { BatchQueue } from "@batchjob/core";
import { track } from "../../../test/harness/index.js";
import { testQueue } from "../../../test/harness/queue.js";
import { type HttpServerOptions, startHttpServer } from "../src/index.js";

/** A server on 127.0.0.1 (a free port) over a fresh queue; closed after the test. */
export async function testServer(options: Partial<HttpServerOptions> = {}, url?: string) {
  const q = testQueue(url ? { url } : {});
  const server = await startHttpServer({
    listen: "127.0.0.1:0",
    source: { client: q.client, keys: q.keys, queue: q.queue, config: undefined },
    ...options,
  });
  let open = true;
  const closeServer = async () => {
    open = false;
    await server.close();
  };
  track(`http server ${server.url}`, () => open, closeServer);
  /** Closes the server, then the queue's connection (call it at the end of the test). */
  const close = async () => {
    await closeServer();
    await q.close();
  };
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });
  const post = (path: string, headers: Record<string, string> = { "X-Batchjob-Action": "1" }, body?: string) =>
    fetch(`${server.url}${path}`, { method: "POST", headers, ...(body === undefined ? {} : { body }) });
  return { ...q, server, get, post, close };
}

/** Enqueues `n` items of `type` and lets them die (one attempt, no retry) with `error`. */
export async function killItems(queue: BatchQueue, type: string, n: number, error = "nope"): Promise<void> {
  await queue.enqueue(
    type,
    Array.from({ length: n }, (_, i) => ({ id: `d${i}`, payload: { i } })),
  );
  const b = await queue.acquire(type, { max: n });
  await queue.release(
    type,
    b.id,
    b.items.map((i) => i.id),
    { retry: false, error },
  );
}

/** A JSON response read back for assertions. */
// biome-ignore lint/suspicious/noExplicitAny: the assertions check its shape
export type Json = any;

/** The body of `r` as JSON. */
export async function jsonOf(r: Response | Promise<Response>): Promise<Json> {
  return (await r).json();
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples and `# TYPE`s of Prometheus text; throws on a line that is neither. */
export function parsePrometheus(text: string): { samples: Sample[]; types: Record<string, string> } {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ")) continue;
    const t = /^# TYPE (\w+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t?.[1] && t[2]) {
      types[t[1]] = t[2];
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m?.[1] || m[3] === undefined) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)",?/g)) if (l[1]) labels[l[1]] = l[2] ?? "";
    const value = Number(m[3] === "+Inf" ? Number.POSITIVE_INFINITY : m[3]);
    if (Number.isNaN(value)) throw new Error(`not a number: ${JSON.stringify(line)}`);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types };
}

/** The value of the one sample of `name` with these labels (undefined when absent). */
export function sample(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}
