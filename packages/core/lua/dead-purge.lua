-- dead-purge: deletes dead items for good (payload, failure record, dedupe entry).
-- KEYS: items fails dead stats ids
-- ARGV[1] limit: most items deleted when no ids are given
-- ARGV[2..] ids to purge; none = the oldest `limit` dead items
-- Returns {purged, more (1 if dead items remain)}.
--- @include "dead-ids"
--- @include "sliced"
--- @include "forget-ids"

local ids, err = deadIds('dead-purge', K.dead)
if not ids then return err end
local purged = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', K.dead, id) == 1 then purged[#purged + 1] = id end
end
if #purged > 0 then
  sliced('HDEL', K.items, purged, 1000)
  forgetIds(K, purged)
  redis.call('HINCRBY', K.stats, 'purged', #purged)
end
local more = 0
if redis.call('ZCARD', K.dead) > 0 then more = 1 end
return {#purged, more}
