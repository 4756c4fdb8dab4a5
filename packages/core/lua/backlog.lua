-- backlog: what the manager's planner reads of one job type, in one call.
-- KEYS[1] pending  KEYS[2] delayed  KEYS[3] leases  KEYS[4] stopping
-- KEYS[5] stats    KEYS[6] reserved: dispatched reservations no worker took yet
-- ARGV[1] now (ms, Redis clock, read once per tick by the caller)
-- ARGV[2..] reservation ids to check (dispatched, not yet seen running)
-- Returns {pending + items in split groups + delayed items due by now,
-- earliest lease deadline or -1, delayed items in all, {1 or 0 per
-- reservation id: is it still waiting for a worker}, ids of workers that
-- took a stop token}.

local grouped = tonumber(redis.call('HGET', KEYS[5], 'grouped') or '0')
local ready = redis.call('LLEN', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1]) + math.max(0, grouped)
local delayed = redis.call('ZCARD', KEYS[2])
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
local waiting = {}
for i = 2, #ARGV do waiting[#waiting + 1] = redis.call('SISMEMBER', KEYS[6], ARGV[i]) end
local stopping = redis.call('SMEMBERS', KEYS[4])
if #first == 0 then return {ready, -1, delayed, waiting, stopping} end
return {ready, tonumber(first[2]), delayed, waiting, stopping}
