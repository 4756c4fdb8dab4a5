-- extend: renews the lease of chunk `owner` while it still holds any of `ids`.
-- KEYS[1] leases  KEYS[2] chunk list of `owner`
-- ARGV[1] owner   ARGV[2] leaseMs   ARGV[3..] item ids
-- Returns {heldCount, leaseDeadlineMs (0 when nothing is held), notHeldIds}.

local leaseMs = tonumber(ARGV[2])
if not leaseMs or leaseMs < 1 then return bjError(1, 'extend expects leaseMs >= 1') end
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0, 0, ids} end
local _, index = loadChunk(KEYS[2])
local notHeld, count = {}, 0
for _, id in ipairs(ids) do
  if index[id] then count = count + 1 else notHeld[#notHeld + 1] = id end
end
if count == 0 then return {0, 0, notHeld} end
local deadline = nowMs() + leaseMs
redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[1])
return {count, deadline, notHeld}
