/**
 * The http launcher against a real node:http server on port 0: signed
 * requests, results in the response, bad statuses, bodies and connections,
 * timeout and abort; and examples/http-receiver.mjs refusing a wrong secret.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { createLogger, ErrorCode, type LauncherSpec } from "@batchjob/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import type { RunContext } from "../src/launchers/types.js";
import { signRequest, verifySignature } from "../src/signature.js";
import { jsonBatchOf } from "./fixtures/batches.js";
import { captureLog, logged } from "./fixtures/capture-log.js";

const log = createLogger("test", { level: "silent" });
const SECRET = "a-test-secret-of-32-characters!!";
const RECEIVER = fileURLToPath(new URL("../../../examples/http-receiver.mjs", import.meta.url));

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}
type Handler = (req: Received, res: ServerResponse) => void;

const servers: Server[] = [];
const receivers: ChildProcess[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  for (const p of receivers.splice(0)) {
    if (p.exitCode === null && p.signalCode === null) {
      const exited = once(p, "exit");
      p.kill("SIGTERM");
      await exited;
    }
  }
});

/** A server on a free loopback port; `received` collects each request. */
async function serve(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (p: Buffer) => parts.push(p));
    req.on("end", () => {
      const r = { headers: req.headers, body: Buffer.concat(parts).toString("utf8") };
      received.push(r);
      handler(r, res);
    });
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/chunks`, received };
}

const json = (res: ServerResponse, status: number, doc: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(doc));

async function httpOf(url: string, fields: Partial<Extract<LauncherSpec, { kind: "http" }>> = {}, logger = log) {
  const spec: LauncherSpec = { kind: "http", url, secret: SECRET, timeoutMs: 10_000, ...fields };
  return createLauncher(spec, { jobType: "test", baseDir: ".", log: logger });
}

const ctx = (signal = new AbortController().signal, logger = log): RunContext => ({ signal, log: logger });

describe("http launcher", () => {
  it("POSTs the chunk signed with HMAC-SHA256 and takes the results of a 2xx answer", async () => {
    const { url, received } = await serve((req, res) => {
      const check = verifySignature({
        secret: SECRET,
        timestamp: req.headers["x-batchjob-timestamp"] as string,
        signature: req.headers["x-batchjob-signature"] as string,
        body: req.body,
      });
      if (!check.ok) return json(res, 401, check);
      const chunk = JSON.parse(req.body) as { items: { id: string }[] };
      json(res, 200, { results: chunk.items.map((i) => ({ id: i.id, ok: true })) });
    });
    const launcher = await httpOf(url, { headers: { Authorization: "Bearer t", "X-Batchjob-Chunk-Id": "spoofed" } });
    const batch = jsonBatchOf([{ a: 1 }, { b: 2 }]);
    const report = await launcher.run(batch, ctx());
    await launcher.close();

    expect(launcher.kind).toBe("http");
    expect([...report.results.entries()]).toEqual([
      ["item-0", { ok: true }],
      ["item-1", { ok: true }],
    ]);
    expect(report).toMatchObject({ unreported: { ok: true }, peakMemoryBytes: null });
    expect(report.fatal).toBeUndefined();
    const [req] = received;
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["x-batchjob-chunk-id"]).toBe(batch.id);
    expect(req?.headers.authorization).toBe("Bearer t");
    expect(JSON.parse(req?.body ?? "")).toEqual({
      chunkId: batch.id,
      jobType: "test",
      items: [
        { id: "item-0", payload: { a: 1 }, attempts: 0 },
        { id: "item-1", payload: { b: 2 }, attempts: 0 },
      ],
    });
  });

  it("keeps each item's own outcome in a partial failure", async () => {
    const { url } = await serve((_req, res) =>
      json(res, 200, {
        results: [
          { id: "item-0", ok: true },
          { id: "item-1", ok: false, error: "bad input", retry: false },
          { id: "item-2", ok: false, error: "busy", delayMs: 1000 },
        ],
      }),
    );
    const launcher = await httpOf(url);
    const report = await launcher.run(jsonBatchOf([1, 2, 3, 4]), ctx());
    expect(report.results.get("item-0")).toEqual({ ok: true });
    expect(report.results.get("item-1")).toEqual({ ok: false, error: "bad input", retry: false });
    expect(report.results.get("item-2")).toEqual({ ok: false, error: "busy", delayMs: 1000 });
    expect(report.results.has("item-3")).toBe(false);
    expect(report.unreported).toEqual({ ok: true });
  });

  it("takes an empty 2xx answer as every item done, without a warning", async () => {
    const { url } = await serve((_req, res) => res.writeHead(204).end());
    const { log: capture, records } = captureLog();
    const launcher = await httpOf(url, {}, capture);
    const report = await launcher.run(jsonBatchOf([1]), ctx(undefined, capture));
    expect(report.results.size).toBe(0);
    expect(report.unreported).toEqual({ ok: true });
    expect(records).toEqual([]);
  });

  it("warns with BJ_ERR_LAUNCHER_OUTPUT about a 2xx body that is not JSON or holds unknown ids", async () => {
    const { url } = await serve((req, res) => {
      if (JSON.parse(req.body).items.length === 1) res.writeHead(200).end("<html>OK</html>");
      else
        json(res, 200, {
          results: [
            { id: "item-0", ok: true },
            { id: "intruder", ok: true },
          ],
        });
    });
    const { log: capture, records } = captureLog();
    const launcher = await httpOf(url, {}, capture);
    const first = await launcher.run(jsonBatchOf([1]), ctx(undefined, capture));
    const second = await launcher.run(jsonBatchOf([1, 2]), ctx(undefined, capture));
    expect(first.unreported).toEqual({ ok: true });
    expect([...second.results.keys()]).toEqual(["item-0"]);
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings.map((w) => w.msg)).toEqual([
      expect.stringContaining("not JSON: <html>OK</html>"),
      expect.stringContaining('unknown item id "intruder"'),
    ]);
  });

  it("fails the items, retried and not fatal, on a non-2xx status, with the start of the body", async () => {
    const { url } = await serve((_req, res) => res.writeHead(503).end(`overloaded ${"x".repeat(300)}`));
    const launcher = await httpOf(url);
    const report = await launcher.run(jsonBatchOf([1, 2]), ctx());
    expect(report.fatal).toBeUndefined();
    expect(report.unreported).toEqual({
      ok: false,
      error: `HTTP 503: overloaded ${"x".repeat(200 - "overloaded ".length)}`,
      retry: true,
    });
  });

  it("reports crashed when the receiver cannot be reached", async () => {
    const { url } = await serve(() => {});
    const server = servers.pop();
    await new Promise((resolve) => server?.close(resolve));
    const launcher = await httpOf(url);
    const report = await launcher.run(jsonBatchOf([1]), ctx());
    expect(report.fatal).toEqual({ reason: "crashed", error: `cannot reach ${url}: ECONNREFUSED` });
    expect(report.unreported).toEqual({ ok: false, error: `cannot reach ${url}: ECONNREFUSED`, retry: true });
  });

  it("reports fatal timeout when no answer comes within timeoutMs", async () => {
    const { url, received } = await serve(() => {}); // never answers
    const launcher = await httpOf(url, { timeoutMs: 300 });
    const report = await launcher.run(jsonBatchOf([1]), ctx());
    expect(received).toHaveLength(1);
    expect(report.fatal).toEqual({ reason: "timeout", error: "timed out after 300 ms" });
    expect(report.unreported).toEqual({ ok: false, error: "timed out after 300 ms", retry: true });
  });

  it("aborts the request when ctx.signal aborts", async () => {
    const { url, received } = await serve(() => {}); // never answers
    const abort = new AbortController();
    const launcher = await httpOf(url);
    const running = launcher.run(jsonBatchOf([1]), ctx(abort.signal));
    await vi.waitFor(() => expect(received).toHaveLength(1), { interval: 5 });
    abort.abort(new Error("shutting down"));
    const report = await running;
    expect(report.fatal).toBeUndefined();
    expect(report.unreported).toEqual({ ok: false, error: "aborted: shutting down", retry: true });
  });

  describe("examples/http-receiver.mjs", () => {
    async function startReceiver(): Promise<string> {
      const proc = spawn(process.execPath, [RECEIVER], {
        env: { ...process.env, PORT: "0", BATCHJOB_SECRET: SECRET },
        stdio: ["ignore", "pipe", "inherit"],
      });
      receivers.push(proc);
      let out = "";
      proc.stdout.setEncoding("utf8");
      for await (const part of proc.stdout) {
        out += part;
        const m = /listening on port (\d+)/.exec(out);
        if (m) return `http://127.0.0.1:${m[1]}/`;
      }
      throw new Error(`the receiver exited before listening: ${out}`);
    }

    it("answers the results of a correctly signed chunk", async () => {
      const url = await startReceiver();
      const launcher = await httpOf(url);
      const report = await launcher.run(jsonBatchOf([{}, { fail: "nope" }]), ctx());
      expect([...report.results.entries()]).toEqual([
        ["item-0", { ok: true }],
        ["item-1", { ok: false, error: "nope" }],
      ]);
      expect(report.unreported).toEqual({ ok: true });
    });

    it("refuses a chunk signed with another secret: 401, items retried", async () => {
      const url = await startReceiver();
      const launcher = await httpOf(url, { secret: "another-secret-of-32-characters!" });
      const report = await launcher.run(jsonBatchOf([1]), ctx());
      expect(report.results.size).toBe(0);
      expect(report.unreported).toEqual({
        ok: false,
        error: 'HTTP 401: {"error":"signature mismatch"}',
        retry: true,
      });
    });

    it("refuses a request without a signature, and a correctly signed one that is stale", async () => {
      const url = await startReceiver();
      const body = JSON.stringify({ chunkId: "c", jobType: "test", items: [] });
      const unsigned = await fetch(url, { method: "POST", body });
      expect(unsigned.status).toBe(401);
      expect(await unsigned.json()).toEqual({ error: "missing or malformed timestamp" });

      const old = Date.now() - 301_000;
      const headers = { "x-batchjob-timestamp": String(old), "x-batchjob-signature": signRequest(SECRET, old, body) };
      const stale = await fetch(url, { method: "POST", body, headers });
      expect(stale.status).toBe(401);
      expect(await stale.json()).toEqual({ error: "stale timestamp" });
    });
  });
});
