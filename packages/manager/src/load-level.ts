/**
 * The load level (pure): from the live hosts' load metrics to `high`,
 * `medium` or `low`. A host's load is the larger of its normalised load
 * average and its CPU share; the level follows the mean over live hosts.
 * Hysteresis: leaving the current level needs the value to pass the
 * threshold by `hysteresis`, so a value sitting at a threshold cannot flap.
 */
import type { HostLoad, ManagerConfig } from "@batchjob/core";

export type LoadLevel = "high" | "medium" | "low";

export type LoadThresholds = ManagerConfig["load"];

export interface LevelReading {
  level: LoadLevel;
  /** The mean load the level was read from (0 with no hosts). */
  value: number;
  hosts: number;
}

export function hostLoadValue(load: HostLoad): number {
  return Math.max(load.loadAvg, load.cpu);
}

/** The level a value maps to with no history. */
function rawLevel(value: number, t: LoadThresholds): LoadLevel {
  if (value >= t.highAt) return "high";
  if (value < t.lowBelow) return "low";
  return "medium";
}

/** The next level given the previous one: thresholds move away from the current band by `hysteresis`. */
export function nextLevel(value: number, previous: LoadLevel | undefined, t: LoadThresholds): LoadLevel {
  if (!previous) return rawLevel(value, t);
  const h = t.hysteresis;
  switch (previous) {
    case "low":
      if (value >= t.highAt + h) return "high";
      if (value >= t.lowBelow + h) return "medium";
      return "low";
    case "medium":
      if (value >= t.highAt + h) return "high";
      if (value < t.lowBelow - h) return "low";
      return "medium";
    case "high":
      if (value < t.lowBelow - h) return "low";
      if (value < t.highAt - h) return "medium";
      return "high";
  }
}

export function readLevel(loads: HostLoad[], previous: LoadLevel | undefined, t: LoadThresholds): LevelReading {
  if (loads.length === 0) return { level: previous ?? "low", value: 0, hosts: 0 };
  const value = loads.reduce((s, l) => s + hostLoadValue(l), 0) / loads.length;
  return { level: nextLevel(value, previous, t), value, hosts: loads.length };
}
