-- return-chunk: hands back a chunk that was never started (a prefetched next
-- chunk of a worker that stops), counting no attempt and no return. A chunk
-- taken from pending goes back to its head, in order; a split group goes back
-- whole to the head of `groups`, so it stays isolated. Fenced like ack: only
-- the owner's items.
-- KEYS[1] pending  KEYS[2] leases  KEYS[3] stats  KEYS[4] chunk list of `owner`
-- KEYS[5] groups
-- ARGV[1] owner  ARGV[2] split depth of the chunk (0: not a group)  ARGV[3] group key prefix
-- Returns the number of items returned.

local entries = redis.call('LRANGE', KEYS[4], 0, -1)
local depth = tonumber(ARGV[2]) or 0
if #entries > 0 then
  if depth > 0 then
    local gid = redis.call('HINCRBY', KEYS[3], 'groupSeq', 1)
    redis.call('RENAME', KEYS[4], ARGV[3] .. gid)
    redis.call('LPUSH', KEYS[5], depth .. ':' .. gid)
    redis.call('HINCRBY', KEYS[3], 'grouped', #entries)
  else
    requeue({pending = KEYS[1]}, entries)
  end
  redis.call('HINCRBY', KEYS[3], 'returned', #entries)
end
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return #entries
