/**
 * A private Redis Sentinel deployment per test (see sentinel-set.ts for what
 * it is): `startSentinels` tracks what it starts (a test that leaves it
 * running fails, and it is stopped); `useSentinels` starts one per test file.
 */
import { afterAll, beforeAll } from "vitest";
import { track } from "./index.js";
import { launchSentinels as launch, type SentinelOptions, type SentinelSet } from "./sentinel-set.js";

export type { SentinelOptions, SentinelProcess, SentinelSet } from "./sentinel-set.js";

/** A sentinel set for one test: stopped by the test, or after it (failing it) if it is left running. */
export async function startSentinels(options: SentinelOptions = {}): Promise<SentinelSet> {
  const set = await launch(options);
  let stopped = false;
  const stop = set.stop;
  set.stop = async () => {
    stopped = true;
    await stop();
  };
  track(
    `sentinel set ${set.masterName} (master ${set.master.port}, replica ${set.replica.port})`,
    () => !stopped,
    set.stop,
  );
  return set;
}

/** A sentinel set for the tests of one file: started before them, stopped after. */
export function useSentinels(options: SentinelOptions = {}): () => SentinelSet {
  let set: SentinelSet | undefined;
  beforeAll(async () => {
    set = await launch(options);
  }, 60_000);
  afterAll(async () => {
    await set?.stop();
  });
  return () => {
    if (!set) throw new Error("the sentinels are not started (useSentinels runs in beforeAll)");
    return set;
  };
}
