import { describe, expect, it } from "vitest";
import {
  type BatchjobError,
  ErrorCode,
  errorFromLua,
  InvalidArgumentError,
  ProtocolVersionError,
  ScriptError,
} from "../src/index.js";

describe("errors", () => {
  it("maps a Lua error code to its typed class", () => {
    const e = errorFromLua(new Error("ERR user_script:1: BJLUA:1:acquire expects max >= 1"), "acquire");
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as BatchjobError).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(e.message).toBe("acquire: acquire expects max >= 1");
    expect(e.name).toBe("InvalidArgumentError");
  });

  it("maps the enqueue script's protocol version refusal to its own code", () => {
    const e = errorFromLua(new Error("BJLUA:2:enqueue protocol version 9 is not supported"), "enqueue");
    expect(e).toBeInstanceOf(ProtocolVersionError);
    expect((e as BatchjobError).code).toBe("BJ_ERR_PROTOCOL_VERSION");
    expect(e.message).toBe("enqueue: enqueue protocol version 9 is not supported");
  });

  it("wraps any other script failure with the script's name", () => {
    const e = errorFromLua(new Error("OOM command not allowed"), "enqueue");
    expect(e).toBeInstanceOf(ScriptError);
    expect(e.message).toMatch(/^enqueue failed: OOM/);
  });

  it("has one unique code per error", () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c).toMatch(/^BJ_ERR_[A-Z_]+$/);
  });
});
