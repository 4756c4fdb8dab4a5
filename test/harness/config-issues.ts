/** The issues of the InvalidConfigError that `fn` throws; fails the test when it throws nothing else. */
import { InvalidConfigError } from "@batchjob/core";
import { expect } from "vitest";

export function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidConfigError);
    return (err as InvalidConfigError).issues;
  }
  throw new Error("expected InvalidConfigError");
}
