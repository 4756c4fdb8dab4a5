-- dead-retry: moves dead items back to pending with their attempts reset.
-- KEYS[1] pending  KEYS[2] items  KEYS[3] fails  KEYS[4] dead  KEYS[5] stats
-- ARGV[1] limit: most items moved when no ids are given
-- ARGV[2..] ids to retry; none = the oldest `limit` dead items
-- Returns {moved, more (1 if dead items remain)}.

local limit = tonumber(ARGV[1])
if not limit or limit < 1 then return bjError(1, 'dead-retry expects limit >= 1') end
local ids = {}
if #ARGV >= 2 then
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
else
  ids = redis.call('ZRANGE', KEYS[4], 0, limit - 1)
end
local moved, entries = {}, {}
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[4], id) == 1 then
    moved[#moved + 1] = id
    entries[#entries + 1] = id .. TAB .. (redis.call('HGET', KEYS[2], id) or 'null')
  end
end
if #moved > 0 then
  sliced('HDEL', KEYS[2], moved, 1000)
  sliced('HDEL', KEYS[3], moved, 1000)
  sliced('RPUSH', KEYS[1], entries, 1000)
  redis.call('HINCRBY', KEYS[5], 'revived', #moved)
end
local more = 0
if redis.call('ZCARD', KEYS[4]) > 0 then more = 1 end
return {#moved, more}
