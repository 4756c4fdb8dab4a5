-- acquire: leases the next waiting group (a split chunk's half) or, when
-- none waits, promotes due delayed items and pops up to `max` pending entries
-- into the chunk `owner`, until now + leaseMs.
-- KEYS: pending items fails delayed leases stats chunk groups since
--   chunk  the chunk list of `owner`
-- ARGV[1] owner    ARGV[2] max     ARGV[3] leaseMs  ARGV[4] group key prefix
-- Returns {entries, fails records, leaseDeadlineMs, split depth}.
--- @include "error"
--- @include "clock"
--- @include "acquire-chunk"

local max = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
if not max or max < 1 or not leaseMs or leaseMs < 1 then
  return bjError(1, 'acquire expects max >= 1 and leaseMs >= 1')
end
-- the group helpers read the group key prefix (run-time names) from the keys table
K.groupPrefix = ARGV[4]
return acquireChunk(K, K.chunk, ARGV[1], max, leaseMs, nowMs())
