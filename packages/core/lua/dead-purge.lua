-- dead-purge: deletes dead items for good (payload, failure record, dedupe entry).
-- KEYS[1] items  KEYS[2] fails  KEYS[3] dead  KEYS[4] stats  KEYS[5] ids
-- ARGV[1] limit: most items deleted when no ids are given
-- ARGV[2..] ids to purge; none = the oldest `limit` dead items
-- Returns {purged, more (1 if dead items remain)}.

local limit = tonumber(ARGV[1])
if not limit or limit < 1 then return bjError(1, 'dead-purge expects limit >= 1') end
local ids = {}
if #ARGV >= 2 then
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', KEYS[3], 0, limit - 1)
end
local purged = {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[3], id) == 1 then purged[#purged + 1] = id end
end
if #purged > 0 then
  sliced('HDEL', KEYS[1], purged, 1000)
  forgetIds({fails = KEYS[2], ids = KEYS[5]}, purged)
  redis.call('HINCRBY', KEYS[4], 'purged', #purged)
end
local more = 0
if redis.call('ZCARD', KEYS[3]) > 0 then more = 1 end
return {#purged, more}
