import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type { Command } from "ioredis";
import { describe, expect, it } from "vitest";
import { closeClient, connect, freshPrefix } from "../../../test/harness/index.js";
import { makeKeys, type TypeKeys, typeKeysOf } from "../src/keys.js";
import {
  ackScript,
  acquireScript,
  backlogScript,
  deadScript,
  enqueueArgs,
  enqueueKeys,
  extendScript,
  heartbeatScript,
  hostListScript,
  leaderReleaseScript,
  leaderRenewScript,
  markPushedCall,
  pendingAgeScript,
  type RetryPolicy,
  reclaimScript,
  releaseScript,
  reserveScript,
  returnChunkScript,
  runScript,
  settleScript,
  stopTokensScript,
  takeStopScript,
} from "../src/scripts/commands.js";
import {
  keysFor,
  LUA_DIR,
  SCRIPT_NAMES,
  type ScriptName,
  scriptEachType,
  scriptKeyNames,
  scriptSource,
} from "../src/scripts/source.js";
import { VERSION } from "../src/version.js";

const policy: RetryPolicy = { maxAttempts: 3, maxReturns: 3, backoff: { type: "fixed", delayMs: 0, maxDelayMs: 0 } };
const none = {
  ack: [],
  ackAll: false,
  fail: [],
  giveBack: [],
  giveBackReason: "test",
  requeue: [],
  split: [],
  splitDepth: 1,
};

/** The body of a script file: what follows its header comments. */
function body(text: string): string {
  const lines = text.split("\n");
  const first = lines.findIndex((l) => l.trim() !== "" && !l.startsWith("--"));
  return lines.slice(first).join("\n");
}

describe("Lua script keys", () => {
  const files = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith(".lua"))
    .map((f) => f.slice(0, -4));

  it("has a name for every script file and a file for every name", () => {
    expect(files.sort()).toEqual([...SCRIPT_NAMES].sort());
  });

  it.each(SCRIPT_NAMES)("%s: reads its keys by the names of its KEYS line, never by position", (name) => {
    const text = readFileSync(`${LUA_DIR}${name}.lua`, "utf8");
    const declared = scriptKeyNames(name);
    expect(declared.length).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`^-- KEYS: ${declared.join(" ")}$`, "m"));
    expect(body(text)).not.toMatch(/KEYS\[/);
    const used = new Set([...body(text).matchAll(/\bK\.(\w+)/g)].map((m) => m[1]));
    used.delete("groupPrefix"); // the group key prefix (an ARGV) the group helpers take with the keys
    for (const key of used) expect(declared).toContain(key);
    // the loader names them for the script: K.<name> = KEYS[<position in the header>]
    const K = declared.map((k, i) => `${k} = KEYS[${i + 1}]`).join(", ");
    expect(scriptSource(name)).toContain(`\nlocal K = {${K}}\n`);
  });

  it("no include reads KEYS: includes take the keys from their caller", () => {
    for (const f of readdirSync(`${LUA_DIR}includes`)) {
      const text = readFileSync(`${LUA_DIR}includes/${f}`, "utf8");
      expect(text, f).not.toMatch(/KEYS\[|^-- KEYS:/m);
    }
  });

  it("builds KEYS in the header's order from the values by name, and fails on a name without a value", () => {
    const k = makeKeys("p").type("t");
    expect(keysFor("extend", typeKeysOf(k, { chunk: "c" }))).toEqual([k.leases, "c"]);
    expect(enqueueKeys(k)).toEqual([k.pending, k.ids, k.seq, k.stats, k.activity, k.wake, k.since]);
    expect(() => keysFor("extend", typeKeysOf(k))).toThrow(/extend\.lua takes key "chunk"/);
  });

  it("offers every single-string key of a type by its name, and not the keys that take an id", () => {
    const k = makeKeys("p").type("t");
    const values = typeKeysOf(k);
    for (const [name, key] of Object.entries(values)) expect(k[name as keyof TypeKeys]).toBe(key);
    expect(Object.keys(values)).toContain("pending");
    expect(Object.keys(values)).not.toContain("chunk");
    expect(Object.keys(values)).not.toContain("group");
  });

  it("an @each-type script takes its header's keys once per type: a call with a partial set throws", async () => {
    expect(SCRIPT_NAMES.filter((n) => scriptEachType(n))).toEqual(["backlog"]);
    const per = scriptKeyNames("backlog").length;
    expect(scriptSource("backlog")).toContain(`\nlocal KEY_GROUPS = #KEYS / ${per}\n`);
    const k = makeKeys("p").type("t");
    const client = connect();
    try {
      const twice = [...keysFor("backlog", typeKeysOf(k)), ...keysFor("backlog", typeKeysOf(k))];
      await expect(runScript(client, "backlog", twice.slice(0, per + 1), [0])).rejects.toThrow(
        new RegExp(`backlog takes ${per} keys per type, got ${per + 1}`),
      );
      await expect(runScript(client, "extend", [k.leases], [1])).rejects.toThrow(/extend takes 2 keys, got 1/);
    } finally {
      await closeClient(client);
    }
  });

  it("registers each script under name:version", () => {
    expect(scriptSource("acquire").split("\n")[0]).toBe(`-- batchjob acquire:${VERSION}`);
  });

  it("VERSION matches package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
  });
});

