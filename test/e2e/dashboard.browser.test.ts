/**
 * The dashboard in a real browser (headless Debian chromium through
 * playwright-core) against a live deployment: a manager and a worker daemon
 * serving `inline`, items of `forked` (which no worker serves) pending and
 * dead. The page shows the job types and their counts; a pause click
 * adds the type to the paused SET and the page marks it; a dead-letter retry
 * click moves the dead items back to pending; an error message holding HTML
 * is shown as text; charts and the oldest pending age come from a metrics
 * provider given through the seam. Skipped only where chromium is missing and CI is not set;
 * on CI a missing chromium fails.
 */
import { describe, expect, it } from "vitest";
import { startHttpServer } from "../../packages/http/src/index.js";
import { hasChromium, launchChromium } from "../harness/browser.js";
import { controlFor, e2eConfig, testManager, testWorker } from "../harness/daemons.js";
import { track, waitFor } from "../harness/index.js";

const XSS = `<img src=x onerror="window.__xss=1">`;

/** Tracks a server this test started (a failure cannot leave it listening); returns what stops it. */
function tracked(server: { url: string; close(): Promise<void> }): () => Promise<void> {
  let serving = true;
  const stop = async () => {
    serving = false;
    await server.close();
  };
  track(`http server ${server.url}`, () => serving, stop);
  return stop;
}

