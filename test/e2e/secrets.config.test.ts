/**
 * The built-in launcher kinds mark their secrets: http `secret`, `headers`
 * values and the password of `url`, spawn `env` values. What the manager
 * publishes and what a config error prints redact them; the daemons still
 * get them (the parsed config keeps them).
 */
import { formatConfigIssue, parseConfig, REDACTED } from "@batchjob/core";
import { publishableConfig } from "@batchjob/manager";
import { builtinLaunchers } from "@batchjob/worker";
import { describe, expect, it } from "vitest";
import { issuesOf } from "../harness/config-issues.js";

const HMAC = "hmac-key-0123456789abcdef";
const BEARER = "bearer-0123456789";
const TOKEN = "api-token-0123456789";
const PASSWORD = "redis-pw-0123456789";

const raw = {
  redis: { url: `redis://bjuser:${PASSWORD}@10.0.0.5:6379/0` },
  jobTypes: [
    {
      name: "hooks",
      launcher: {
        kind: "http",
        url: "https://hooks.example.com/chunks",
        secret: HMAC,
        headers: { Authorization: `Bearer ${BEARER}`, "X-Team": "ops" },
      },
    },
    { name: "tokens", launcher: { kind: "spawn", command: "python3", args: ["job.py"], env: { API_TOKEN: TOKEN } } },
    { name: "inline", launcher: { kind: "inline", job: async () => {} } },
  ],
};

describe("secrets of the built-in launchers", () => {
  it("the published config redacts them and keeps everything else", () => {
    const config = parseConfig(raw, "c", builtinLaunchers);
    const published = publishableConfig(config) as { redis: unknown; jobTypes: { launcher: unknown }[] };
    const text = JSON.stringify(published);
    for (const secret of [HMAC, BEARER, TOKEN, PASSWORD]) expect(text).not.toContain(secret);
    expect(published.redis).toEqual({ url: "redis://bjuser:***@10.0.0.5:6379/0" });
    expect(published.jobTypes.map((t) => t.launcher)).toEqual([
      {
        kind: "http",
        url: "https://hooks.example.com/chunks",
        secret: REDACTED,
        headers: { Authorization: REDACTED, "X-Team": REDACTED },
        timeoutMs: expect.any(Number),
        maxResponseBytes: expect.any(Number),
      },
      {
        kind: "spawn",
        command: "python3",
        args: ["job.py"],
        env: { API_TOKEN: REDACTED },
        timeoutMs: expect.any(Number),
      },
      { kind: "inline", job: "[function]", export: "default", timeoutMs: expect.any(Number) },
    ]);
    // the daemons get the secrets
    expect(config.jobTypes[0]?.launcher).toMatchObject({
      secret: HMAC,
      headers: { Authorization: `Bearer ${BEARER}` },
    });
    expect(config.jobTypes[1]?.launcher).toMatchObject({ env: { API_TOKEN: TOKEN } });
  });

  it("a config error names the field but not its secret value", () => {
    const bad = structuredClone({ ...raw, jobTypes: raw.jobTypes.slice(0, 2) }) as typeof raw;
    Object.assign(bad.jobTypes[0]?.launcher ?? {}, {
      secret: "short-hmac",
      headers: { Authorization: 12345 },
      url: `https://user:${PASSWORD}@hooks.example.com/x`,
    });
    Object.assign(bad.jobTypes[1]?.launcher ?? {}, { env: `API_TOKEN=${TOKEN}` });
    const issues = issuesOf(() => parseConfig(bad, "c", builtinLaunchers));
    expect(issues.map((i) => i.path).sort()).toEqual([
      "jobTypes[0].launcher.headers.Authorization",
      "jobTypes[0].launcher.secret",
      "jobTypes[0].launcher.url",
      "jobTypes[1].launcher.env",
    ]);
    const printed = issues.map(formatConfigIssue).join("\n");
    for (const secret of ["short-hmac", "12345", TOKEN, PASSWORD]) expect(printed).not.toContain(secret);
    expect(printed).toMatch(/launcher\.url: give credentials in headers .*\(got "https:\/\/user:\*\*\*@hooks/);
    expect(printed).toMatch(/launcher\.env: .*\(got "\[redacted\]"\)/);
  });
});
