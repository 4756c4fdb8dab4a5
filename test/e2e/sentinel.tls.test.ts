/**
 * rediss-sentinel:// and rediss:// against a TLS-only deployment (nodes,
 * replication and sentinels; a CA of its own, trusted by the CLI through
 * NODE_EXTRA_CA_CERTS): the CLI enqueues and reads through the sentinels
 * over TLS, straight to the master too, and a plain redis-sentinel:// URL
 * gets one clear line.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "../harness/processes.js";
import { useSentinels } from "../harness/sentinel.js";

const sentinels = useSentinels({ masterName: "bjtls", tls: true, password: "tls-pw" });

describe("the CLI on a TLS Sentinel deployment", () => {
  it("rediss-sentinel:// and rediss://: enqueue and status work; redis-sentinel:// says no sentinel answers", async () => {
    const set = sentinels();
    const env = { BATCHJOB_PREFIX: "clitls", NODE_EXTRA_CA_CERTS: set.caFile ?? "" };
    expect(set.url).toMatch(/^rediss-sentinel:\/\//);

    const e = await runCli(["enqueue", "overtls", "--redis", set.url], { env, input: '{"a":1}\n{"a":2}\n' });
    expect(e.stderr).toBe("");
    expect(e.stdout.trim()).toBe("enqueued 2 items to overtls");

    const direct = `rediss://:tls-pw@127.0.0.1:${set.master.port}`;
    for (const url of [set.url, direct]) {
      const s = await runCli(["status", "--json", "--redis", url], { env });
      // no manager and no worker run here: status says so and exits 3 (the probe's "not serving")
      expect(s.code).toBe(3);
      expect(s.stderr.trim().split("\n")).toEqual([
        "batchjob status: no leader: no manager holds the leader lease",
        "batchjob status: no live worker host",
      ]);
      const report = JSON.parse(s.stdout) as { jobTypes: { name: string; pending: number }[] };
      expect(report.jobTypes.find((t) => t.name === "overtls")?.pending).toBe(2);
    }

    const plain = set.url.replace(/^rediss-/, "redis-");
    const p = await runCli(["status", "--redis", plain], { env });
    expect(p.code).toBe(1);
    expect(p.stderr.trim()).toBe(
      `batchjob status: cannot reach Redis at ${plain.replace("tls-pw", "***")}: no sentinel answers`,
    );
  }, 60_000);
});