describe.skipIf(!hasChromium() && !process.env.CI)("dashboard in a browser", () => {
  it("shows types and counts; pause and dead-letter retry clicks change Redis and the page", async () => {
    const config = await e2eConfig();
    const control = controlFor(config);
    const { queue, client, keys } = control;
    // forked: 7 pending and 3 dead (no worker serves it, so the counts hold still)
    await queue.enqueue(
      "forked",
      Array.from({ length: 7 }, (_, i) => ({ payload: { i } })),
    );
    await queue.enqueue(
      "forked",
      Array.from({ length: 3 }, (_, i) => ({ id: `dead-${i}`, payload: { i } })),
    );
    const held = await queue.acquire("forked", { max: 10 });
    const dying = held.items.filter((i) => i.id.startsWith("dead-")).map((i) => i.id);
    await queue.release("forked", held.id, dying, { retry: false, error: `bad input ${XSS}` });
    await queue.release(
      "forked",
      held.id,
      held.items.filter((i) => !dying.includes(i.id)).map((i) => i.id),
      { retry: true },
    );
    expect(await queue.counts("forked")).toMatchObject({ pending: 7, dead: 3 });
    // inline: a live manager and worker run its items
    const manager = await testManager(config);
    const worker = await testWorker(config, { jobTypes: ["inline"], hostId: "browser-w1" });
    await queue.enqueue(
      "inline",
      Array.from({ length: 20 }, (_, i) => ({ payload: { i } })),
    );
    // an alert the manager recorded (its alerts step): the page shows it on the type
    await client.hset(
      keys.alerts,
      "forked:longWait",
      JSON.stringify({ jobType: "forked", alert: "longWait", value: 9000, threshold: 5000, since: Date.now() }),
    );
    // the per-minute metrics and the oldest pending age: core's, read from Redis (the server's default provider)
    const server = await startHttpServer({ listen: "127.0.0.1:0", source: { client, keys, queue, config } });
    const stopServing = tracked(server);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(`${server.url}/`);
      const row = (type: string) => page.locator(`#types tr[data-type="${type}"]`);
      // the job types and their counts
      await expect.poll(() => row("forked").locator("td.pending").textContent(), { timeout: 15_000 }).toBe("7");
      expect(await row("forked").locator("td.dead").textContent()).toBe("3");
      await expect.poll(() => row("inline").count(), { timeout: 15_000 }).toBe(1);
      await expect.poll(() => row("inline").locator("td.pending").textContent(), { timeout: 30_000 }).toBe("0");
      expect(await page.locator("#prefix").textContent()).toBe(config.prefix);
      // forked's items wait with no worker: their age, from the enqueue marks; inline's done items drawn per minute
      await expect
        .poll(() => row("forked").locator("td.oldest").textContent(), { timeout: 15_000 })
        .toMatch(/^\d+(\.\d+)?\s?(ms|s|m|min)$/);
      await expect
        .poll(() => page.locator('#charts [data-chart="inline"] polyline').count(), { timeout: 15_000 })
        .toBe(2);
      expect(await row("forked").locator('[data-alert="longWait"]').textContent()).toBe("alert: longWait");
      expect(await row("inline").locator("[data-alert]").count()).toBe(0);
      await expect.poll(() => page.locator('#hosts tr[data-host="browser-w1"]').count(), { timeout: 15_000 }).toBe(1);
      // the error that holds HTML is text, and ran nothing
      const deadError = page.locator('#dead [data-dead-type="forked"] td.error').first();
      await expect.poll(() => deadError.textContent(), { timeout: 15_000 }).toContain(`bad input ${XSS}`);
      expect(await page.locator("#dead img").count()).toBe(0);
      expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();

      // pause inline: the paused SET holds it and the page marks it
      await row("inline").locator('button[data-action="pause"]').click();
      await waitFor("inline in the paused set", async () => (await client.smembers(keys.paused)).includes("inline"));
      await expect.poll(() => row("inline").locator("[data-paused]").count(), { timeout: 15_000 }).toBe(1);
      expect(await row("forked").locator("[data-paused]").count()).toBe(0);
      await row("inline").locator('button[data-action="resume"]').click();
      await waitFor("inline resumed", async () => !(await client.smembers(keys.paused)).includes("inline"));
      await expect.poll(() => row("inline").locator("[data-paused]").count(), { timeout: 15_000 }).toBe(0);

      // retry forked's dead letters: back to pending
      await page.locator('#dead [data-dead-type="forked"] button[data-action="retry"]').click();
      await waitFor("the dead items back in pending", async () => (await queue.counts("forked")).dead === 0);
      expect(await queue.counts("forked")).toMatchObject({ pending: 10, dead: 0 });
      await expect.poll(() => row("forked").locator("td.pending").textContent(), { timeout: 15_000 }).toBe("10");
      await expect.poll(() => page.locator('#dead [data-dead-type="forked"]').count(), { timeout: 15_000 }).toBe(0);
      expect(errors, errors.join("\n")).toEqual([]);
    } finally {
      await browser.close();
      await stopServing();
      await worker.stop({ graceMs: 0 });
      await manager.stop();
      await control.close();
    }
  });

  it("with a token: the page asks for it, /?token= leaves a cookie and a clean address, and actions work", async () => {
    const config = await e2eConfig();
    const control = controlFor(config);
    const { queue, client, keys } = control;
    await queue.enqueue("forked", [{ payload: { i: 1 } }]);
    const token = "browser-s3cret";
    const server = await startHttpServer({ listen: "127.0.0.1:0", source: { client, keys, queue, config }, token });
    const stopServing = tracked(server);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const first = await page.goto(`${server.url}/`);
      expect(first?.status()).toBe(401);
      expect(await page.locator("input[name=token]").count()).toBe(1);
      // typed into the form: the server swaps it for the cookie and redirects to /
      await page.locator("input[name=token]").fill(token);
      await page.locator("button[type=submit]").click();
      await page.waitForURL(`${server.url}/`);
      expect(page.url()).not.toContain(token);
      const row = page.locator('#types tr[data-type="forked"]');
      await expect.poll(() => row.locator("td.pending").textContent(), { timeout: 15_000 }).toBe("1");
      const cookies = await browser.context.cookies();
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([["batchjob_session", true, "Strict"]]);
      expect(cookies[0]?.value).not.toContain(token);
      await row.locator('button[data-action="pause"]').click();
      await waitFor("forked in the paused set", async () => (await client.smembers(keys.paused)).includes("forked"));
      // the script cannot read the cookie
      expect(await page.evaluate("document.cookie")).toBe("");
    } finally {
      await browser.close();
      await stopServing();
      await control.close();
    }
  });

  it.runIf(!hasChromium())("fails on CI when chromium is missing", () => {
    throw new Error("no chromium at /usr/bin/chromium on CI: .ci/run installs it (apt-get install -y chromium)");
  });
});
