// os-utils ships no types; the one function batchjob uses.
declare module "os-utils" {
  /** Calls back with the CPU busy share (0..1) sampled over one second. */
  export function cpuUsage(callback: (share: number) => void): void;
}
