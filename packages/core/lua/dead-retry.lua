-- dead-retry: moves dead items back to pending with their attempts reset.
-- KEYS: pending items fails dead stats activity since
--   activity  STRING: items enqueued or revived (the manager's signal to read the type again)
-- ARGV[1] limit: most items moved when no ids are given
-- ARGV[2..] ids to retry; none = the oldest `limit` dead items
-- Returns {moved, more (1 if dead items remain)}.
--- @include "dead-ids"
--- @include "entry"
--- @include "sliced"
--- @include "clock"
--- @include "pushed"

local ids, err = deadIds('dead-retry', K.dead)
if not ids then return err end
local moved, entries = {}, {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', K.dead, id) == 1 then
    moved[#moved + 1] = id
    entries[#entries + 1] = id .. TAB .. (redis.call('HGET', K.items, id) or 'null')
  end
end
if #moved > 0 then
  sliced('HDEL', K.items, moved, 1000)
  sliced('HDEL', K.fails, moved, 1000)
  sliced('RPUSH', K.pending, entries, 1000)
  markPushed(K, #entries, nowMs())
  redis.call('HINCRBY', K.stats, 'revived', #moved)
  redis.call('INCRBY', K.activity, #moved)
end
local more = 0
if redis.call('ZCARD', K.dead) > 0 then more = 1 end
return {#moved, more}
