-- read-chunk: what a prepared chunk holds, for the worker it was dispatched to.
-- KEYS[1] chunk list of `owner`  KEYS[2] leases  KEYS[3] fails
-- ARGV[1] owner
-- Returns {entries, fails records, leaseDeadlineMs}; deadline 0 when the
-- chunk holds no lease any more (reclaimed, or never acquired).

local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline then return {{}, {}, 0} end
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
local fails = {}
if #entries > 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  local ids = {}
  for i = 1, #entries do ids[i] = entryId(entries[i]) end
  fails = slicedGet('HMGET', KEYS[3], ids, 1000)
end
return {entries, fails, deadline}
