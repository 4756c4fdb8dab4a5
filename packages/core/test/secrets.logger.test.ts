/** Log lines carry no URL password: URL fields, messages, errors and their stacks, child loggers. */
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/index.js";

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const destination = { write: (s: string) => lines.push(s) };
  const log = createLogger("test", { level: "debug", destination, secrets });
  return { log, lines };
}

describe("logger", () => {
  it("writes no URL password, wherever it is in a line", () => {
    const { log, lines } = capture();
    const url = "redis://bjuser:l0g-pw@127.0.0.1:6379";
    log.info({ url }, "connecting");
    log.warn({ connection: { url, redisUrl: url } }, `cannot reach ${url}`);
    const err = Object.assign(new Error(`cannot reach ${url}: ECONNREFUSED`), { input: url });
    log.error({ err }, "failed");
    log.child({ jobType: "t" }).info(`retrying https://u:l0g-pw@h/x?token=l0g-pw`);
    log.debug("plain line, no URL");
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(line).not.toContain("l0g-pw");
      expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ url: "redis://bjuser:***@127.0.0.1:6379", msg: "connecting" });
    expect(JSON.parse(lines[2] ?? "{}").err.message).toBe(
      "cannot reach redis://bjuser:***@127.0.0.1:6379: ECONNREFUSED",
    );
    expect(JSON.parse(lines[4] ?? "{}").msg).toBe("plain line, no URL");
  });

  it("hides the secret values it is given, as written and JSON-escaped", () => {
    const { log, lines } = capture(["api-token-0123456789", 'with"quote-secret']);
    log.warn({ stream: "stderr" }, "debug: API_TOKEN=api-token-0123456789");
    log.info({ header: 'with"quote-secret' }, "sent");
    expect(lines.join("")).not.toMatch(/api-token-0123456789|quote-secret/);
    expect(JSON.parse(lines[0] ?? "{}").msg).toBe("debug: API_TOKEN=[redacted]");
    expect(JSON.parse(lines[1] ?? "{}").header).toBe("[redacted]");
  });
});
