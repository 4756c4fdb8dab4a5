/** @batchjob/manager: the manager daemon and its parts (pure planner, load level and allocators for reuse and tests). */
export {
  type Allocator,
  createAllocator,
  type HostSlot,
  LeastLoadAllocator,
  RoundRobinAllocator,
} from "./allocator.js";
export { type ManagerDaemon, type ManagerOptions, startManager } from "./daemon.js";
export { Dispatcher } from "./dispatcher.js";
export { LeaderLease } from "./leader.js";
export { hostLoadValue, type LevelReading, type LoadLevel, nextLevel, readLevel } from "./load-level.js";
export { Manager, publishableConfig, type TickReport } from "./manager.js";
export { type Decision, plan, type TypeState } from "./planner.js";
export { type RefillContext, Refiller, type RefillFunction } from "./refiller.js";
