/** The one Redis URL parser: what connectRedis connects to and what the config schema accepts, passwords never shown. */
import { describe, expect, it } from "vitest";
import {
  connectRedis,
  InvalidArgumentError,
  InvalidConfigError,
  parseConfig,
  parseRedisUrl,
  redactRedisUrl,
  redisUrlProblem,
} from "../src/index.js";

const jobTypes = [{ name: "t", launcher: { kind: "inline", module: "./x.mjs" } }];

describe("parseRedisUrl", () => {
  it.each([
    ["redis://localhost", { kind: "single", tls: false, host: "localhost", port: 6379, db: 0 }],
    ["redis://10.0.0.5:6380/3", { kind: "single", tls: false, host: "10.0.0.5", port: 6380, db: 3 }],
    ["rediss://:p%40ss@cache.internal:6380", { kind: "single", tls: true, port: 6380, password: "p@ss" }],
    ["redis://app:s3cret@h:1/0", { kind: "single", username: "app", password: "s3cret" }],
    ["redis://[::1]:7000", { kind: "single", host: "::1", port: 7000 }],
    [
      "redis-cluster://a:7000,b:7001",
      {
        kind: "cluster",
        nodes: [
          { host: "a", port: 7000 },
          { host: "b", port: 7001 },
        ],
      },
    ],
    [
      "redis-sentinel://s1,s2:26380/mymaster",
      {
        kind: "sentinel",
        tls: false,
        masterName: "mymaster",
        db: 0,
        sentinels: [
          { host: "s1", port: 26379 },
          { host: "s2", port: 26380 },
        ],
      },
    ],
    [
      "rediss-sentinel://u:p@10.0.0.1:26379,10.0.0.2:26379/pri.mary_1?db=2",
      { kind: "sentinel", tls: true, masterName: "pri.mary_1", db: 2, username: "u", password: "p" },
    ],
    ["redis-sentinel://:pw/with/slash@s1:26379/m", { kind: "sentinel", password: "pw/with/slash", masterName: "m" }],
  ])("%s", (url, expected) => {
    expect(parseRedisUrl(url)).toMatchObject(expected);
  });

  it.each([
    ["localhost:6379", /expected one of redis:\/\//],
    ["http://h:1", /unknown scheme "http:\/\/"/],
    ["redis://h:0", /host "h:0": the port must be a number from 1 to 65535/],
    ["redis://h:1/x", /db must be a whole number ≥ 0 \(got "x"\)/],
    ["redis://h:1?db=2", /takes no \?parameters; give the db as a path/],
    ["redis://a:1,b:2", /takes one host; for several use redis-cluster/],
    ["redis-cluster://", /name at least one node as host:port/],
    ["redis-cluster://a", /node "a": give its port/],
    ["redis-cluster://a:1/2", /a cluster has only db 0/],
    ["redis-sentinel://s1:26379,s2:26379", /name the master after the sentinels/],
    ["redis-sentinel://s1:26379/", /name the master after the sentinels/],
    ["redis-sentinel://s1:26379/my master", /remove the white space/],
    ["redis-sentinel://s1:26379/m!", /master name "m!": use 1 to 128 characters/],
    ["redis-sentinel://s1:26379,:26380/m", /sentinel ":26380": the host is missing/],
    ["redis-sentinel://s1:abc/m", /sentinel "s1:abc": the port must be a number/],
    ["redis-sentinel://s1/m?db=x", /db must be a whole number/],
    ["redis-sentinel://s1/m?timeout=5", /unknown parameter "timeout" \(known: db\)/],
    ["redis-sentinel://s1/m?db=1&db=2", /parameter "db" is given twice/],
    ["redis-sentinel://secret@s1/m", /write the credentials as user:password@ or :password@/],
    ["redis-sentinel://u:@s1/m", /the password is empty/],
    ["redis://:%zz@h", /the password has a bad %-escape/],
  ])("refuses %s, naming what is wrong", (url, problem) => {
    expect(redisUrlProblem(url)).toMatch(problem);
    expect(() => parseRedisUrl(url)).toThrow(InvalidArgumentError);
    expect(() => parseRedisUrl(url)).toThrow(problem);
  });
});

describe("redactRedisUrl", () => {
  it.each([
    ["redis://h:1", "redis://h:1"],
    ["redis://:s3cret@h:1/2", "redis://:***@h:1/2"],
    ["rediss-sentinel://app:s3cret@s1,s2/m?db=1", "rediss-sentinel://app:***@s1,s2/m?db=1"],
    ["redis://:p@ss/w:rd@h:1", "redis://:***@h:1"],
    ["redis-sentinel://s3cret@s1/m", "redis-sentinel://***@s1/m"],
    ["not a url s3cret@host", "***@host"],
  ])("%s -> %s", (url, shown) => {
    expect(redactRedisUrl(url)).toBe(shown);
  });

  it("no error about a bad URL shows its password", () => {
    for (const url of ["redis-sentinel://u:s3cret@s1:x/m", "redis://:s3cret@h:1/x", "redis-sentinel://s3cret@s1/m"]) {
      expect(() => connectRedis(url)).toThrow(/^redis URL .*\*\*\*@/);
      try {
        connectRedis(url);
      } catch (err) {
        expect((err as Error).message).not.toContain("s3cret");
      }
    }
  });
});

describe("redis.url in a config", () => {
  it("accepts every form the daemons connect to", () => {
    for (const url of [
      "redis://127.0.0.1:6379/1",
      "rediss://:pw@cache:6380",
      "redis-cluster://a:7000,b:7001",
      "redis-sentinel://:pw@s1:26379,s2:26379,s3:26379/mymaster?db=2",
      "rediss-sentinel://s1:26379/mymaster",
    ]) {
      expect(parseConfig({ redis: { url }, jobTypes }).redis.url).toBe(url);
    }
  });

  it("refuses a malformed URL naming what is wrong, its password shown as ***", () => {
    let err: unknown;
    try {
      parseConfig({ redis: { url: "redis-sentinel://:s3cret@s1:26379,s2:2637x/mymaster" }, jobTypes }, "c.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidConfigError);
    const issues = (err as InvalidConfigError).issues;
    expect(issues).toEqual([
      {
        path: "redis.url",
        message: 'sentinel "s2:2637x": the port must be a number from 1 to 65535',
        value: "redis-sentinel://:***@s1:26379,s2:2637x/mymaster",
      },
    ]);
    expect((err as Error).message).not.toContain("s3cret");
  });

  it("refuses what connectRedis refuses, with the same words", () => {
    for (const url of ["redis-sentinel://s1:26379", "redis://h:1?x=1", "redis-cluster://a"]) {
      const problem = redisUrlProblem(url);
      expect(problem).not.toBeNull();
      expect(() => parseConfig({ redis: { url }, jobTypes })).toThrow(problem as string);
      expect(() => connectRedis(url)).toThrow(problem as string);
    }
  });
});
