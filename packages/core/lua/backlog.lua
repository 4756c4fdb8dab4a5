-- backlog: what the manager's planner reads of one job type, in one call.
-- KEYS: pending delayed leases stopping stats reserved activity
--   reserved  dispatched reservations no worker took yet
--   activity  items enqueued or revived, ever (read with the rest: the mark of an idle type)
-- ARGV[1] now (ms, Redis clock, read once per tick by the caller)
-- ARGV[2..] reservation ids to check (dispatched, not yet seen running)
-- Returns {pending + items in split groups + delayed items due by now,
-- earliest lease deadline or -1, delayed items in all, {1 or 0 per
-- reservation id: is it still waiting for a worker}, ids of workers that
-- took a stop token, the activity count or false}.

local grouped = tonumber(redis.call('HGET', K.stats, 'grouped') or '0')
local ready = redis.call('LLEN', K.pending) + redis.call('ZCOUNT', K.delayed, '-inf', ARGV[1]) + math.max(0, grouped)
local delayed = redis.call('ZCARD', K.delayed)
local first = redis.call('ZRANGE', K.leases, 0, 0, 'WITHSCORES')
local waiting = {}
for i = 2, #ARGV do waiting[#waiting + 1] = redis.call('SISMEMBER', K.reserved, ARGV[i]) end
local stopping = redis.call('SMEMBERS', K.stopping)
local activity = redis.call('GET', K.activity)
if #first == 0 then return {ready, -1, delayed, waiting, stopping, activity} end
return {ready, tonumber(first[2]), delayed, waiting, stopping, activity}
