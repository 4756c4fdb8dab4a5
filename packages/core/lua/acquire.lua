-- acquire: leases the next waiting group (a split chunk's half) or, when
-- none waits, promotes due delayed items and pops up to `max` pending entries
-- into the chunk `owner`, until now + leaseMs.
-- KEYS[1] pending  KEYS[2] items   KEYS[3] fails  KEYS[4] delayed
-- KEYS[5] leases   KEYS[6] stats   KEYS[7] chunk list of `owner`
-- KEYS[8] groups
-- ARGV[1] owner    ARGV[2] max     ARGV[3] leaseMs  ARGV[4] group key prefix
-- Returns {entries, fails records, leaseDeadlineMs, split depth}.

local max = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
if not max or max < 1 or not leaseMs or leaseMs < 1 then
  return bjError(1, 'acquire expects max >= 1 and leaseMs >= 1')
end
local k = {pending = KEYS[1], items = KEYS[2], fails = KEYS[3], delayed = KEYS[4],
  leases = KEYS[5], stats = KEYS[6], groups = KEYS[8], groupPrefix = ARGV[4]}
return acquireChunk(k, KEYS[7], ARGV[1], max, leaseMs, nowMs())
