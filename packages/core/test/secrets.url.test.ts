/**
 * URL passwords: `redactUrl` on a URL (parsed or not parseable) and
 * `redactUrlsInText` on free text and JSON log lines.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { connectRedis, redactUrl, redactUrlsInText } from "../src/index.js";

describe("redactUrl", () => {
  it.each([
    ["redis://bjuser:s3cret@127.0.0.1:6379/2", "redis://bjuser:***@127.0.0.1:6379/2"],
    ["redis://:s3cret@host", "redis://:***@host"],
    ["rediss://u:p%40ss@host:6380", "rediss://u:***@host:6380"],
    ["redis://host:6379?password=s3cret&db=1", "redis://host:6379?password=***&db=1"],
    ["https://u:pw@example.com/hook?token=abc&x=1", "https://u:***@example.com/hook?token=***&x=1"],
    // an unencoded "@" or "/" in the password: no parser accepts it, nothing of it is shown
    ["redis://u:p@ss@host:1", "redis://u:***@host:1"],
    ["redis://u:pa/ss@host:1", "redis://u:***@host:1"],
    // a Redis URL as its parser reads it: the credentials end at the last "@"
    ["redis://:p@ss/w:rd@h:1", "redis://:***@h:1"],
    ["redis-sentinel://:p@s?s/w@s1:26379,s2/m?db=1", "redis-sentinel://:***@s1:26379,s2/m?db=1"],
  ])("%s -> %s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it.each([
    "redis://127.0.0.1:6379",
    "redis://bjuser@host:6379",
    "redis-cluster://h1:7000,h2:7001",
    "https://example.com:8443/users/@me",
    "https://example.com/a?b=c",
    "not a url",
  ])("leaves %s as it is (no password in it)", (url) => {
    expect(redactUrl(url)).toBe(url);
  });

  it("never shows a password of any characters, in a URL or in text around it", () => {
    const password = fc.string({ minLength: 1, maxLength: 40 }).filter((p) => !/[\s@/?#"'<>\\]/.test(p));
    fc.assert(
      fc.property(password, fc.constantFrom("redis", "rediss", "https"), (pw, scheme) => {
        const marked = `PW${pw}PW`;
        const url = `${scheme}://user:${marked}@host:1234/0`;
        expect(redactUrl(url)).not.toContain(marked);
        expect(redactUrlsInText(`cannot reach ${url}: refused`)).not.toContain(marked);
        expect(redactUrlsInText(JSON.stringify({ msg: "x", url }))).not.toContain(marked);
      }),
      { numRuns: 500 },
    );
  });
});

describe("redactUrlsInText", () => {
  it("redacts every URL password of a text and keeps the rest", () => {
    const text = "cannot reach Redis at redis://bjuser:pw1@127.0.0.1:1 or https://a:pw2@h/x?token=t0k refused";
    expect(redactUrlsInText(text)).toBe(
      "cannot reach Redis at redis://bjuser:***@127.0.0.1:1 or https://a:***@h/x?token=*** refused",
    );
  });

  it("keeps a JSON log line valid JSON", () => {
    const line = `${JSON.stringify({ a: "redis://u:pw@h:1", b: "x@y", c: "redis://host:6379", d: "y@z" })}\n`;
    const out = redactUrlsInText(line);
    expect(JSON.parse(out)).toEqual({ a: "redis://u:***@h:1", b: "x@y", c: "redis://host:6379", d: "y@z" });
  });
});

describe("Redis URLs in errors", () => {
  it("connectRedis names a bad URL without its password", () => {
    expect(() => connectRedis("http://u:s3cret@host")).toThrow(/redis URL http:\/\/u:\*\*\*@host: unknown scheme/);
    expect(() => connectRedis("http://u:s3cret@host")).not.toThrow(/s3cret/);
    expect(() => connectRedis("redis-cluster://")).toThrow(/name at least one node as host:port/);
  });
});
