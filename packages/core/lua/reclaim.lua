-- reclaim: gives back the items of chunks whose lease has expired (or of the
-- chunks named in ARGV, e.g. those of a dead host): attempts + 1, then back
-- to pending after a backoff, or dead past maxAttempts.
-- KEYS[1] pending  KEYS[2] items  KEYS[3] fails  KEYS[4] delayed
-- KEYS[5] dead     KEYS[6] leases KEYS[7] stats
-- ARGV[1..4] policy: maxAttempts, backoff kind, backoff ms, backoff max ms
-- ARGV[5] limit: most chunks handled in this call
-- ARGV[6] chunk key prefix (the chunk list key is prefix .. owner)
-- ARGV[7] message recorded as each item's error
-- ARGV[8..] owners to reclaim now; none = every expired lease
-- Returns {chunks, retried, dead, more (1 if expired chunks remain)}.
-- The chunk lists it opens are not in KEYS: their names come from the
-- leases it reads; they carry the type's hash tag, so they are in this slot.

local k = {pending = KEYS[1], items = KEYS[2], fails = KEYS[3], delayed = KEYS[4],
  dead = KEYS[5], leases = KEYS[6], stats = KEYS[7]}
local policy = readPolicy(1)
local limit = tonumber(ARGV[5])
local chunkPrefix = ARGV[6]
local message = ARGV[7]
local now = nowMs()
local owners = {}
if #ARGV >= 8 then
  for i = 8, #ARGV do owners[#owners + 1] = ARGV[i] end
else
  owners = redis.call('ZRANGE', k.leases, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
end
local chunks, retried, dead, items = 0, 0, 0, 0
for _, owner in ipairs(owners) do
  local chunkKey = chunkPrefix .. owner
  local entries = redis.call('LRANGE', chunkKey, 0, -1)
  for _, e in ipairs(entries) do
    local id, tab = entryId(e)
    if failItem(k, policy, now, id, e, tab, true, -1, message) then dead = dead + 1 else retried = retried + 1 end
  end
  items = items + #entries
  redis.call('DEL', chunkKey)
  if redis.call('ZREM', k.leases, owner) == 1 or #entries > 0 then chunks = chunks + 1 end
end
if items > 0 then redis.call('HINCRBY', k.stats, 'reclaimed', items) end
countFailures(k, retried, dead)
local more = 0
if #ARGV < 8 and #redis.call('ZRANGE', k.leases, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1) > 0 then more = 1 end
return {chunks, retried, dead, more}
