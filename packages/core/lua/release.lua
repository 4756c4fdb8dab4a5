-- release: gives back items the chunk `owner` still holds: each goes back to
-- pending after a delay (retry) or to dead (no retry, or maxAttempts reached).
-- KEYS[1] pending  KEYS[2] attempts  KEYS[3] errors  KEYS[4] delayed
-- KEYS[5] dead     KEYS[6] leases    KEYS[7] stats   KEYS[8] chunk set of `owner`
-- ARGV[1] owner    ARGV[2..5] policy: maxAttempts, backoff kind, backoff ms, backoff max ms
-- ARGV[6] retry (1/0)  ARGV[7] delayMs (-1 = backoff)  ARGV[8] error message
-- ARGV[9..] item ids
-- Returns {retried, dead, notHeldIds}.

local k = {pending = KEYS[1], attempts = KEYS[2], errors = KEYS[3], delayed = KEYS[4],
  dead = KEYS[5], leases = KEYS[6], stats = KEYS[7]}
local policy = readPolicy(2)
local retry = ARGV[6] == '1'
local delayMs = tonumber(ARGV[7])
local message = ARGV[8]
local ids = {}
for i = 9, #ARGV do ids[#ids + 1] = ARGV[i] end
if #ids == 0 then return {0, 0, {}} end
local held = slicedGet('SMISMEMBER', KEYS[8], ids, 1000)
local now = nowMs()
local retried, dead, notHeld, mine = 0, 0, {}, {}
for i = 1, #ids do
  if held[i] == 1 then
    mine[#mine + 1] = ids[i]
    if failItem(k, policy, now, ids[i], retry, delayMs, message) then dead = dead + 1 else retried = retried + 1 end
  else
    notHeld[#notHeld + 1] = ids[i]
  end
end
if #mine > 0 then sliced('SREM', KEYS[8], mine, 1000) end
if retried > 0 then redis.call('HINCRBY', k.stats, 'retried', retried) end
if dead > 0 then redis.call('HINCRBY', k.stats, 'died', dead) end
dropLeaseIfEmpty(k, KEYS[8], ARGV[1])
return {retried, dead, notHeld}
