/**
 * What ioredis rejects with, as the one RedisUnavailableError line a CLI or
 * API call fails with (the errors as ioredis words them; the real-server
 * cases are in redis.fail-fast, redis.sentinel and cli.unreachable-redis).
 */
import { describe, expect, it } from "vitest";
import { ErrorCode, RedisUnavailableError } from "../src/index.js";
import { describeFailure, type FailureContext, type RecentErrors } from "../src/redis-failures.js";

const single: FailureContext = { url: "redis://:***@cache:6379", cluster: false, commandTimeoutMs: 5000 };
const sentinel: FailureContext = {
  url: "redis-sentinel://s1:26379,s2:26379/main",
  cluster: false,
  masterName: "main",
  commandTimeoutMs: 5000,
};
const cluster: FailureContext = { url: "redis-cluster://a:7000,b:7000", cluster: true, commandTimeoutMs: 5000 };

function errno(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function named(message: string, name: string, extra: object = {}): Error {
  const e = Object.assign(new Error(message), extra);
  e.name = name;
  return e;
}

const at = (ctx: FailureContext) => `cannot reach Redis at ${ctx.url}: `;
const down = (ctx: FailureContext) => `; cluster ${ctx.url}`;

describe("describeFailure", () => {
  it.each<[string, FailureContext, Error, RecentErrors, string]>([
    [
      "refused",
      single,
      errno("connect ECONNREFUSED 10.0.0.5:6379", "ECONNREFUSED"),
      {},
      `${at(single)}connect ECONNREFUSED 10.0.0.5:6379`,
    ],
    ["connect timeout", single, errno("connect ETIMEDOUT", "ETIMEDOUT"), {}, `${at(single)}connect ETIMEDOUT`],
    [
      "a timeout says why when the connection knows",
      single,
      new Error("Command timed out"),
      { last: errno("getaddrinfo ENOTFOUND cache", "ENOTFOUND") },
      `${at(single)}getaddrinfo ENOTFOUND cache`,
    ],
    [
      "a timeout on a silent server",
      single,
      new Error("Command timed out"),
      {},
      `${at(single)}no reply within 5000 ms`,
    ],
    [
      "the queue flushed after failed reconnects",
      single,
      named("Reached the max retries per request limit (which is 1).", "MaxRetriesPerRequestError"),
      { last: errno("connect ECONNREFUSED 10.0.0.5:6379", "ECONNREFUSED") },
      `${at(single)}connect ECONNREFUSED 10.0.0.5:6379`,
    ],
    [
      "wrong password",
      single,
      new Error("WRONGPASS invalid username-password pair or user is disabled."),
      {},
      `${at(single)}authentication failed (WRONGPASS invalid username-password pair or user is disabled.)`,
    ],
    [
      "no password",
      single,
      new Error("NOAUTH Authentication required."),
      {},
      `${at(single)}authentication failed (NOAUTH Authentication required.)`,
    ],
    [
      "a replica",
      single,
      new Error("READONLY You can't write against a read only replica."),
      {},
      `${at(single)}the server is a read-only replica, not the master (READONLY You can't write against a read only replica.)`,
    ],
    [
      "a MULTI cut by a reconnect",
      single,
      named("EXECABORT Transaction discarded because of previous errors.", "ReplyError", {
        previousErrors: [new Error("Command aborted due to connection close")],
      }),
      {},
      `${at(single)}the connection was lost during a MULTI, none of which ran`,
    ],
    [
      "no sentinel",
      sentinel,
      new Error("All sentinels are unreachable. Retrying from scratch after 50ms. Last error: Connection is closed."),
      {},
      `${at(sentinel)}no sentinel answers`,
    ],
    [
      "no sentinel, with a reason",
      sentinel,
      new Error("Command timed out"),
      {
        last: new Error(
          "All sentinels are unreachable. Retrying from scratch after 50ms. Last error: connect EHOSTUNREACH",
        ),
      },
      `${at(sentinel)}no sentinel answers (connect EHOSTUNREACH)`,
    ],
    [
      "an unknown master name",
      sentinel,
      new Error(
        "All sentinels are unreachable. Retrying from scratch after 50ms. Last error: ERR No such master with that name",
      ),
      {},
      `${at(sentinel)}no sentinel knows a master named "main"`,
    ],
    [
      "CLUSTERDOWN",
      cluster,
      new Error("Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN Hash slot not served"),
      {},
      `cluster down: CLUSTERDOWN Hash slot not served${down(cluster)}`,
    ],
    [
      "CLUSTERDOWN straight",
      cluster,
      new Error("CLUSTERDOWN The cluster is down"),
      {},
      `cluster down: CLUSTERDOWN The cluster is down${down(cluster)}`,
    ],
    [
      "MOVED to a node that does not answer",
      cluster,
      new Error("Too many Cluster redirections. Last error: ReplyError: MOVED 5798 10.0.0.3:7000"),
      {},
      `cluster down: slot 5798 is served by 10.0.0.3:7000, which does not answer${down(cluster)}`,
    ],
    [
      "no node answers",
      cluster,
      new Error("Command timed out"),
      {
        last: named("Failed to refresh slots cache.", "ClusterAllFailedError", {
          lastNodeError: errno("connect ECONNREFUSED 10.0.0.1:7000", "ECONNREFUSED"),
        }),
      },
      `cluster down: no node answers (connect ECONNREFUSED 10.0.0.1:7000)${down(cluster)}`,
    ],
    [
      "no startup node",
      cluster,
      new Error("None of startup nodes is available"),
      {},
      `cluster down: no node answers${down(cluster)}`,
    ],
    [
      "a wrong password on a cluster",
      cluster,
      new Error("WRONGPASS invalid username-password pair or user is disabled."),
      {},
      `${at(cluster)}authentication failed (WRONGPASS invalid username-password pair or user is disabled.)`,
    ],
  ])("%s", (_name, ctx, err, recent, message) => {
    const mapped = describeFailure(err, ctx, recent);
    expect(mapped).toBeInstanceOf(RedisUnavailableError);
    expect(mapped?.code).toBe(ErrorCode.REDIS_UNAVAILABLE);
    expect(mapped?.message).toBe(message);
    expect(mapped?.cause).toBe(err);
  });

  it.each([
    new Error("WRONGTYPE Operation against a key holding the wrong kind of value"),
    new Error("NOSCRIPT No matching script. Please use EVAL."),
    new Error("ERR user_script:1: BJLUA:1:bad max"),
    new RedisUnavailableError("cannot reach Redis at x: already mapped"),
  ])("leaves %s as it is", (err) => {
    expect(describeFailure(err, single)).toBeNull();
  });

  it("keeps a message on one line", () => {
    const mapped = describeFailure(new Error("CLUSTERDOWN The cluster\nis down"), cluster);
    expect(mapped?.message).toBe(`cluster down: CLUSTERDOWN The cluster is down${down(cluster)}`);
  });
});
