/**
 * The http launcher against a real node:http server on port 0: signed
 * requests, results in the response, bad statuses, refused 2xx bodies
 * (malformed, over maxResponseBytes), connections, timeout and abort; and
 * examples/http-receiver.mjs refusing a wrong secret, a stale and a replayed
 * request, and accepting the previous secret during a rotation.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import {
  createLogger,
  ErrorCode,
  type LauncherInput,
  MemoryReplayGuard,
  signRequest,
  verifySignature,
} from "@batchjob/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createLauncher } from "../src/launchers/create.js";
import type { RunContext } from "../src/launchers/types.js";
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

async function httpOf(url: string, fields: Partial<Extract<LauncherInput, { kind: "http" }>> = {}, logger = log) {
  const spec: LauncherInput = { kind: "http", url, secret: SECRET, timeoutMs: 10_000, ...fields };
  return createLauncher(spec, { jobType: "test", baseDir: ".", log: logger });
}

const ctx = (signal = new AbortController().signal, logger = log): RunContext => ({ signal, log: logger });

describe("http launcher", () => {
  it("POSTs the chunk signed with HMAC-SHA256 and takes the results of a 2xx answer", async () => {
    const replayGuard = new MemoryReplayGuard();
    const { url, received } = await serve(async (req, res) => {
      const check = await verifySignature({ secret: SECRET, headers: req.headers, body: req.body, replayGuard });
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
    expect(req?.headers["x-batchjob-nonce"]).toMatch(/^[0-9a-f]{32}$/);
    expect(req?.headers["x-batchjob-signature"]).toMatch(/^v1=[0-9a-f]{64}$/);
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

  it("ignores, with a BJ_ERR_LAUNCHER_OUTPUT warning, results for ids outside the chunk", async () => {
    const { url } = await serve((_req, res) =>
      json(res, 200, {
        results: [
          { id: "item-0", ok: true },
          { id: "intruder", ok: true },
        ],
      }),
    );
    const { log: capture, records } = captureLog();
    const launcher = await httpOf(url, {}, capture);
    const report = await launcher.run(jsonBatchOf([1, 2]), ctx(undefined, capture));
    expect([...report.results.keys()]).toEqual(["item-0"]);
    expect(report.unreported).toEqual({ ok: true });
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings.map((w) => w.msg)).toEqual([expect.stringContaining('unknown item id "intruder"')]);
  });

  it("fails every item, retried, on a 2xx body that is not a result document: nothing is acked", async () => {
    const bodies: [string | Buffer, string][] = [
      ['{"results": [ {"id": ', "not a result document: not JSON ("],
      ["<html>OK</html>", "not a result document: not JSON (Unexpected token"],
      ["{}", 'not a result document: no "results" array'],
      ['{"results": {"item-0": true}}', 'not a result document: "results" must be an array, got an object'],
      ["[]", 'not a result document: expected an object {"results": [...]}, got an array'],
      ["null", 'not a result document: expected an object {"results": [...]}, got null'],
      [
        '{"results": [{"id": "item-0", "ok": true}, {"id": "item-1", "ok": "yes"}]}',
        "not a result document: results[1]: ok must be true or false",
      ],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), "the body is not UTF-8"],
    ];
    const { url } = await serve((req, res) => {
      const n = Number(JSON.parse(req.body).items[0].payload);
      res.writeHead(200, { "content-type": "application/json" }).end(bodies[n]?.[0]);
    });
    const { log: capture, records } = captureLog();
    const launcher = await httpOf(url, {}, capture);
    for (const [n, [body, problem]] of bodies.entries()) {
      const report = await launcher.run(jsonBatchOf([n, n]), ctx(undefined, capture));
      expect(report.results.size, String(body)).toBe(0);
      expect(report.fatal).toBeUndefined();
      expect(report.unreported).toEqual({
        ok: false,
        error: expect.stringContaining(`HTTP 200: refused the answer: ${problem}`),
        retry: true,
      });
    }
    const warnings = logged(records, "warn", { code: ErrorCode.LAUNCHER_OUTPUT });
    expect(warnings).toHaveLength(bodies.length);
    expect(warnings[0]?.msg).toContain('{"results": [ {"id": ');
  });

  it("fails every item when a 2xx body is over maxResponseBytes, declared or streamed; a body at the limit passes", async () => {
    const doc = JSON.stringify({ results: [{ id: "item-0", ok: true }] });
    const { url } = await serve((req, res) => {
      if (JSON.parse(req.body).items[0].payload === "chunked") {
        res.writeHead(200, { "content-type": "application/json" }); // no content-length
        res.write(doc.slice(0, 10));
        res.end(doc.slice(10));
      } else json(res, 200, { results: [{ id: "item-0", ok: true }] });
    });
    for (const shape of ["declared", "chunked"]) {
      const atLimit = await httpOf(url, { maxResponseBytes: doc.length });
      const passed = await atLimit.run(jsonBatchOf([shape]), ctx());
      expect([...passed.results.keys()], shape).toEqual(["item-0"]);
      const under = await httpOf(url, { maxResponseBytes: doc.length - 1 });
      const refused = await under.run(jsonBatchOf([shape]), ctx());
      expect(refused.results.size, shape).toBe(0);
      expect(refused.unreported).toEqual({
        ok: false,
        error: `HTTP 200: refused the answer: the body is over maxResponseBytes (${doc.length - 1} bytes)`,
        retry: true,
      });
    }
  });

  it("stops reading a streamed 2xx body at the default 10 MiB limit: a 64 MiB answer is neither read nor acked", async () => {
    const MiB = 1024 * 1024;
    let written = 0;
    let closed: Promise<unknown> = Promise.resolve();
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      closed = once(res, "close");
      const part = Buffer.alloc(MiB, 0x20);
      const pump = () => {
        while (written < 64 * MiB && !res.destroyed) {
          written += part.length;
          if (!res.write(part)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.write('{"results": [');
      pump();
    });
    const launcher = await httpOf(url);
    const report = await launcher.run(jsonBatchOf([1]), ctx());
    await closed;
    expect(report.results.size).toBe(0);
    expect(report.unreported).toEqual({
      ok: false,
      error: "HTTP 200: refused the answer: the body is over maxResponseBytes (10485760 bytes)",
      retry: true,
    });
    expect(written).toBeLessThan(64 * MiB);
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
    async function startReceiver(env: Record<string, string> = { BATCHJOB_SECRET: SECRET }): Promise<string> {
      const proc = spawn(process.execPath, [RECEIVER], {
        env: { ...process.env, PORT: "0", ...env },
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

    const chunkOf = (chunkId: string, ids: string[]) =>
      JSON.stringify({ chunkId, jobType: "test", items: ids.map((id) => ({ id, payload: {}, attempts: 0 })) });

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

    it("accepts the previous secret during a rotation (BATCHJOB_OLD_SECRET)", async () => {
      const url = await startReceiver({
        BATCHJOB_SECRET: "the-new-secret-of-32-characters!",
        BATCHJOB_OLD_SECRET: SECRET,
      });
      const launcher = await httpOf(url);
      const report = await launcher.run(jsonBatchOf([{}]), ctx());
      expect([...report.results.entries()]).toEqual([["item-0", { ok: true }]]);
    });

    it("refuses a request without a signature, a stale one, a replayed one and a tampered chunk id", async () => {
      const url = await startReceiver();
      const chunkId = "0190f5c2-7a1b-7c3d-8e4f-a1b2c3d4e5f6";
      const body = chunkOf(chunkId, ["a"]);
      const post = async (headers: Record<string, string>) => {
        const res = await fetch(url, { method: "POST", body, headers });
        return { status: res.status, doc: await res.json() };
      };
      expect(await post({})).toEqual({ status: 401, doc: { error: "missing or malformed timestamp" } });

      const old = Date.now() - 301_000;
      expect(await post(signRequest({ secret: SECRET, chunkId, body, timestamp: old }))).toEqual({
        status: 401,
        doc: { error: "stale timestamp" },
      });

      const headers = signRequest({ secret: SECRET, chunkId, body });
      expect(await post(headers)).toEqual({ status: 200, doc: { results: [{ id: "a", ok: true }] } });
      expect(await post(headers)).toEqual({ status: 401, doc: { error: "replayed request (nonce already seen)" } });

      const fresh = signRequest({ secret: SECRET, chunkId, body });
      const tampered = { ...fresh, "x-batchjob-chunk-id": "0190f5c2-7a1b-7c3d-8e4f-a1b2c3d4e5f7" };
      expect(await post(tampered)).toEqual({ status: 401, doc: { error: "signature mismatch" } });
    });

    it("dedupes on the chunk id: a second signed request for a chunk gets the first answer", async () => {
      const url = await startReceiver();
      const chunkId = "0190f5c2-7a1b-7c3d-8e4f-a1b2c3d4e5f6";
      const post = async (body: string) => {
        const res = await fetch(url, { method: "POST", body, headers: signRequest({ secret: SECRET, chunkId, body }) });
        return { status: res.status, doc: await res.json() };
      };
      const first = await post(chunkOf(chunkId, ["a"]));
      expect(first).toEqual({ status: 200, doc: { results: [{ id: "a", ok: true }] } });
      expect(await post(chunkOf(chunkId, ["b", "c"]))).toEqual(first);
    });
  });
});
