-- extend: renews the lease of chunk `owner` while it holds any item; O(1).
-- KEYS: leases chunk
--   chunk  the chunk list of `owner`
-- ARGV[1] owner   ARGV[2] leaseMs
-- Returns {items held, leaseDeadlineMs}: {0, 0} when the lease is gone.
--- @include "error"
--- @include "clock"

local leaseMs = tonumber(ARGV[2])
if not leaseMs or leaseMs < 1 then return bjError(1, 'extend expects leaseMs >= 1') end
if not redis.call('ZSCORE', K.leases, ARGV[1]) then return {0, 0} end
local held = redis.call('LLEN', K.chunk)
if held == 0 then return {0, 0} end
local deadline = nowMs() + leaseMs
redis.call('ZADD', K.leases, 'XX', deadline, ARGV[1])
return {held, deadline}
