/**
 * The HTTP server as its commands serve it, against live daemons:
 *   1. `batchjob dashboard --listen` prints its URL and serves `status --json`'s
 *      JSON at /api/status; bad addresses and 0.0.0.0 without a token are refused,
 *   2. `manager --http` serves the page, the API, /metrics with the ticks it
 *      ran, and the probes; `worker --http` the probes and /metrics only; both
 *      close their server when the daemon stops,
 *   3. while a stopped worker drains a running chunk, its /readyz says 503
 *      "stopping" and /healthz 200; the server closes once the daemon exits,
 *   4. `manager.http.listen` in the config does what `--http` does.
 */
import { describe, expect, it } from "vitest";
import { parsePrometheus, sample } from "../../packages/http/test/serve.js";
import { rawE2eConfig, writeConfigFile } from "../harness/daemons.js";
import { gate } from "../harness/gate.js";
import { freePort, redisUrl, waitFor } from "../harness/index.js";
import { runCli, spawnCli } from "../harness/processes.js";

const env = (prefix: string, over: Record<string, string> = {}) => ({
  REDIS_URL: redisUrl(),
  BATCHJOB_PREFIX: prefix,
  BATCHJOB_HTTP_TOKEN: "",
  ...over,
});

/** The status of GET `url`, or 0 when nothing answers. */
async function statusOf(url: string, headers: Record<string, string> = {}): Promise<number> {
  try {
    return (await fetch(url, { headers })).status;
  } catch {
    return 0;
  }
}

function withoutEnv(e: Record<string, string>, name: string): Record<string, string> {
  const { [name]: _, ...rest } = e;
  return rest;
}

describe("batchjob dashboard", () => {
  it("prints its URL and serves exactly `status --json` at /api/status", async () => {
    const raw = await rawE2eConfig();
    const prefix = raw.prefix as string;
    const e = withoutEnv(env(prefix), "BATCHJOB_HTTP_TOKEN");
    await runCli(["enqueue", "inline"], { env: e, input: '{"a":1}\n{"a":2}\n' });
    const d = spawnCli(["dashboard", "--listen", "127.0.0.1:0"], { env: e });
    const line = await d.waitForOutput(/batchjob dashboard at http:\/\/127\.0\.0\.1:\d+\/ \(prefix \w+\)/);
    const url = /http:\/\/\S+\//.exec(line)?.[0] ?? "";
    const api = await (await fetch(`${url}api/status`)).json();
    const cli = JSON.parse((await runCli(["status", "--json"], { env: e })).stdout);
    // the same report but for its time, and the oldest item's wait, which grew between the two reads
    const timeless = (r: { jobTypes: { oldestPendingAgeMs: number | null }[] }) => ({
      ...r,
      at: "",
      jobTypes: r.jobTypes.map((t) => ({ ...t, oldestPendingAgeMs: t.oldestPendingAgeMs === null ? null : "grows" })),
    });
    expect(timeless(api as Parameters<typeof timeless>[0])).toEqual(timeless(cli));
    expect((await fetch(url)).status).toBe(200);
    d.kill("SIGTERM");
    expect((await d.exited).code).toBe(0);
    expect(await statusOf(`${url}healthz`)).toBe(0);
  });

  it("refuses bad addresses, 0.0.0.0 without a token and an empty token; with a token it needs it", async () => {
    const raw = await rawE2eConfig();
    const e = env(raw.prefix as string);
    const noToken = withoutEnv(e, "BATCHJOB_HTTP_TOKEN");
    for (const [args, message] of [
      [[], /say where to listen: --listen HOST:PORT/],
      [["--listen", "8080"], /--listen must be HOST:PORT .* got "8080"/],
      [["--listen", "127.0.0.1:99999"], /--listen must be HOST:PORT/],
    ] as const) {
      const r = await runCli(["dashboard", ...args], { env: noToken });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const open = await runCli(["dashboard", "--listen", "0.0.0.0:0"], { env: noToken });
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:0 without a token.*BATCHJOB_HTTP_TOKEN/);
    const empty = await runCli(["dashboard", "--listen", "127.0.0.1:0"], { env: e });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/BATCHJOB_HTTP_TOKEN is set but empty/);

    const token = "dash-secret-123";
    const d = spawnCli(["dashboard", "--listen", "0.0.0.0:0"], { env: { ...e, BATCHJOB_HTTP_TOKEN: token } });
    const line = await d.waitForOutput(/token required: open \S+ once/);
    const port = /:(\d+)\//.exec(line)?.[1];
    const base = `http://127.0.0.1:${port}`;
    expect(await statusOf(`${base}/api/status`)).toBe(401);
    expect(await statusOf(`${base}/api/status`, { Authorization: `Bearer ${token}` })).toBe(200);
    expect(await statusOf(`${base}/healthz`)).toBe(200);
    d.kill("SIGTERM");
    await d.exited;
    expect(d.stdout() + d.stderr()).not.toContain(token);
  });
});

