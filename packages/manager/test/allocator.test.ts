import { describe, expect, it } from "vitest";
import { type Allocator, createAllocator, type HostSlot } from "../src/index.js";

function host(id: string, over: Partial<HostSlot> = {}): HostSlot {
  return {
    id,
    slots: 2,
    running: 0,
    jobTypes: null,
    draining: false,
    load: { loadAvg: 0.1, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 },
    ...over,
  };
}

function allocate(a: Allocator, hosts: HostSlot[], types: string[]): (string | null)[] {
  return types.map((t) => {
    const id = a.pick(hosts, t);
    if (id) a.commit(id);
    return id;
  });
}

describe("round-robin allocator", () => {
  it("cycles through hosts and respects slots within a tick", () => {
    const a = createAllocator("round-robin");
    const hosts = [host("a"), host("b"), host("c", { slots: 1 })];
    expect(allocate(a, hosts, ["t", "t", "t", "t", "t", "t"])).toEqual(["a", "b", "c", "a", "b", null]);
  });

  it("continues after the last host across ticks", () => {
    const a = createAllocator("round-robin");
    const hosts = [host("a", { slots: 9 }), host("b", { slots: 9 })];
    expect(allocate(a, hosts, ["t"])).toEqual(["a"]);
    a.reset();
    expect(allocate(a, hosts, ["t", "t"])).toEqual(["b", "a"]);
  });

  it("skips hosts that are full, draining, or do not serve the type", () => {
    const a = createAllocator("round-robin");
    const hosts = [
      host("a", { running: 2 }),
      host("b", { draining: true }),
      host("c", { jobTypes: ["other"] }),
      host("d", { jobTypes: ["t"] }),
    ];
    expect(allocate(a, hosts, ["t", "t", "other"])).toEqual(["d", "d", "c"]);
  });

  it("skips excluded hosts (a failed dispatch)", () => {
    const a = createAllocator("round-robin");
    expect(a.pick([host("a"), host("b")], "t", new Set(["a"]))).toBe("b");
  });
});

describe("least-load allocator", () => {
  it("picks the lowest load with a free slot; ties go round-robin", () => {
    const a = createAllocator("least-load");
    const load = (v: number) => ({ loadAvg: v, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 });
    const hosts = [
      host("busy", { load: load(0.9) }),
      host("x", { load: load(0.2) }),
      host("y", { load: load(0.2) }),
      host("z", { load: load(0.5), slots: 5 }),
    ];
    expect(allocate(a, hosts, ["t", "t", "t", "t", "t", "t"])).toEqual(["x", "y", "x", "y", "z", "z"]);
  });

  it("uses the CPU share when it is higher than the load average", () => {
    const a = createAllocator("least-load");
    const hosts = [
      host("a", { load: { loadAvg: 0.1, cpu: 0.9, freeMemBytes: 0, totalMemBytes: 0 } }),
      host("b", { load: { loadAvg: 0.5, cpu: 0, freeMemBytes: 0, totalMemBytes: 0 } }),
    ];
    expect(a.pick(hosts, "t")).toBe("b");
  });

  it("takes a custom allocator given in code", () => {
    const custom: Allocator = {
      name: "first",
      pick: (hs) => hs[0]?.id ?? null,
      commit() {},
      uncommit() {},
      reset() {},
    };
    expect(createAllocator(custom).pick([host("q")], "t")).toBe("q");
  });
});
