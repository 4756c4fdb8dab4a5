/** The server's routes on real Redis over real HTTP: the page and its assets, the JSON API, the actions, the token. */
import { readdirSync, readFileSync } from "node:fs";
import { PausedTypes } from "@batchjob/core";
import { describe, expect, it } from "vitest";
import { escapeHtml } from "../src/dashboard-page.js";
import { COOKIE_NAME, type MinutePoint, startHttpServer, TOKEN_ENV } from "../src/index.js";
import { jsonOf, killItems, testServer } from "./serve.js";

const ACTION = { "X-Batchjob-Action": "1" };

describe("http server: page and API", () => {
  it("serves the dashboard and its assets from the package, with a strict policy and nothing from elsewhere", async () => {
    const t = await testServer({ metrics: undefined });
    const page = await t.get("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'/);
    const html = await page.text();
    expect(html).toContain(`<code id="prefix">${t.prefix}</code>`);
    expect(html).toContain('<script src="/assets/dashboard.js"></script>');
    expect(html).toContain('data-metrics="0"');
    for (const name of ["dashboard.js", "dashboard.css"]) {
      const r = await t.get(`/assets/${name}`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(readFileSync(new URL(`../assets/${name}`, import.meta.url), "utf8"));
    }
    expect((await t.get("/assets/../package.json")).status).toBe(404);
    expect((await t.get("/assets/nope.js")).status).toBe(404);
    // offline: no asset names another host (the SVG namespace is a name, not a fetch)
    for (const f of readdirSync(new URL("../assets/", import.meta.url))) {
      const text = readFileSync(new URL(`../assets/${f}`, import.meta.url), "utf8").replaceAll(
        "http://www.w3.org/2000/svg",
        "",
      );
      expect(text, f).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
    }
    expect(html).not.toMatch(/https?:\/\//);
    await t.close();
  });

  it("escapes what it writes into HTML", () => {
    expect(escapeHtml(`<img src=x onerror="alert('1')">&`)).toBe(
      "&#60;img src=x onerror=&#34;alert(&#39;1&#39;)&#34;&#62;&#38;",
    );
  });

  it("/api/status is the status report with paused per type; /api/workers and a type's dead letters", async () => {
    const t = await testServer();
    await t.queue.enqueue("mail", [{ payload: { to: 1 } }, { payload: { to: 2 } }]);
    await killItems(t.queue, "thumbs", 3, "<b>bad</b> input");
    await new PausedTypes(t.client, t.keys).pause("thumbs");
    const status = await jsonOf(t.get("/api/status"));
    expect(Object.keys(status).sort()).toEqual([
      "at",
      "history",
      "hosts",
      "jobTypes",
      "leader",
      "load",
      "prefix",
      "problems",
    ]);
    expect(status.prefix).toBe(t.prefix);
    expect(
      status.jobTypes.map((j: { name: string; pending: number; dead: number; paused: boolean }) => [
        j.name,
        j.pending,
        j.dead,
        j.paused,
      ]),
    ).toEqual([
      ["mail", 2, 0, false],
      ["thumbs", 0, 3, true],
    ]);
    expect(await jsonOf(t.get("/api/workers"))).toEqual({ workers: [] });
    const dead = await jsonOf(t.get("/api/types/thumbs/dead?limit=2"));
    expect(dead.type).toBe("thumbs");
    expect(dead.items).toHaveLength(2);
    expect(dead.items[0]).toMatchObject({ error: "<b>bad</b> input", attempts: 1 });
    const bad = await t.get("/api/types/no%20such/dead");
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).error).toMatch(/"no such" is not a job type name/);
    expect((await t.get("/api/types/thumbs/dead?limit=0")).status).toBe(400);
    expect((await t.get("/nope")).status).toBe(404);
    expect((await t.get("/api/types/thumbs/pause")).status).toBe(405);
    await t.close();
  });

  it("pause, resume, dead retry and dead purge change Redis", async () => {
    const t = await testServer();
    await killItems(t.queue, "thumbs", 4);
    const paused = () => t.client.smembers(t.keys.paused);
    let r = await t.post("/api/types/thumbs/pause");
    expect(await jsonOf(r)).toEqual({ type: "thumbs", paused: true, changed: true });
    expect(await paused()).toEqual(["thumbs"]);
    expect(await jsonOf(t.post("/api/types/thumbs/pause"))).toMatchObject({ changed: false });
    r = await t.post("/api/types/thumbs/resume");
    expect(await jsonOf(r)).toEqual({ type: "thumbs", paused: false, changed: true });
    expect(await paused()).toEqual([]);

    // retry two by id (a JSON body), then all; purge the rest
    r = await t.post("/api/types/thumbs/dead/retry", { "Content-Type": "application/json" }, '{"ids":["d0","d1"]}');
    expect(await jsonOf(r)).toEqual({ type: "thumbs", retried: 2 });
    expect(await t.queue.counts("thumbs")).toMatchObject({ pending: 2, dead: 2 });
    r = await t.post(
      "/api/types/thumbs/dead/purge",
      { ...ACTION, "Content-Type": "application/json" },
      '{"ids":["d2"]}',
    );
    expect(await jsonOf(r)).toEqual({ type: "thumbs", purged: 1 });
    r = await t.post("/api/types/thumbs/dead/retry");
    expect(await jsonOf(r)).toEqual({ type: "thumbs", retried: 1 });
    expect(await t.queue.counts("thumbs")).toMatchObject({ pending: 3, dead: 0 });
    const bad = await t.post("/api/types/thumbs/dead/retry", { "Content-Type": "application/json" }, '{"ids":"all"}');
    expect(bad.status).toBe(400);
    expect((await jsonOf(bad)).error).toMatch(/ids must be a list/);
    expect((await t.post("/api/types/thumbs/dead/retry", { "Content-Type": "application/json" }, "{nope")).status).toBe(
      400,
    );
    await t.close();
  });

  it("refuses an action that a cross-site page could send: no header, a form's content type, a foreign Origin", async () => {
    const t = await testServer();
    const paused = () => t.client.smembers(t.keys.paused);
    for (const headers of [
      {},
      { "Content-Type": "application/x-www-form-urlencoded" },
      { "Content-Type": "text/plain" },
      { ...ACTION, Origin: "https://evil.example" },
      { "Content-Type": "application/json", Origin: "null" },
    ]) {
      const r = await t.post("/api/types/thumbs/pause", headers as Record<string, string>, "{}");
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect((await jsonOf(r)).error).toMatch(/X-Batchjob-Action|origin/);
    }
    expect(await paused()).toEqual([]);
    // the page's own origin is fine
    const own = await t.post("/api/types/thumbs/pause", { ...ACTION, Origin: t.server.url });
    expect(own.status).toBe(200);
    expect(await paused()).toEqual(["thumbs"]);
    // behind a proxy that rewrites Host: the public host as X-Forwarded-Host
    const proxied = { ...ACTION, Origin: "https://jobs.example.com", "X-Forwarded-Host": "jobs.example.com" };
    expect((await t.post("/api/types/thumbs/resume", proxied)).status).toBe(200);
    expect(await paused()).toEqual([]);
    await t.close();
  });

  it("/api/metrics: 404 with a JSON error without per-minute metrics; the provider's series with one", async () => {
    const t = await testServer({ metrics: undefined });
    const none = await t.get("/api/metrics?type=thumbs");
    expect(none.status).toBe(404);
    expect(await jsonOf(none)).toEqual({ error: "metrics not available: this server has no per-minute metrics" });
    const points: MinutePoint[] = [
      { minute: 29_000_000, done: 5, retried: 1, dead: 0, chunks: 2, runMsSum: 80, runCount: 2 },
    ];
    const asked: [string, number][] = [];
    const withMetrics = await testServer({
      metrics: {
        series: async (type, minutes) => {
          asked.push([type, minutes]);
          return points;
        },
        oldestPendingAgeMs: async () => 4200,
      },
    });
    const r = await withMetrics.get("/api/metrics?type=thumbs&minutes=30");
    expect(await jsonOf(r)).toEqual({ type: "thumbs", minutes: 30, points, oldestPendingAgeMs: 4200 });
    expect(asked).toEqual([["thumbs", 30]]);
    expect((await withMetrics.get("/api/metrics")).status).toBe(400);
    expect((await withMetrics.get("/api/metrics?type=thumbs&minutes=100000")).status).toBe(400);
    expect(await (await withMetrics.get("/")).text()).toContain('data-metrics="1"');
    await t.close();
    await withMetrics.close();
  });
});

describe("http server: token", () => {
  it("every route but the probes needs the bearer token: 401 without or with a wrong one, 200 with it", async () => {
    const token = "s3cret-token-for-tests";
    const t = await testServer({ token });
    for (const path of ["/", "/api/status", "/api/workers", "/metrics", "/assets/dashboard.js", "/api/types/x/dead"]) {
      expect((await t.get(path)).status, path).toBe(401);
      expect((await t.get(path, { Authorization: "Bearer wrong" })).status, path).toBe(401);
      expect((await t.get(path, { Authorization: `Bearer ${token}x` })).status, path).toBe(401);
      expect((await t.get(path, { Authorization: `Bearer ${token}` })).status, path).toBe(200);
    }
    expect((await t.get("/healthz")).status).toBe(200);
    expect((await t.get("/readyz")).status).toBe(200);
    // an action with the header but no token: 401, nothing changed
    expect((await t.post("/api/types/thumbs/pause")).status).toBe(401);
    expect(await t.client.smembers(t.keys.paused)).toEqual([]);
    expect((await t.post("/api/types/thumbs/pause", { ...ACTION, Authorization: `Bearer ${token}` })).status).toBe(200);
    // the page without the token asks for it, and never shows it
    const page = await (await t.get("/")).text();
    expect(page).toMatch(/needs its token/);
    expect(page).not.toContain(token);
    await t.close();
  });

  it("a browser opens /?token= once: an HttpOnly SameSite=Strict cookie holding a hash, not the token", async () => {
    const token = "another-s3cret";
    const t = await testServer({ token });
    const wrong = await fetch(`${t.server.url}/?token=nope`, { redirect: "manual" });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const r = await fetch(`${t.server.url}/?token=${token}`, { redirect: "manual" });
    expect(r.status).toBe(303);
    expect(r.headers.get("location")).toBe("/");
    const cookie = r.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(new RegExp(`^${COOKIE_NAME}=[\\w-]+; Path=/; HttpOnly; SameSite=Strict$`));
    expect(cookie).not.toContain(token);
    const session = cookie.split(";")[0] ?? "";
    expect((await t.get("/api/status", { Cookie: session })).status).toBe(200);
    expect((await t.get("/api/status", { Cookie: `${COOKIE_NAME}=forged` })).status).toBe(401);
    const proxied = await fetch(`${t.server.url}/?token=${token}`, {
      redirect: "manual",
      headers: { "X-Forwarded-Proto": "https" },
    });
    expect(proxied.headers.get("set-cookie")).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    // the cookie alone does not make an action: it still needs the header
    expect((await t.post("/api/types/thumbs/pause", { Cookie: session })).status).toBe(403);
    expect((await t.post("/api/types/thumbs/pause", { ...ACTION, Cookie: session })).status).toBe(200);
    await t.close();
  });

  it("refuses to listen off loopback without a token, naming the address and the variable", async () => {
    const t = await testServer();
    const source = { client: t.client, keys: t.keys, queue: t.queue, config: undefined };
    await expect(startHttpServer({ listen: "0.0.0.0:0", source })).rejects.toThrow(
      new RegExp(`refusing to listen on 0\\.0\\.0\\.0:0 without a token.*${TOKEN_ENV}`),
    );
    await expect(startHttpServer({ listen: "[::]:0", source })).rejects.toThrow(/refusing to listen on \[::\]:0/);
    await expect(startHttpServer({ listen: "nope", source })).rejects.toThrow(/must be HOST:PORT.*got "nope"/);
    await expect(startHttpServer({ listen: "127.0.0.1:70000", source })).rejects.toThrow(/must be HOST:PORT/);
    // with a token it listens
    const s = await startHttpServer({ listen: "0.0.0.0:0", source, token: "t0ken" });
    expect(s.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    await s.close();
    // a port in use: a clear error
    await expect(startHttpServer({ listen: `127.0.0.1:${t.server.address.port}`, source })).rejects.toThrow(
      /cannot listen on 127\.0\.0\.1:\d+: the port is in use/,
    );
    await t.close();
  });
});
