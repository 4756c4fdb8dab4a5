-- Chunks: acquiring one, and settling (ack / fail) the items it holds.
-- A chunk is a LIST of entries under its own key plus its lease in `leases`.
-- k: table of keys {pending, items, fails, delayed, dead, leases, stats, ids}

-- Moves up to `limit` due delayed items to the back of pending.
local function promoteDue(k, now, limit)
  local due = redis.call('ZRANGE', k.delayed, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
  if #due == 0 then return 0 end
  local payloads = slicedGet('HMGET', k.items, due, 1000)
  local entries = {}
  for i = 1, #due do
    if payloads[i] then entries[#entries + 1] = due[i] .. TAB .. payloads[i] end
  end
  sliced('ZREM', k.delayed, due, 1000)
  sliced('HDEL', k.items, due, 1000)
  if #entries > 0 then sliced('RPUSH', k.pending, entries, 1000) end
  return #due
end

-- The failure records of `entries` (empty when no item of the type has failed).
local function failsOf(k, entries)
  if #entries == 0 or redis.call('EXISTS', k.fails) == 0 then return {} end
  local ids = {}
  for i = 1, #entries do ids[i] = entryId(entries[i]) end
  return slicedGet('HMGET', k.fails, ids, 1000)
end

-- Pops up to `max` pending entries into the chunk list of `owner`, leased
-- until now+leaseMs. Returns {entries, fails records, leaseDeadlineMs}. An
-- owner that already holds a chunk gets that chunk again (a retried call
-- whose reply was lost), never a second one.
local function acquireChunk(k, chunkKey, owner, max, leaseMs, now)
  local held = redis.call('ZSCORE', k.leases, owner)
  if held then
    local entries = redis.call('LRANGE', chunkKey, 0, -1)
    return {entries, failsOf(k, entries), tonumber(held)}
  end
  promoteDue(k, now, math.max(max, 100))
  local entries = redis.call('LPOP', k.pending, max)
  if not entries then return {{}, {}, 0} end
  sliced('RPUSH', chunkKey, entries, 1000)
  local fails = failsOf(k, entries)
  local deadline = now + leaseMs
  redis.call('ZADD', k.leases, deadline, owner)
  redis.call('HINCRBY', k.stats, 'acquired', #entries)
  return {entries, fails, deadline}
end

-- Forgets acked or purged ids: their failure records and dedupe entries.
local function forgetIds(k, ids)
  if #ids == 0 then return end
  if redis.call('EXISTS', k.fails) == 1 then sliced('HDEL', k.fails, ids, 1000) end
  local callers = {}
  for i = 1, #ids do
    if isCallerId(ids[i]) then callers[#callers + 1] = ids[i] end
  end
  if #callers > 0 then sliced('SREM', k.ids, callers, 1000) end
end

-- The entries of a chunk and an index id -> position.
local function loadChunk(chunkKey)
  local entries = redis.call('LRANGE', chunkKey, 0, -1)
  local index = {}
  for i = 1, #entries do
    local id = entryId(entries[i])
    index[id] = i
  end
  return entries, index
end

-- Acks `ackIds` and fails `failList` ({id, retry, delayMs, message} each)
-- among the items chunk `owner` still holds; ids it does not hold change
-- nothing and are returned (fencing). The chunk keeps what is left; an empty
-- chunk loses its lease. Returns acked, retried, dead, notHeld ids.
local function settleChunk(k, chunkKey, owner, ackIds, failList, policy, now)
  local entries, index = loadChunk(chunkKey)
  local taken, acked, notHeld = {}, {}, {}
  for _, id in ipairs(ackIds) do
    local i = index[id]
    if i and not taken[i] then
      taken[i] = true
      acked[#acked + 1] = id
    else
      notHeld[#notHeld + 1] = id
    end
  end
  local retried, dead = 0, 0
  for _, f in ipairs(failList) do
    local i = index[f[1]]
    if i and not taken[i] then
      taken[i] = true
      local e = entries[i]
      local _, tab = entryId(e)
      if failItem(k, policy, now, f[1], e, tab, f[2], f[3], f[4]) then dead = dead + 1 else retried = retried + 1 end
    else
      notHeld[#notHeld + 1] = f[1]
    end
  end
  local n = #acked + retried + dead
  if n > 0 then
    redis.call('DEL', chunkKey)
    if n == #entries then
      redis.call('ZREM', k.leases, owner)
    else
      local rest = {}
      for i = 1, #entries do
        if not taken[i] then rest[#rest + 1] = entries[i] end
      end
      sliced('RPUSH', chunkKey, rest, 1000)
    end
  end
  if #acked > 0 then
    forgetIds(k, acked)
    redis.call('HINCRBY', k.stats, 'acked', #acked)
  end
  countFailures(k, retried, dead)
  return #acked, retried, dead, notHeld
end
