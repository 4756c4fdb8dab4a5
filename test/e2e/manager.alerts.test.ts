/**
 * Alerts (#10 item 4): the leader checks each type's `alerts` thresholds and
 * posts a signed JSON notification to the webhook once per crossing (and
 * once when it clears), records what fires in `keys.alerts`, and tries a
 * notification the webhook refused again at the next check.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { MemoryReplayGuard, makeKeys, verifySignature } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { controlFor, e2eConfig, testManager } from "../harness/daemons.js";
import { waitFor } from "../harness/index.js";

const SECRET = "alert-webhook-secret-0123456789";

interface Received {
  status: number;
  body: { event: string; alert: string; jobType: string; value: number; threshold: number };
  verified: boolean;
}

/** A webhook receiver on a free port: verifies each request and answers 500 to the first `failFirst`. */
async function receiver(failFirst: number) {
  const got: Received[] = [];
  const guard = new MemoryReplayGuard();
  const server = createServer((req: IncomingMessage, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", async () => {
      const raw = Buffer.concat(parts);
      const check = await verifySignature({ secret: SECRET, headers: req.headers, body: raw, replayGuard: guard });
      const status = got.length < failFirst ? 500 : 200;
      got.push({ status, body: JSON.parse(raw.toString()), verified: check.ok });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("alerts", () => {
  it("posts each crossing once, signed; records it; retries a refused post; posts the clear", async () => {
    const hook = await receiver(1);
    const config = await e2eConfig((raw) => {
      const [inline] = raw.jobTypes as Record<string, unknown>[];
      if (inline) Object.assign(inline, { alerts: { longWaitSeconds: 0.3, deadGrowth: 2 }, maxAttempts: 1 });
      raw.manager = { ...(raw.manager as object), alerts: { webhook: hook.url, secret: SECRET, checkEveryMs: 100 } };
    });
    const c = controlFor(config);
    const m = await testManager(config);
    const keys = makeKeys(config.prefix);
    const accepted = (alert: string, event: string) =>
      hook.got.filter((r) => r.status === 200 && r.body.alert === alert && r.body.event === event);
    try {
      // no worker host: the items wait, and their wait crosses 0.3 s
      await c.queue.enqueue("inline", [{ payload: { i: 1 } }, { payload: { i: 2 } }, { payload: { i: 3 } }]);
      await waitFor("the long wait posted and taken", async () => accepted("longWait", "firing").length === 1);
      // the first post was refused (500): the same notification came again at a later check
      expect(hook.got[0]).toMatchObject({ status: 500, body: { alert: "longWait", event: "firing" } });
      expect(JSON.parse((await c.client.hget(keys.alerts, "inline:longWait")) as string)).toMatchObject({
        jobType: "inline",
        alert: "longWait",
        threshold: 300,
      });

      // two items die: the dead growth crosses 2
      for (let i = 0; i < 2; i++) {
        const b = await c.queue.acquire("inline", { max: 1 });
        await c.queue.settle("inline", b.id, { fail: [{ id: b.items[0]?.id as string, error: "x", retry: false }] });
      }
      await waitFor("the dead growth posted", async () => accepted("deadGrowth", "firing").length === 1);
      // checks ran between the two crossings: still one long-wait notification taken
      expect(accepted("longWait", "firing")).toHaveLength(1);
      expect(accepted("deadGrowth", "firing")[0]?.body).toMatchObject({ jobType: "inline", value: 2, threshold: 2 });

      // the last item is taken: the wait clears, posted once, no longer recorded
      const last = await c.queue.acquire("inline", { max: 10 });
      await c.queue.settle("inline", last.id, { ack: last.items.map((i) => i.id) });
      await waitFor("the clear posted", async () => accepted("longWait", "resolved").length === 1);
      expect(await c.client.hexists(keys.alerts, "inline:longWait")).toBe(0);
      expect(hook.got.every((r) => r.verified)).toBe(true);
      // the webhook's secret is not in what the leader published
      const published = (await c.client.get(keys.config)) as string;
      expect(published).toContain("alerts");
      expect(published).not.toContain(SECRET);
    } finally {
      await m.stop();
      await c.close();
      await hook.close();
    }
  });

  it("refuses a webhook with credentials in its URL and a short secret, naming the field", async () => {
    const bad = e2eConfig((raw) => {
      raw.manager = { ...(raw.manager as object), alerts: { webhook: "https://u:p@example.com/h", secret: "short" } };
    });
    await expect(bad).rejects.toThrow(
      /manager\.alerts\.webhook[\s\S]*credentials|credentials[\s\S]*manager\.alerts\.webhook/,
    );
    await expect(bad).rejects.toThrow(/secret: use at least 16 characters/);
  });
});
