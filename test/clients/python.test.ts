/**
 * The Python client's own tests (clients/python/tests: the shared enqueue
 * cases and the client's behaviour), run by Debian's /usr/bin/python3 against
 * the run's Redis. Skipped, with the reason in the name, when that Python
 * has no redis-py (`.ci/run` installs python3-redis).
 */
import { describe, expect, it } from "vitest";
import { CASES, PYTHON, pythonMissing, ROOT, runClientTests } from "./run-client-tests.js";

const why = pythonMissing();

describe(why ? `the Python client (skipped: ${why})` : "the Python client", () => {
  it.skipIf(why !== null)("passes its unittest suite, every shared enqueue case included", async () => {
    const r = await runClientTests(
      PYTHON,
      ["-m", "unittest", "discover", "-v", "-s", "tests", "-t", "."],
      `${ROOT}clients/python`,
    );
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(0);
    expect(output).toMatch(/\nOK\s*$/);
    const ran = Number(/Ran (\d+) tests?/.exec(output)?.[1]);
    const cases = output.match(/^test_case_\d+_\S+ .* \.\.\. ok$/gm) ?? [];
    expect(cases, output).toHaveLength(CASES.cases.length);
    expect(ran).toBeGreaterThan(CASES.cases.length);
  });
});
