/**
 * A network namespace for one worker host, joined to this host by a veth
 * pair: 10.231.<n>.1 on the host side, 10.231.<n>.2 inside. `cut()` sets the
 * host side down (packets are dropped, connections stay open, as in a real
 * partition); `restore()` sets it up again. Names are fixed per <n>, so a
 * leftover of an interrupted run is removed before creating, and `remove()`
 * runs in a finally.
 */
import { execFileSync } from "node:child_process";

export interface Netns {
  name: string;
  hostIf: string;
  hostAddr: string;
  nsAddr: string;
  cut(): void;
  restore(): void;
  remove(): void;
}

function ip(...args: string[]): void {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // nothing to remove
  }
}

function namesOf(n: number) {
  return { name: `bjchaos${n}`, hostIf: `bjc${n}h`, nsIf: `bjc${n}n` };
}

/** Removes the namespace and veth pair of `n` if an earlier run left them. */
export function removeLeftovers(n: number): void {
  const { name, hostIf } = namesOf(n);
  quietly(() => ip("link", "del", hostIf));
  quietly(() => ip("netns", "del", name));
}

/** Creates namespace n; throws with ip's message when it cannot (not root, no netns support). */
export function createNetns(n: number): Netns {
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new Error(`netns id must be 1..254, got ${n}`);
  const { name, hostIf, nsIf } = namesOf(n);
  const hostAddr = `10.231.${n}.1`;
  const nsAddr = `10.231.${n}.2`;
  removeLeftovers(n);
  const netns: Netns = {
    name,
    hostIf,
    hostAddr,
    nsAddr,
    cut: () => ip("link", "set", hostIf, "down"),
    restore: () => ip("link", "set", hostIf, "up"),
    remove: () => removeLeftovers(n),
  };
  try {
    ip("netns", "add", name);
    ip("link", "add", hostIf, "type", "veth", "peer", "name", nsIf);
    ip("link", "set", nsIf, "netns", name);
    ip("addr", "add", `${hostAddr}/24`, "dev", hostIf);
    ip("link", "set", hostIf, "up");
    ip("netns", "exec", name, "ip", "addr", "add", `${nsAddr}/24`, "dev", nsIf);
    ip("netns", "exec", name, "ip", "link", "set", nsIf, "up");
    ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
  } catch (err) {
    netns.remove();
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(stderr || (err instanceof Error ? err.message : String(err)));
  }
  return netns;
}

/** Why network namespaces cannot be used here, or null when they can. */
export function netnsUnusable(): string | null {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root (ip netns needs CAP_SYS_ADMIN)";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
  } catch {
    return "no ip command (iproute2)";
  }
  return null;
}
