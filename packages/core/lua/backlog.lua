-- backlog: what the manager's planner reads of one or more job types, in one call.
-- KEYS: pending delayed leases stopping stats reserved activity
--- @each-type
--   the header's keys once per job type read (KEY_GROUPS types; keysOf(g) for the g-th)
--   reserved  dispatched reservations no worker took yet
--   activity  items enqueued or revived, ever (read with the rest for an idle type: its mark)
-- ARGV[1] now (ms, Redis clock, read once per tick by the caller)
-- ARGV[2..] per type, in KEYS order: n, then n reservation ids to check
--   (dispatched, not yet seen running)
-- Returns, per type in KEYS order, {pending + items in split groups +
-- delayed items due by now, earliest lease deadline or -1, delayed items in
-- all, {1 or 0 per reservation id: is it still waiting for a worker}, ids of
-- workers that took a stop token, the activity count or false (false too
-- when the type has anything ready, leased or delayed: only an idle type's is read)}.

local now = ARGV[1]
local out = {}
local arg = 2
for g = 1, KEY_GROUPS do
  local K = keysOf(g)
  local grouped = tonumber(redis.call('HGET', K.stats, 'grouped') or '0')
  local delayed = redis.call('ZCARD', K.delayed)
  local due = delayed > 0 and redis.call('ZCOUNT', K.delayed, '-inf', now) or 0
  local ready = redis.call('LLEN', K.pending) + due + math.max(0, grouped)
  local first = redis.call('ZRANGE', K.leases, 0, 0, 'WITHSCORES')
  local n = tonumber(ARGV[arg])
  local waiting = {}
  for i = arg + 1, arg + n do waiting[#waiting + 1] = redis.call('SISMEMBER', K.reserved, ARGV[i]) end
  arg = arg + n + 1
  local stopping = redis.call('SMEMBERS', K.stopping)
  local activity = false
  if ready == 0 and #first == 0 and delayed == 0 then activity = redis.call('GET', K.activity) end
  out[g] = {ready, #first == 0 and -1 or tonumber(first[2]), delayed, waiting, stopping, activity}
end
return out
