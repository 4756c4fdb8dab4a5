/**
 * The PHP client's own tests (clients/php/tests/run.php: the shared enqueue
 * cases and the client's behaviour; no PHPUnit), run against the run's
 * Redis. Skipped, with the reason in the name, without PHP 8.2+ and phpredis
 * (`.ci/run` installs php-cli php-redis).
 */
import { describe, expect, it } from "vitest";
import { CASES, PHP, phpMissing, ROOT, runClientTests } from "./run-client-tests.js";

const why = phpMissing();

describe(why ? `the PHP client (skipped: ${why})` : "the PHP client", () => {
  it.skipIf(why !== null)("passes its test script, every shared enqueue case included", async () => {
    const r = await runClientTests(PHP, ["tests/run.php"], `${ROOT}clients/php`);
    const output = r.stdout + r.stderr;
    expect(r.code, output).toBe(0);
    expect(output).not.toMatch(/^not ok/m);
    expect(output.match(/^ok - case: /gm) ?? [], output).toHaveLength(CASES.cases.length);
    const [, passed, failed] = /(\d+) passed, (\d+) failed/.exec(output) ?? [];
    expect(Number(failed)).toBe(0);
    expect(Number(passed)).toBeGreaterThan(CASES.cases.length);
  });
});
