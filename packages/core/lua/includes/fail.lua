-- The failure path of one held item, shared by release, settle and reclaim:
-- attempts + 1 and the error kept; then dead (no retry, or attempts reached
-- maxAttempts) or back to pending after a delay (explicit, else backoff).
-- k: table of keys {pending, attempts, errors, delayed, dead}
-- policy: {maxAttempts, backoffKind ('fixed'|'exponential'), backoffMs, backoffMaxMs}
-- Returns true when the item died.

local function backoffDelay(policy, attempts)
  if policy.backoffKind == 'exponential' then
    local d = policy.backoffMs * (2 ^ (attempts - 1))
    if d > policy.backoffMaxMs then d = policy.backoffMaxMs end
    return math.floor(d)
  end
  return policy.backoffMs
end

local function failItem(k, policy, now, id, retry, delayMs, message)
  local attempts = redis.call('HINCRBY', k.attempts, id, 1)
  redis.call('HSET', k.errors, id, cjson.encode({error = message, attempts = attempts, at = now}))
  if (not retry) or attempts >= policy.maxAttempts then
    redis.call('ZADD', k.dead, now, id)
    return true
  end
  local d = delayMs
  if d < 0 then d = backoffDelay(policy, attempts) end
  if d <= 0 then
    redis.call('RPUSH', k.pending, id)
  else
    redis.call('ZADD', k.delayed, now + d, id)
  end
  return false
end

-- Reads the four policy values starting at ARGV[i].
local function readPolicy(i)
  return {
    maxAttempts = tonumber(ARGV[i]),
    backoffKind = ARGV[i + 1],
    backoffMs = tonumber(ARGV[i + 2]),
    backoffMaxMs = tonumber(ARGV[i + 3]),
  }
end
