-- What happens to one item that leaves a chunk without being acked, shared
-- by settle, release and reclaim. Three fates, by whose fault it was:
--   charged (failItem): the item could have caused the failure; attempts + 1,
--     then dead (no retry, or maxAttempts reached) or back after a delay;
--   returned (returnItems): its host or daemon died, its lease expired, a
--     shutdown aborted it; no attempt, returns + 1; a lone item past
--     maxReturns dies (it kills whatever takes it);
--   split (splitEntries): its chunk failed as a whole with no known culprit;
--     no charge; the chunk's halves run as their own chunks (groups).
-- A delayed or dead item keeps its payload in `items`; a pending one carries
-- it in its entry. A `fails` record is
--   {"attempts":a,"returns":r,"at":ms,"error":"...","how":"..."}
-- with attempts first and returns second, so both read without decoding.
-- k: table of keys {pending, items, fails, delayed, dead, stats, groups, groupPrefix}
-- policy: {maxAttempts, backoffKind ('fixed'|'exponential'), backoffMs, backoffMaxMs, maxReturns}

local function backoffDelay(policy, attempts)
  if policy.backoffKind == 'exponential' then
    local d = policy.backoffMs * (2 ^ (attempts - 1))
    if d > policy.backoffMaxMs then d = policy.backoffMaxMs end
    return math.floor(d)
  end
  return policy.backoffMs
end

-- Attempts and returns recorded in a `fails` record (nil/false: 0, 0).
local function recordCounts(record)
  if not record then return 0, 0 end
  local attempts = tonumber(string.match(record, '^{"attempts":(%d+)')) or 0
  local returns = tonumber(string.match(record, '^{"attempts":%d+,"returns":(%d+)')) or 0
  return attempts, returns
end

local function writeRecord(k, id, attempts, returns, now, message, how)
  redis.call('HSET', k.fails, id, '{"attempts":' .. attempts .. ',"returns":' .. returns .. ',"at":' .. now
    .. ',"error":' .. cjson.encode(message) .. ',"how":' .. cjson.encode(how) .. '}')
end

local function bury(k, id, entry, tab, now)
  redis.call('HSET', k.items, id, string.sub(entry, tab + 1))
  redis.call('ZADD', k.dead, now, id)
end

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
  else
    redis.call('HSET', k.items, id, string.sub(entry, tab + 1))
    redis.call('ZADD', k.delayed, now + d, id)
  end
  return false
end

-- Puts entries[from..to] in a new group: a list that the next acquire leases
-- as a chunk of its own, before anything pending. `groups` lists
-- "<depth>:<group id>" in order; depth counts the splits that made it.
local function pushGroup(k, entries, from, to, depth)
  if to < from then return end
  local gid = redis.call('HINCRBY', k.stats, 'groupSeq', 1)
  local part = {}
  for i = from, to do part[#part + 1] = entries[i] end
  sliced('RPUSH', k.groupPrefix .. gid, part, 1000)
  redis.call('RPUSH', k.groups, depth .. ':' .. gid)
end

-- Splits entries (held by no chunk any more) into two halves, each its own
-- group. The caller counts them as `returned` (they left their chunk).
local function splitEntries(k, entries, depth)
  local n = #entries
  if n == 0 then return end
  local half = math.ceil(n / 2)
  pushGroup(k, entries, 1, half, depth)
  pushGroup(k, entries, half + 1, n, depth)
  redis.call('HINCRBY', k.stats, 'grouped', n)
  redis.call('HINCRBY', k.stats, 'split', n)
end

-- Back to the head of pending in order, without any count (never started).
local function requeue(k, entries)
  if #entries == 0 then return end
  local reversed = {}
  for i = #entries, 1, -1 do reversed[#reversed + 1] = entries[i] end
  sliced('LPUSH', k.pending, reversed, 1000)
end

-- Returns entries that left a chunk through no fault of their own: returns + 1
-- each, no attempt. Entries of which one was returned before go back split
-- (something in them may kill its host); a lone entry that reached maxReturns
-- dies; the rest go back to the head of pending. Returns {returned, dead}.
local function returnItems(k, policy, now, entries, message)
  local n = #entries
  if n == 0 then return 0, 0 end
  local ids = {}
  for i = 1, n do ids[i] = entryId(entries[i]) end
  local records = slicedGet('HMGET', k.fails, ids, 1000)
  local again = false
  for i = 1, n do
    local attempts, returns = recordCounts(records[i])
    if returns > 0 then again = true end
    returns = returns + 1
    if n == 1 and returns >= policy.maxReturns then
      local why = 'returned ' .. returns .. ' times without a result: whatever ran it died each time (last: '
        .. message .. ')'
      writeRecord(k, ids[i], attempts, returns, now, why, 'returned')
      local _, tab = entryId(entries[i])
      bury(k, ids[i], entries[i], tab, now)
      redis.call('HINCRBY', k.stats, 'died', 1)
      return 0, 1
    end
    writeRecord(k, ids[i], attempts, returns, now, message, 'returned')
  end
  redis.call('HINCRBY', k.stats, 'returned', n)
  if again and n > 1 then
    splitEntries(k, entries, 1)
  else
    requeue(k, entries)
  end
  return n, 0
end

-- Reads the five policy values starting at ARGV[i].
local function readPolicy(i)
  return {
    maxAttempts = tonumber(ARGV[i]),
    backoffKind = ARGV[i + 1],
    backoffMs = tonumber(ARGV[i + 2]),
    backoffMaxMs = tonumber(ARGV[i + 3]),
    maxReturns = tonumber(ARGV[i + 4]),
  }
end

-- Counts `retried` and `dead` in the lifetime counters.
local function countFailures(k, retried, dead)
  if retried > 0 then redis.call('HINCRBY', k.stats, 'retried', retried) end
  if dead > 0 then redis.call('HINCRBY', k.stats, 'died', dead) end
end
