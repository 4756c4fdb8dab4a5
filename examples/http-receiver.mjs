#!/usr/bin/env node
// A minimal receiver for batchjob's http launcher. It checks each request's
// HMAC signature (the algorithm of packages/worker/src/signature.ts: keep the
// two in sync), answers 401 when it is missing, wrong or stale, and otherwise
// runs a trivial job on the chunk and answers {"results": [...]}.
// Usage: BATCHJOB_SECRET=<the launcher's secret> PORT=8080 node examples/http-receiver.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const secret = process.env.BATCHJOB_SECRET;
if (!secret) {
  console.error("http-receiver: set BATCHJOB_SECRET to the secret of the http launcher");
  process.exit(1);
}
const TOLERANCE_MS = 300_000;
const MAX_BODY = 16 * 1024 * 1024;

/** Why the request is refused, or null when its signature holds. */
function refusal(timestamp, signature, body) {
  if (!/^\d{1,16}$/.test(timestamp ?? "")) return "missing or malformed timestamp";
  if (Math.abs(Date.now() - Number(timestamp)) > TOLERANCE_MS) return "stale timestamp";
  const m = /^sha256=([0-9a-f]{64})$/.exec(signature ?? "");
  if (!m) return "missing or malformed signature";
  const expected = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(m[1], "hex")) ? null : "signature mismatch";
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
    const problem = refusal(req.headers["x-batchjob-timestamp"], req.headers["x-batchjob-signature"], body);
    if (problem) return answer(res, 401, { error: problem });
    let chunk;
    try {
      chunk = JSON.parse(body.toString("utf8"));
    } catch {
      return answer(res, 400, { error: "the body is not JSON" });
    }
    answer(res, 200, { results: work(chunk) });
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
