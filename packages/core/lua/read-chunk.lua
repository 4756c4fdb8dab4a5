-- read-chunk: what a prepared chunk holds, for the worker it was dispatched to.
-- KEYS[1] chunk list of `owner`  KEYS[2] leases  KEYS[3] fails
-- ARGV[1] owner
-- Returns {entries, fails records, leaseDeadlineMs}; deadline 0 when the
-- chunk holds no lease any more (reclaimed, or never acquired).

local deadline = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not deadline then return {{}, {}, 0} end
local entries = redis.call('LRANGE', KEYS[1], 0, -1)
return {entries, failsOf({fails = KEYS[3]}, entries), deadline}
