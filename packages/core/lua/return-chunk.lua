-- return-chunk: puts a chunk's items back at the head of pending, in order,
-- without counting an attempt or a return (a chunk that was never started:
-- a prefetched next chunk of a worker that stops). Fenced like ack: only
-- the owner's items.
-- KEYS[1] pending  KEYS[2] leases  KEYS[3] stats  KEYS[4] chunk list of `owner`
-- ARGV[1] owner
-- Returns the number of items returned.

local entries = redis.call('LRANGE', KEYS[4], 0, -1)
if #entries > 0 then
  requeue({pending = KEYS[1]}, entries)
  redis.call('HINCRBY', KEYS[3], 'returned', #entries)
end
redis.call('DEL', KEYS[4])
redis.call('ZREM', KEYS[2], ARGV[1])
return #entries
