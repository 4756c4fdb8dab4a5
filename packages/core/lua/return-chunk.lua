-- return-chunk: hands back a chunk that was never started (a prefetched next
-- chunk of a worker that stops), counting no attempt and no return. A chunk
-- taken from pending goes back to its head, in order; a split group goes back
-- whole to the head of `groups`, so it stays isolated. Fenced like ack: only
-- the owner's items.
-- KEYS: pending leases stats chunk groups
--   chunk  the chunk list of `owner`
-- ARGV[1] owner  ARGV[2] split depth of the chunk (0: not a group)  ARGV[3] group key prefix
-- Returns the number of items returned.
--- @include "requeue"

local entries = redis.call('LRANGE', K.chunk, 0, -1)
local depth = tonumber(ARGV[2]) or 0
if #entries > 0 then
  if depth > 0 then
    local gid = redis.call('HINCRBY', K.stats, 'groupSeq', 1)
    redis.call('RENAME', K.chunk, ARGV[3] .. gid)
    redis.call('LPUSH', K.groups, depth .. ':' .. gid)
    redis.call('HINCRBY', K.stats, 'grouped', #entries)
  else
    requeue(K, entries)
  end
  redis.call('HINCRBY', K.stats, 'returned', #entries)
end
redis.call('DEL', K.chunk)
redis.call('ZREM', K.leases, ARGV[1])
return #entries
