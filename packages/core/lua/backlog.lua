-- backlog: what the manager's planner reads of one job type, in one call.
-- KEYS[1] pending  KEYS[2] delayed  KEYS[3] leases  KEYS[4] stopping
-- ARGV[1] now (ms, Redis clock, read once per tick by the caller)
-- ARGV[2..] chunk ids whose lease to check (dispatched, not yet seen running)
-- Returns {pending + delayed items due by now, earliest lease deadline or -1,
-- delayed items in all, {1 or 0 per chunk id: does it still hold a lease},
-- chunk ids whose worker took a stop token}.

local ready = redis.call('LLEN', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1])
local delayed = redis.call('ZCARD', KEYS[2])
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local held = {}
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[3], ARGV[i]) then held[#held + 1] = 1 else held[#held + 1] = 0 end
end
local stopping = redis.call('SMEMBERS', KEYS[4])
if #first == 0 then return {ready, -1, delayed, held, stopping} end
return {ready, tonumber(first[2]), delayed, held, stopping}