describe("daemons' --http", () => {
  it("manager --http serves the page, API, /metrics with its ticks and probes; worker --http probes and /metrics; both close on stop", async () => {
    const raw = await rawE2eConfig();
    const prefix = raw.prefix as string;
    const file = await writeConfigFile(raw);
    const e = withoutEnv(env(prefix), "BATCHJOB_HTTP_TOKEN");
    const [mPort, wPort] = [await freePort(), await freePort()];
    const manager = spawnCli(["manager", "--config", file, "--http", `127.0.0.1:${mPort}`], { env: e });
    const worker = spawnCli(["worker", "--config", file, "--host-id", "w1", "--http", `127.0.0.1:${wPort}`], {
      env: e,
    });
    const m = `http://127.0.0.1:${mPort}`;
    const w = `http://127.0.0.1:${wPort}`;
    await waitFor("the manager's /readyz", async () => (await statusOf(`${m}/readyz`)) === 200, 30_000);
    await waitFor("the worker's /readyz", async () => (await statusOf(`${w}/readyz`)) === 200, 30_000);
    expect(await statusOf(`${m}/healthz`)).toBe(200);
    expect(await statusOf(`${w}/healthz`)).toBe(200);
    expect(await statusOf(`${m}/`)).toBe(200);
    expect(await statusOf(`${m}/api/status`)).toBe(200);
    // the worker serves the probes and /metrics only
    expect(await statusOf(`${w}/`)).toBe(404);
    expect(await statusOf(`${w}/api/status`)).toBe(404);
    expect(await statusOf(`${w}/metrics`)).toBe(200);

    // the manager's ticks as leader are observed: the count grows
    const ticks = async () =>
      sample(
        parsePrometheus(await (await fetch(`${m}/metrics`)).text()).samples,
        "batchjob_manager_tick_seconds_count",
      ) ?? 0;
    const first = await waitFor("a tick observed", ticks, 30_000);
    await waitFor("more ticks observed", async () => (await ticks()) > first, 30_000);
    const wm = parsePrometheus(await (await fetch(`${w}/metrics`)).text()).samples;
    expect(sample(wm, "batchjob_hosts", { state: "alive" })).toBe(1);
    expect(sample(wm, "batchjob_manager_tick_seconds_count")).toBe(0);

    // the worker host and the leader show in the API
    const status = (await (await fetch(`${m}/api/status`)).json()) as { leader: string; hosts: { id: string }[] };
    expect(status.leader).toBeTruthy();
    expect(status.hosts.map((h) => h.id)).toEqual(["w1"]);

    worker.kill("SIGTERM");
    manager.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
    expect((await manager.exited).code).toBe(0);
    expect(await statusOf(`${w}/healthz`)).toBe(0);
    expect(await statusOf(`${m}/healthz`)).toBe(0);
  });

  it("a worker draining after SIGTERM answers /readyz 503 and /healthz 200 until it exits", async () => {
    const raw = await rawE2eConfig();
    const prefix = raw.prefix as string;
    const file = await writeConfigFile(raw);
    const e = withoutEnv(env(prefix), "BATCHJOB_HTTP_TOKEN");
    const port = await freePort();
    const w = `http://127.0.0.1:${port}`;
    const manager = spawnCli(["manager", "--config", file], { env: e });
    const worker = spawnCli(["worker", "--config", file, "--host-id", "w1", "--http", `127.0.0.1:${port}`], { env: e });
    await waitFor("the worker's /readyz", async () => (await statusOf(`${w}/readyz`)) === 200, 30_000);
    const g = gate();
    await runCli(["enqueue", "inline"], { env: e, input: `${JSON.stringify({ gate: g.path })}\n` });
    await waitFor(
      "the gated item leased",
      async () => {
        const s = JSON.parse((await runCli(["status", "--json"], { env: e })).stdout);
        return s.jobTypes.find((t: { name: string; leased: number }) => t.name === "inline")?.leased === 1;
      },
      30_000,
    );
    worker.kill("SIGTERM");
    await waitFor("/readyz 503 while draining", async () => (await statusOf(`${w}/readyz`)) === 503, 15_000);
    const body = await (await fetch(`${w}/readyz`)).json();
    expect(body).toEqual({ ok: false, error: "the daemon is stopping" });
    expect(await statusOf(`${w}/healthz`)).toBe(200);
    g.open();
    expect((await worker.exited).code).toBe(0);
    expect(await statusOf(`${w}/healthz`)).toBe(0);
    manager.kill("SIGTERM");
    await manager.exited;
  });

  it("manager.http.listen in the config serves as --http does; a bad value is a config error naming the field", async () => {
    const raw = await rawE2eConfig();
    const port = await freePort();
    const file = await writeConfigFile({
      ...raw,
      manager: { ...(raw.manager as object), http: { listen: `127.0.0.1:${port}` } },
    });
    const e = withoutEnv(env(raw.prefix as string), "BATCHJOB_HTTP_TOKEN");
    const manager = spawnCli(["manager", "--config", file], { env: e });
    await waitFor("/readyz", async () => (await statusOf(`http://127.0.0.1:${port}/readyz`)) === 200, 30_000);
    manager.kill("SIGTERM");
    expect((await manager.exited).code).toBe(0);

    const bad = await writeConfigFile({ ...raw, manager: { http: { listen: "everywhere" } } });
    const check = await runCli(["config", "check", bad], { env: e });
    expect(check.code).toBe(1);
    expect(check.stderr + check.stdout).toMatch(/manager\.http\.listen.*must be HOST:PORT/);
    const flag = await runCli(["manager", "--config", file, "--http", "0.0.0.0:1"], { env: e });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:1 without a token.*BATCHJOB_HTTP_TOKEN/);
    const worker = await runCli(["worker", "--config", file, "--http", "localhost"], { env: e });
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/--http must be HOST:PORT/);
  });
});
