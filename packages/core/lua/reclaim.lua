-- reclaim: gives back the items of chunks whose lease has expired (or of the
-- chunks named in ARGV, e.g. those of a dead host). Their holder died, froze
-- or lost Redis: no attempt is charged; each item's returns count grows, a
-- chunk with an item returned before goes back split, a lone item past
-- maxReturns dies (see returnItems). Bounded by items: it stops after the
-- chunk that reaches `limit` items (one chunk at least).
-- KEYS: pending items fails delayed dead leases stats groups
-- ARGV[1..5] policy: maxAttempts, backoff kind, backoff ms, backoff max ms, maxReturns
-- ARGV[6] limit: items handled in this call, about
-- ARGV[7] chunk key prefix (the chunk list key is prefix .. owner)
-- ARGV[8] group key prefix
-- ARGV[9] message recorded as each item's last error
-- ARGV[10] metrics key prefix ('' = none)  ARGV[11] metrics window (ms): see includes/minute-metrics.lua
-- ARGV[12..] owners to reclaim now; none = every expired lease
-- Returns {chunks, returned, dead, more (1 if expired or named chunks remain),
-- owners handled}.
-- The chunk lists it opens are not in KEYS: their names come from the
-- leases it reads; they carry the type's hash tag, so they are in this slot.
--- @include "error"
--- @include "clock"
--- @include "policy"
--- @include "return-items"
--- @include "minute-metrics"

-- the group helpers read the group key prefix (run-time names) from the keys table
K.groupPrefix = ARGV[8]
local policy = readPolicy(1)
local limit = tonumber(ARGV[6])
if not limit or limit < 1 then return bjError(1, 'reclaim expects limit >= 1') end
local chunkPrefix = ARGV[7]
local message = ARGV[9]
local now = nowMs()
local owners = {}
local metrics = readMetricsArgs(10)
metrics.runMs = -1
local named = #ARGV >= 12
if named then
  for i = 12, #ARGV do owners[#owners + 1] = ARGV[i] end
else
  owners = redis.call('ZRANGE', K.leases, '-inf', now, 'BYSCORE', 'LIMIT', 0, 100)
end
local chunks, returned, dead, items, done = 0, 0, 0, 0, 0
for _, owner in ipairs(owners) do
  if items >= limit then break end
  local chunkKey = chunkPrefix .. owner
  local entries = redis.call('LRANGE', chunkKey, 0, -1)
  local r, d = returnItems(K, policy, now, entries, message)
  returned = returned + r
  dead = dead + d
  items = items + #entries
  redis.call('DEL', chunkKey)
  if redis.call('ZREM', K.leases, owner) == 1 or #entries > 0 then chunks = chunks + 1 end
  done = done + 1
end
if items > 0 then redis.call('HINCRBY', K.stats, 'reclaimed', items) end
recordMinute(metrics, now, 0, 0, dead, returned, false)
local more = 0
if named then
  if done < #owners then more = 1 end
elseif #redis.call('ZRANGE', K.leases, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1) > 0 then
  more = 1
end
return {chunks, returned, dead, more, done}
