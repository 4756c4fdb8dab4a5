-- Charging an item a failed attempt (it could have caused the failure):
-- attempts + 1, then dead (no retry, or maxAttempts reached) or back after a
-- delay. Shared by settle and release.
-- k: table of keys {pending, items, fails, delayed, dead, stats}
--- @include "policy"
--- @include "fail-record"
--- @include "pushed"

-- Charges one held item a failed attempt. Returns true when the item died.
local function failItem(k, policy, now, id, entry, tab, retry, delayMs, message, how)
  local attempts, returns = recordCounts(redis.call('HGET', k.fails, id))
  attempts = attempts + 1
  writeRecord(k, id, attempts, returns, now, message, how)
  if (not retry) or attempts >= policy.maxAttempts then
    bury(k, id, entry, tab, now)
    return true
  end
  local d = delayMs
  if d < 0 then d = backoffDelay(policy, attempts) end
  if d <= 0 then
    redis.call('RPUSH', k.pending, entry)
    countPushed(k, 1)
  else
    redis.call('HSET', k.items, id, string.sub(entry, tab + 1))
    redis.call('ZADD', k.delayed, now + d, id)
  end
  return false
end

-- Counts `retried` and `dead` in the lifetime counters.
local function countFailures(k, retried, dead)
  if retried > 0 then redis.call('HINCRBY', k.stats, 'retried', retried) end
  if dead > 0 then redis.call('HINCRBY', k.stats, 'died', dead) end
end
