/** The scenarios of `pnpm chaos`, in the order they run. */
import type { Scenario } from "../scenario.js";
import {
  clusterControl,
  clusterSharded,
  clusterSlotLost,
  clusterType,
  sentinelFailover,
  sentinelLagging,
} from "./failovers.js";
import { forkKills } from "./fork-kills.js";
import { frozenWorker } from "./frozen-worker.js";
import { killStorm } from "./kill-storm.js";
import { leaderKills } from "./leader-kills.js";
import { partition } from "./partition.js";
import { poisonMix } from "./poison-mix.js";
import { redisKill, redisShutdown, redisStop } from "./redis-faults.js";

// each scenario takes its own parameters; the runner only passes back what `params` gave
export const SCENARIOS = [
  killStorm,
  forkKills,
  redisShutdown,
  redisKill,
  redisStop,
  frozenWorker,
  leaderKills,
  poisonMix,
  partition,
  sentinelFailover,
  sentinelLagging,
  clusterType,
  clusterControl,
  clusterSharded,
  clusterSlotLost,
] as unknown as Scenario<unknown>[];
