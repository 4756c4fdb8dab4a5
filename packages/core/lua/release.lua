-- release: charges a failed attempt to items the chunk `owner` still holds:
-- each goes back to pending, at once or after a delay (retry), or to dead
-- (no retry, or maxAttempts reached).
-- KEYS: pending items fails delayed dead leases stats chunk
--   chunk  the chunk list of `owner`
-- ARGV[1] owner    ARGV[2..6] policy: maxAttempts, backoff kind, backoff ms, backoff max ms, maxReturns
-- ARGV[7] retry (1/0)  ARGV[8] delayMs (-1 = backoff)  ARGV[9] error message
-- ARGV[10..] item ids
-- Returns {retried, dead, notHeldIds}.
--- @include "clock"
--- @include "policy"
--- @include "settle-chunk"

local retry = ARGV[7] == '1'
local delayMs = tonumber(ARGV[8])
local list = {}
for i = 10, #ARGV do list[#list + 1] = {ARGV[i], retry, delayMs, ARGV[9], 'released'} end
local _, retried, dead, notHeld = settleChunk(K, K.chunk, ARGV[1], {fail = list}, readPolicy(2), nowMs())
return {retried, dead, notHeld}
