/** /healthz and /readyz: 200 while Redis answers PING, 503 within the bound once it is down, 200 again when back. */
import { describe, expect, it } from "vitest";
import { startRedisServer } from "../../../test/harness/index.js";
import { jsonOf, testServer } from "./serve.js";

describe("http server: probes", () => {
  it("/healthz and /readyz answer 503 with why when Redis is down, and need no token", async () => {
    const redis = await startRedisServer();
    try {
      let stopping = false;
      const t = await testServer(
        { token: "probe-token", healthTimeoutMs: 500, ready: () => (stopping ? "the daemon is stopping" : null) },
        redis.url,
      );
      expect(await jsonOf(t.get("/healthz"))).toEqual({ ok: true });
      expect((await t.get("/readyz")).status).toBe(200);
      stopping = true;
      const notReady = await t.get("/readyz");
      expect(notReady.status).toBe(503);
      expect(await jsonOf(notReady)).toEqual({ ok: false, error: "the daemon is stopping" });
      expect((await t.get("/healthz")).status).toBe(200);
      stopping = false;

      await redis.kill("SIGKILL");
      const started = performance.now();
      const down = await t.get("/healthz");
      expect(down.status).toBe(503);
      expect((await jsonOf(down)).error).toMatch(/^Redis did not answer PING/);
      // the bound (500 ms) plus slack for a loaded machine: never the client's own long timeouts
      expect(performance.now() - started).toBeLessThan(3000);
      expect((await t.get("/readyz")).status).toBe(503);

      await redis.restart();
      await expect.poll(async () => (await t.get("/healthz")).status, { timeout: 15_000, interval: 100 }).toBe(200);
      await t.close();
    } finally {
      await redis.stop();
    }
  });
});
