/** HOST:PORT parsing and the loopback rule, table-driven. */
import { describe, expect, it } from "vitest";
import { assertSafeListen, isLoopback, parseListen, tokenFromEnv } from "../src/index.js";

describe("listen address", () => {
  it.each([
    ["127.0.0.1:8080", { host: "127.0.0.1", port: 8080 }],
    ["localhost:0", { host: "localhost", port: 0 }],
    ["[::1]:9090", { host: "::1", port: 9090 }],
    ["0.0.0.0:80", { host: "0.0.0.0", port: 80 }],
    ["dash.internal:443", { host: "dash.internal", port: 443 }],
  ])("%s parses", (value, address) => {
    expect(parseListen(value, "--listen")).toEqual(address);
  });

  it.each(["8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "::1:80", "[nope]:80", "a b:80"])(
    "%j is refused, naming the flag",
    (value) => {
      expect(() => parseListen(value, "--listen")).toThrow(/^--listen/);
    },
  );

  it("loopback: 127.0.0.0/8, ::1 and localhost; anything else needs a token", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"].map(isLoopback)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(["0.0.0.0", "::", "10.0.0.5", "127.example.com", "128.0.0.1"].map(isLoopback)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(() => assertSafeListen({ host: "10.0.0.5", port: 80 }, undefined)).toThrow(
      /refusing to listen on 10\.0\.0\.5:80 without a token.*BATCHJOB_HTTP_TOKEN/,
    );
    expect(() => assertSafeListen({ host: "10.0.0.5", port: 80 }, "t")).not.toThrow();
    expect(() => assertSafeListen({ host: "127.0.0.1", port: 80 }, undefined)).not.toThrow();
  });

  it("the token from the environment: unset is none, empty is an error", () => {
    expect(tokenFromEnv({})).toBeUndefined();
    expect(tokenFromEnv({ BATCHJOB_HTTP_TOKEN: "abc" })).toBe("abc");
    expect(() => tokenFromEnv({ BATCHJOB_HTTP_TOKEN: " " })).toThrow(/set but empty/);
  });
});
