-- Acquiring a chunk: a LIST of entries under its own key plus its lease in
-- `leases`. Shared by acquire and settle.
-- k: table of keys {pending, items, fails, delayed, leases, stats, groups, groupPrefix, since}
--- @include "entry"
--- @include "sliced"
--- @include "pushed"

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
  if #entries > 0 then
    sliced('RPUSH', k.pending, entries, 1000)
    countPushed(k, #entries)
  end
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
    trimMarks(k)
    if not entries then return {{}, {}, 0, 0} end
    sliced('RPUSH', chunkKey, entries, 1000)
  end
  local fails = failsOf(k, entries)
  local deadline = now + leaseMs
  redis.call('ZADD', k.leases, deadline, owner)
  redis.call('HINCRBY', k.stats, 'acquired', #entries)
  return {entries, fails, deadline, depth}
end
