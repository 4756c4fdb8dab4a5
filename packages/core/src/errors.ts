/**
 * The one catalogue of batchjob errors. Every error has a stable `code`
 * (`BJ_ERR_*`) that callers and scripts can switch on; the message says what
 * was wrong and, where it helps, what is allowed. A config issue's value is
 * redacted where the schema marks it secret (toConfigIssues); no message
 * shows a URL's password.
 */
import { redactUrlsInText } from "./config/secret-urls.js";

export const ErrorCode = {
  INVALID_JOB_TYPE: "BJ_ERR_INVALID_JOB_TYPE",
  INVALID_ARGUMENT: "BJ_ERR_INVALID_ARGUMENT",
  INVALID_PAYLOAD: "BJ_ERR_INVALID_PAYLOAD",
  PAYLOAD_TOO_LARGE: "BJ_ERR_PAYLOAD_TOO_LARGE",
  INVALID_ITEM_ID: "BJ_ERR_INVALID_ITEM_ID",
  INVALID_CONFIG: "BJ_ERR_INVALID_CONFIG",
  SCRIPT_FAILED: "BJ_ERR_SCRIPT_FAILED",
  REDIS_UNAVAILABLE: "BJ_ERR_REDIS_UNAVAILABLE",
  LAUNCHER_FAILED: "BJ_ERR_LAUNCHER_FAILED",
  LAUNCHER_TIMEOUT: "BJ_ERR_LAUNCHER_TIMEOUT",
  LAUNCHER_OUTPUT: "BJ_ERR_LAUNCHER_OUTPUT",
  USAGE: "BJ_ERR_USAGE",
  PROTOCOL_VERSION: "BJ_ERR_PROTOCOL_VERSION",
  ENQUEUE_PARTIAL: "BJ_ERR_ENQUEUE_PARTIAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: sets `name` from the subclass and carries a stable `code`. */
export class BatchjobError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidJobTypeError extends BatchjobError {
  constructor(message: string) {
    super(ErrorCode.INVALID_JOB_TYPE, message);
  }
}

export class InvalidArgumentError extends BatchjobError {
  constructor(message: string) {
    super(ErrorCode.INVALID_ARGUMENT, message);
  }
}

export class InvalidPayloadError extends BatchjobError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.INVALID_PAYLOAD, message, options);
  }
}

export class PayloadTooLargeError extends BatchjobError {
  constructor(message: string) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, message);
  }
}

export class InvalidItemIdError extends BatchjobError {
  constructor(message: string) {
    super(ErrorCode.INVALID_ITEM_ID, message);
  }
}

/** One problem in a configuration: where (`path`), what was there, what is allowed. */
export interface ConfigIssue {
  path: string;
  message: string;
  value?: unknown;
}

export class InvalidConfigError extends BatchjobError {
  readonly issues: ConfigIssue[];
  constructor(source: string, issues: ConfigIssue[]) {
    const lines = issues.map((i) => `  - ${formatConfigIssue(i)}`);
    super(ErrorCode.INVALID_CONFIG, `invalid ${source}:\n${lines.join("\n")}`);
    this.issues = issues;
  }
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const got = "value" in issue ? ` (got ${safeInspect(issue.value)})` : "";
  return `${issue.path || "(root)"}: ${issue.message}${got}`;
}

function safeInspect(value: unknown): string {
  if (value === undefined) return "undefined";
  if (typeof value === "function") return "a function";
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    // a BigInt inside; an object without a prototype has no toString either (config fuzz)
    try {
      s = String(value);
    } catch {
      s = Object.prototype.toString.call(value);
    }
  }
  // redacted before it is cut: a cut URL no longer looks like one
  s = redactUrlsInText(s);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export class ScriptError extends BatchjobError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.SCRIPT_FAILED, message, options);
  }
}

export class RedisUnavailableError extends BatchjobError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.REDIS_UNAVAILABLE, message, options);
  }
}

/**
 * An enqueue of a type spread over shards that queued its items on some
 * shards and failed on others (each shard's write is atomic; shards may
 * live on different masters). `queued` says how many items went in and
 * `queuedIds` which; enqueuing the rest again is safe, enqueuing all again
 * is only for items with caller ids (they dedupe).
 */
export class PartialEnqueueError extends BatchjobError {
  constructor(
    message: string,
    readonly queued: number,
    readonly queuedIds: string[],
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.ENQUEUE_PARTIAL, message, options);
  }
}

export class LauncherError extends BatchjobError {}

export class LauncherFailedError extends LauncherError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.LAUNCHER_FAILED, message, options);
  }
}

export class LauncherTimeoutError extends LauncherError {
  constructor(message: string) {
    super(ErrorCode.LAUNCHER_TIMEOUT, message);
  }
}

export class LauncherOutputError extends LauncherError {
  constructor(message: string) {
    super(ErrorCode.LAUNCHER_OUTPUT, message);
  }
}

export class UsageError extends BatchjobError {
  constructor(message: string) {
    super(ErrorCode.USAGE, message);
  }
}

/** A producer called the enqueue script with a protocol version it does not speak (docs/protocol.md). */
export class ProtocolVersionError extends BatchjobError {
  constructor(message: string) {
    super(ErrorCode.PROTOCOL_VERSION, message);
  }
}

/**
 * Error codes that Lua scripts raise, as `BJLUA:<code>:<detail>`. One enum;
 * `errorFromLua` maps a code to its typed class.
 */
export const LuaErrorCode = {
  BAD_ARGUMENT: 1,
  /** The enqueue script was called with another producer protocol version (docs/protocol.md). */
  PROTOCOL_VERSION: 2,
} as const;

const LUA_ERROR = /BJLUA:(\d+):(.*)$/s;

export function errorFromLua(err: unknown, script: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const m = LUA_ERROR.exec(message);
  if (m && Number(m[1]) === LuaErrorCode.BAD_ARGUMENT) {
    return new InvalidArgumentError(`${script}: ${m[2]}`);
  }
  if (m && Number(m[1]) === LuaErrorCode.PROTOCOL_VERSION) {
    return new ProtocolVersionError(`${script}: ${m[2]}`);
  }
  if (err instanceof BatchjobError) return err;
  return new ScriptError(`${script} failed: ${message}`, { cause: err });
}
