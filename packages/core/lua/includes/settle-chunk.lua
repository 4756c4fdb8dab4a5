-- Settling the items a chunk holds, by whose fault each outcome is: acked,
-- charged a failed attempt, given back, requeued, or split. Shared by ack,
-- release and settle. Three fates for an item that is not acked:
--   charged (failItem): the item could have caused the failure;
--   returned (returnItems): its host or daemon went away, no attempt;
--   split (splitEntries): its chunk failed as a whole with no known culprit.
-- k: table of keys {pending, items, fails, delayed, dead, leases, stats, ids, groups, groupPrefix}
--- @include "entry"
--- @include "sliced"
--- @include "fail"
--- @include "return-items"
--- @include "requeue"
--- @include "split"
--- @include "forget-ids"
--- @include "minute-metrics"

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

-- Settles the items chunk `owner` still holds: all of them acked when
-- `o.ackAll` (no ids given: the holder says each one is done), else acks `o.ack` ids, charges
-- `o.fail` ({id, retry, delayMs, message, how} each), returns `o.giveBack`
-- ids (no attempt, returns + 1, message `o.giveBackReason`), requeues
-- `o.requeue` ids (never started: no count) and splits `o.split` ids into two
-- groups of depth `o.splitDepth`. Ids it does not hold change nothing and
-- are returned (fencing). The chunk keeps what is left; an empty chunk loses
-- its lease. `o.metrics` (see minute-metrics) records the minute's counts
-- when given. Returns acked, retried, dead, notHeld ids, returned.
local function settleChunk(k, chunkKey, owner, o, policy, now)
  if o.ackAll then
    -- every item the chunk holds is done: no id to match, and the entries are read only when some id has a
    -- failure record or a dedupe entry to forget
    local n = redis.call('LLEN', chunkKey)
    if n == 0 then return 0, 0, 0, {}, 0 end
    if redis.call('EXISTS', k.fails) == 1 or redis.call('SCARD', k.ids) > 0 then
      local all = redis.call('LRANGE', chunkKey, 0, -1)
      local ids = {}
      for i = 1, #all do ids[i] = entryId(all[i]) end
      forgetIds(k, ids)
    end
    redis.call('DEL', chunkKey)
    redis.call('ZREM', k.leases, owner)
    redis.call('HINCRBY', k.stats, 'acked', n)
    recordMinute(o.metrics, now, n, 0, 0, 0, true)
    return n, 0, 0, {}, 0
  end
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
      if failItem(k, policy, now, f[1], e, tab, f[2], f[3], f[4], f[5]) then
        dead = dead + 1
      else
        retried = retried + 1
      end
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
  recordMinute(o.metrics, now, #acked, retried, dead, back + moved, n > 0 and n == #entries)
  return #acked, retried, dead, notHeld, back + moved
end
