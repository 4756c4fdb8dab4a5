import { describe, expect, it } from "vitest";
import { assertJobTypeName, hashSlot, InvalidJobTypeError, makeKeys } from "../src/index.js";
import { hashTag } from "../src/keys.js";

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

  it("puts every control-plane key under one hash tag, which no job type can have", () => {
    const keys = makeKeys("bj");
    const control = [
      keys.types,
      keys.workers,
      keys.history,
      keys.hostBeats,
      keys.hostInfo,
      keys.leader,
      keys.config,
      keys.decisions,
      keys.load,
      keys.lastStart,
      `${keys.bullPrefix}:${keys.inbox("h1")}:wait`,
    ];
    for (const key of control) {
      expect(key).toMatch(/^bj:\{bj:control\}:/);
      expect(hashTag(key)).toBe("bj:control");
    }
    expect(new Set(control.map(hashSlot)).size).toBe(1);
    expect(new Set(control).size).toBe(control.length);
    // a type named like the prefix (or "control") keeps keys of its own: its tag has no ":"
    for (const name of ["bj", "control", "hosts"]) {
      const k = makeKeys("bj").type(name);
      for (const key of Object.values(k)) if (typeof key === "string") expect(control).not.toContain(key);
      expect(hashTag(k.pending)).toBe(name);
    }
  });

  it("computes a key's cluster slot as CLUSTER KEYSLOT does", () => {
    // values from the Redis Cluster specification and CLUSTER KEYSLOT
    expect(hashSlot("somekey")).toBe(11058);
    expect(hashSlot("foo{hash_tag}")).toBe(2515);
    expect(hashSlot("foo")).toBe(12182);
    expect(hashSlot("{user1000}.following")).toBe(hashSlot("{user1000}.followers"));
    expect(hashSlot("foo{}{bar}")).toBe(hashSlot("foo{}{bar}")); // an empty tag: the whole key
    expect(hashTag("foo{}{bar}")).toBe("foo{}{bar}");
    expect(hashTag("foo{{bar}}zap")).toBe("{bar");
  });
});
