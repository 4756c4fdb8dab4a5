-- release: charges a failed attempt to items the chunk `owner` still holds:
-- each goes back to pending, at once or after a delay (retry), or to dead
-- (no retry, or maxAttempts reached).
-- KEYS[1] pending  KEYS[2] items  KEYS[3] fails  KEYS[4] delayed
-- KEYS[5] dead     KEYS[6] leases KEYS[7] stats  KEYS[8] chunk list of `owner`
-- ARGV[1] owner    ARGV[2..6] policy: maxAttempts, backoff kind, backoff ms, backoff max ms, maxReturns
-- ARGV[7] retry (1/0)  ARGV[8] delayMs (-1 = backoff)  ARGV[9] error message
-- ARGV[10..] item ids
-- Returns {retried, dead, notHeldIds}.

local k = {pending = KEYS[1], items = KEYS[2], fails = KEYS[3], delayed = KEYS[4],
  dead = KEYS[5], leases = KEYS[6], stats = KEYS[7]}
local retry = ARGV[7] == '1'
local delayMs = tonumber(ARGV[8])
local list = {}
for i = 10, #ARGV do list[#list + 1] = {ARGV[i], retry, delayMs, ARGV[9], 'released'} end
local _, retried, dead, notHeld = settleChunk(k, KEYS[8], ARGV[1], {fail = list}, readPolicy(2), nowMs())
return {retried, dead, notHeld}
