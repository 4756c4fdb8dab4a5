-- acquire: promotes due delayed items, pops up to `max` pending entries and
-- leases them to the chunk `owner` until now + leaseMs.
-- KEYS[1] pending  KEYS[2] items   KEYS[3] fails  KEYS[4] delayed
-- KEYS[5] leases   KEYS[6] stats   KEYS[7] chunk list of `owner`
-- ARGV[1] owner    ARGV[2] max     ARGV[3] leaseMs
-- Returns {entries, fails records, leaseDeadlineMs}.

local max = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
if not max or max < 1 or not leaseMs or leaseMs < 1 then
  return bjError(1, 'acquire expects max >= 1 and leaseMs >= 1')
end
local k = {pending = KEYS[1], items = KEYS[2], fails = KEYS[3], delayed = KEYS[4],
  leases = KEYS[5], stats = KEYS[6]}
return acquireChunk(k, KEYS[7], ARGV[1], max, leaseMs, nowMs())