describe("Lua script wrappers", () => {
  const owner = "owner-1";
  const next = "owner-2";

  type Call = (client: ReturnType<typeof connect>, k: TypeKeys, prefix: string) => Promise<unknown>;
  /** One call of each script through its wrapper (every script has one: checked below). */
  const calls: { name: ScriptName; call: Call }[] = [
    {
      name: "enqueue",
      call: (c, k) => runScript(c, "enqueue", enqueueKeys(k), enqueueArgs(["a"], ["1"], 0, 1)),
    },
    { name: "acquire", call: (c, k) => acquireScript(c, k, owner, 1, 1000) },
    { name: "ack", call: (c, k) => ackScript(c, k, owner, ["a"]) },
    {
      name: "release",
      call: (c, k) => releaseScript(c, k, owner, ["a"], policy, { retry: true, delayMs: -1, error: "e" }),
    },
    {
      name: "settle",
      call: (c, k) =>
        settleScript(c, k, policy, 60_000, [
          { owner, workerId: "w", items: none, next: { owner: next, max: 1, leaseMs: 1000 }, runMs: 5 },
        ]),
    },
    { name: "extend", call: (c, k) => extendScript(c, k, owner, 1000) },
    { name: "reclaim", call: (c, k) => reclaimScript(c, k, policy, 10, "lost", [owner], 60_000) },
    { name: "dead-retry", call: (c, k) => deadScript(c, k, "dead-retry", 10, []) },
    { name: "dead-purge", call: (c, k) => deadScript(c, k, "dead-purge", 10, []) },
    { name: "return-chunk", call: (c, k) => returnChunkScript(c, k, owner, 0) },
    {
      name: "heartbeat",
      call: (c, _k, p) => heartbeatScript(c, makeKeys(p).hostBeats, makeKeys(p).hostInfo, "h", "{}"),
    },
    { name: "host-list", call: (c, _k, p) => hostListScript(c, makeKeys(p).hostBeats, makeKeys(p).hostInfo) },
    { name: "backlog", call: (c, k) => backlogScript(c, 0, [{ keys: k, reservations: ["r"] }]) },
    { name: "stop-tokens", call: (c, k) => stopTokensScript(c, k, 1, 0, ["w"]) },
    { name: "reserve", call: (c, k) => reserveScript(c, k, 1000, ["r"]) },
    { name: "take-stop", call: (c, k) => takeStopScript(c, k, "w") },
    { name: "leader-renew", call: (c, _k, p) => leaderRenewScript(c, makeKeys(p).leader, "m", 1000) },
    { name: "leader-release", call: (c, _k, p) => leaderReleaseScript(c, makeKeys(p).leader, "m") },
    {
      name: "mark-pushed",
      call: (c, k) => {
        const { keys, args } = markPushedCall(k, 1);
        return runScript(c, "mark-pushed", keys, args);
      },
    },
    { name: "pending-age", call: (c, k) => pendingAgeScript(c, k) },
  ];

  it("covers every script", () => {
    expect(calls.map((c) => c.name).sort()).toEqual([...SCRIPT_NAMES].sort());
  });

  it.each(calls)("$name: its wrapper passes exactly the keys its header names, in order", async ({ name, call }) => {
    const prefix = freshPrefix();
    const keys = makeKeys(prefix);
    const k = keys.type("t");
    const client = connect();
    // record the EVALSHA a wrapper sends through this real client (the command still runs on Redis)
    const sha = createHash("sha1").update(scriptSource(name)).digest("hex");
    const sent: string[][] = [];
    const send = client.sendCommand.bind(client);
    client.sendCommand = (command: Command, stream?: Parameters<typeof send>[1]) => {
      const [first, count, ...rest] = command.args.map(String);
      if (command.name === "evalsha" && first === sha) sent.push(rest.slice(0, Number(count)));
      return send(command, stream);
    };

    await call(client, k, prefix);
    await closeClient(client);

    const byName: Record<string, string> = {
      ...Object.fromEntries(Object.entries(k).filter(([, v]) => typeof v === "string")),
      chunk: k.chunk(owner),
      nextChunk: k.chunk(next),
      hostBeats: keys.hostBeats,
      hostInfo: keys.hostInfo,
      leader: keys.leader,
    };
    expect(sent.length).toBeGreaterThan(0);
    for (const passed of sent) expect(passed).toEqual(scriptKeyNames(name).map((n) => byName[n]));
  });
});
