-- The failure path of one held item, shared by settle (ack, release) and
-- reclaim: attempts + 1 and the error kept in `fails`; then dead (no retry,
-- or attempts reached maxAttempts) or back to pending, at once or after a
-- delay (explicit, else backoff). A delayed or dead item keeps its payload in
-- `items`; a pending one carries it in its entry.
-- k: table of keys {pending, items, fails, delayed, dead}
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

-- Attempts recorded in a `fails` entry (nil/false: 0).
local function attemptsOf(record)
  if not record then return 0 end
  return tonumber(string.match(record, '^{"attempts":(%d+)')) or 0
end

local function failItem(k, policy, now, id, entry, tab, retry, delayMs, message)
  local attempts = attemptsOf(redis.call('HGET', k.fails, id)) + 1
  -- attempts first, so attemptsOf reads it without decoding
  redis.call('HSET', k.fails, id,
    '{"attempts":' .. attempts .. ',"at":' .. now .. ',"error":' .. cjson.encode(message) .. '}')
  if (not retry) or attempts >= policy.maxAttempts then
    redis.call('HSET', k.items, id, string.sub(entry, tab + 1))
    redis.call('ZADD', k.dead, now, id)
    return true
  end
  local d = delayMs
  if d < 0 then d = backoffDelay(policy, attempts) end
  if d <= 0 then
    redis.call('RPUSH', k.pending, entry)
  else
    redis.call('HSET', k.items, id, string.sub(entry, tab + 1))
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

-- Counts `retried` and `dead` in the lifetime counters.
local function countFailures(k, retried, dead)
  if retried > 0 then redis.call('HINCRBY', k.stats, 'retried', retried) end
  if dead > 0 then redis.call('HINCRBY', k.stats, 'died', dead) end
end
