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

-- Leases the next group (a split chunk's half) to `owner`, if one waits.
-- Returns {entries, depth} or nil.
local function takeGroup(k, chunkKey)
  for _ = 1, 100 do
    local g = redis.call('LPOP', k.groups)
    if not g then return nil end
    local colon = string.find(g, ':', 1, true)
    local key = k.groupPrefix .. string.sub(g, colon + 1)
    if redis.call('EXISTS', key) == 1 then
      redis.call('RENAME', key, chunkKey)
      local entries = redis.call('LRANGE', chunkKey, 0, -1)
      redis.call('HINCRBY', k.stats, 'grouped', -#entries)
      return entries, tonumber(string.sub(g, 1, colon - 1)) or 1
    end
  end
  return nil
end

-- Leases a chunk to `owner` until now+leaseMs: the next waiting group (split
-- chunks run first, whole), else up to `max` pending entries. Returns
-- {entries, fails records, leaseDeadlineMs, split depth (0: not a group)}.
-- An owner that already holds a chunk gets that chunk again (a retried call
-- whose reply was lost), never a second one; its depth then reads 0.
local function acquireChunk(k, chunkKey, owner, max, leaseMs, now)
  local held = redis.call('ZSCORE', k.leases, owner)
  if held then
    local entries = redis.call('LRANGE', chunkKey, 0, -1)
    return {entries, failsOf(k, entries), tonumber(held), 0}
  end
  local entries, depth = takeGroup(k, chunkKey)
  if not entries then
    depth = 0
    promoteDue(k, now, math.max(max, 100))
    entries = redis.call('LPOP', k.pending, max)
    if not entries then return {{}, {}, 0, 0} end
    sliced('RPUSH', chunkKey, entries, 1000)
  end
  local fails = failsOf(k, entries)
  local deadline = now + leaseMs
  redis.call('ZADD', k.leases, deadline, owner)
  redis.call('HINCRBY', k.stats, 'acquired', #entries)
  return {entries, fails, deadline, depth}
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

-- Settles the items chunk `owner` still holds: acks `o.ack` ids, charges
-- `o.fail` ({id, retry, delayMs, message, how} each), returns `o.giveBack`
-- ids (no attempt, returns + 1, message `o.giveBackReason`), requeues
-- `o.requeue` ids (never started: no count) and splits `o.split` ids into two
-- groups of depth `o.splitDepth`. Ids it does not hold change nothing and
-- are returned (fencing). The chunk keeps what is left; an empty chunk loses
-- its lease. Returns acked, retried, dead, notHeld ids, returned.
local function settleChunk(k, chunkKey, owner, o, policy, now)
  local entries, index = loadChunk(chunkKey)
  local taken, acked, notHeld = {}, {}, {}
  local function take(id)
    local i = index[id]
    if i and not taken[i] then
      taken[i] = true
      return entries[i]
    end
    notHeld[#notHeld + 1] = id
    return nil
  end
  for _, id in ipairs(o.ack or {}) do
    if take(id) then acked[#acked + 1] = id end
  end
  local retried, dead = 0, 0
  for _, f in ipairs(o.fail or {}) do
    local e = take(f[1])
    if e then
      local _, tab = entryId(e)
      if failItem(k, policy, now, f[1], e, tab, f[2], f[3], f[4], f[5]) then dead = dead + 1 else retried = retried + 1 end
    end
  end
  local function held(ids)
    local out = {}
    for _, id in ipairs(ids or {}) do
      local e = take(id)
      if e then out[#out + 1] = e end
    end
    return out
  end
  local back, backDead = returnItems(k, policy, now, held(o.giveBack), o.giveBackReason or 'returned')
  dead = dead + backDead
  local again = held(o.requeue)
  requeue(k, again)
  local halves = held(o.split)
  splitEntries(k, halves, o.splitDepth or 1)
  local moved = #again + #halves
  if moved > 0 then redis.call('HINCRBY', k.stats, 'returned', moved) end
  local n = #acked + retried + dead + back + moved
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
  countFailures(k, retried, dead - backDead)
  return #acked, retried, dead, notHeld, back + moved
end
