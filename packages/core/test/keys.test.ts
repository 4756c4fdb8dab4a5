import { describe, expect, it } from "vitest";
import { assertJobTypeName, InvalidJobTypeError, makeKeys } from "../src/index.js";

describe("job type names and keys", () => {
  it.each(["email", "a", "A.b_c-9", "x".repeat(64)])("accepts %s", (name) => {
    expect(() => assertJobTypeName(name)).not.toThrow();
  });

  it.each(["", "has space", "a:b", "curly{}", "x".repeat(65), "é", "a\nb"])("refuses %j with the rule", (name) => {
    expect(() => assertJobTypeName(name)).toThrow(InvalidJobTypeError);
    expect(() => assertJobTypeName(name)).toThrow(/A-Z a-z 0-9 \. _ -/);
  });

  it("refuses a non-string name", () => {
    expect(() => assertJobTypeName(42)).toThrow(/invalid job type name 42/);
  });

  it("gives every key of a type the same hash tag", () => {
    const k = makeKeys("bj").type("email");
    const all = [k.pending, k.items, k.fails, k.delayed, k.leases, k.dead, k.stats, k.seq, k.chunk("c1"), k.history];
    for (const key of all) expect(key).toMatch(/^bj:\{email\}:/);
    expect(new Set(all).size).toBe(all.length);
  });

  it("validates the type name before building a key", () => {
    expect(() => makeKeys().type("bad name")).toThrow(InvalidJobTypeError);
  });
});
