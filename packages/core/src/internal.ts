/**
 * @batchjob/core/internal: what the batchjob daemons and tests use of core's
 * Lua scripts beyond the public API. Not for services: it changes with any
 * release, without notice.
 */
export { leaderReleaseScript, leaderRenewScript } from "./scripts/commands.js";
export { keysFor, LUA_DIR, SCRIPT_NAMES, type ScriptName, scriptKeyNames, scriptSource } from "./scripts/source.js";
