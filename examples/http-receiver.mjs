#!/usr/bin/env node
// A minimal receiver for batchjob's http launcher. It checks each request's
// signature (scheme v1 of packages/worker/src/signature.ts: keep the two in
// sync), answers 401 when it is missing, wrong, stale or replayed, and
// otherwise runs a trivial job on the chunk and answers {"results": [...]}.
//   1. verify: timestamp within 5 minutes, HMAC over timestamp, nonce, chunk id
//      and body with one of the secrets (constant-time), nonce never seen;
//   2. dedupe on the chunk id: a chunk id already done is answered from memory,
//      the job does not run twice (the launcher never sends one chunk id twice);
//   3. run the job (every item idempotent on its id: items come again in new chunks).
// One process keeps its nonces and chunk ids in memory; several behind a load
// balancer need a shared store (RedisReplayGuard of @batchjob/worker does SET NX PX).
// Usage: BATCHJOB_SECRET=<the launcher's secret> [BATCHJOB_OLD_SECRET=<the previous one, during a rotation>]
//        PORT=8080 node examples/http-receiver.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const secrets = [process.env.BATCHJOB_SECRET, process.env.BATCHJOB_OLD_SECRET].filter(Boolean);
if (!process.env.BATCHJOB_SECRET) {
  console.error("http-receiver: set BATCHJOB_SECRET to the secret of the http launcher");
  process.exit(1);
}
const WINDOW_MS = 300_000;
const MAX_BODY = 16 * 1024 * 1024;

/** nonce -> when it may be forgotten (its timestamp has left the window by then; wall clock). */
const nonces = new Map();
/** chunk id -> the answer given, kept as long as nonces. */
const answered = new Map();

function forgetExpired(now) {
  for (const store of [nonces, answered]) {
    for (const [key, entry] of store) if (entry.until <= now) store.delete(key);
  }
}

const header = (req, name) => (typeof req.headers[name] === "string" ? req.headers[name] : "");

/** Why the request is refused, or null when its signature holds and its nonce is new. */
function refusal(req, body) {
  const now = Date.now();
  const timestamp = header(req, "x-batchjob-timestamp");
  const nonce = header(req, "x-batchjob-nonce");
  const chunkId = header(req, "x-batchjob-chunk-id");
  if (!/^\d{1,16}$/.test(timestamp)) return "missing or malformed timestamp";
  if (now - Number(timestamp) > WINDOW_MS) return "stale timestamp";
  if (Number(timestamp) - now > WINDOW_MS) return "timestamp in the future";
  if (!/^[0-9a-f]{32}$/.test(nonce)) return "missing or malformed nonce";
  if (!/^[\x21-\x7e]{1,200}$/.test(chunkId)) return "missing or malformed chunk id";
  const m = /^v1=([0-9a-f]{64})$/.exec(header(req, "x-batchjob-signature"));
  if (!m) return "missing or malformed signature (expected v1=<hex>)";
  const given = Buffer.from(m[1], "hex");
  let match = false;
  for (const secret of secrets) {
    const expected = createHmac("sha256", secret)
      .update(`v1\n${timestamp}\n${nonce}\n${chunkId}\n`)
      .update(body)
      .digest();
    if (timingSafeEqual(expected, given)) match = true;
  }
  if (!match) return "signature mismatch";
  forgetExpired(now);
  if (nonces.has(nonce)) return "replayed request (nonce already seen)";
  // kept until the timestamp has left the window, and one window more in case the clock is stepped back
  nonces.set(nonce, { until: Number(timestamp) + 2 * WINDOW_MS + 1 });
  return null;
}

/** The trivial job: every item succeeds, unless its payload is {"fail": "<why>"}. */
function work(chunk) {
  return chunk.items.map(({ id, payload }) =>
    payload?.fail ? { id, ok: false, error: String(payload.fail) } : { id, ok: true },
  );
}

function answer(res, status, doc) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(doc));
}

const server = createServer((req, res) => {
  if (req.method !== "POST") return answer(res, 405, { error: "use POST" });
  const parts = [];
  let size = 0;
  req.on("data", (part) => {
    size += part.length;
    if (size > MAX_BODY) req.destroy();
    else parts.push(part);
  });
  req.on("end", () => {
    const body = Buffer.concat(parts);
    const problem = refusal(req, body);
    if (problem) return answer(res, 401, { error: problem });
    const chunkId = header(req, "x-batchjob-chunk-id");
    const done = answered.get(chunkId);
    if (done) return answer(res, 200, done.doc);
    let chunk;
    try {
      chunk = JSON.parse(body.toString("utf8"));
    } catch {
      return answer(res, 400, { error: "the body is not JSON" });
    }
    if (chunk.chunkId !== chunkId) return answer(res, 400, { error: "the body's chunkId is not the header's" });
    const doc = { results: work(chunk) };
    answered.set(chunkId, { doc, until: Date.now() + WINDOW_MS * 2 });
    answer(res, 200, doc);
  });
});

server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? "127.0.0.1", () => {
  console.log(`http-receiver listening on port ${server.address().port}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
