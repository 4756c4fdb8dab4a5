-- Acquiring a chunk, shared by acquire and settle.
-- k: table of keys {pending, items, attempts, delayed, leases, stats}

-- Moves up to `limit` due delayed items to the back of pending.
local function promoteDue(k, now, limit)
  local due = redis.call('ZRANGE', k.delayed, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
  if #due > 0 then
    sliced('ZREM', k.delayed, due, 1000)
    sliced('RPUSH', k.pending, due, 1000)
  end
  return #due
end

-- Pops up to `max` pending ids and leases them to `owner` until now+leaseMs.
-- Returns {ids, payloads, attempts, deadline}; empty tables when none.
local function acquireChunk(k, chunkKey, owner, max, leaseMs, now)
  promoteDue(k, now, math.max(max, 100))
  local popped = redis.call('LPOP', k.pending, max)
  if not popped then return {{}, {}, {}, 0} end
  local found = slicedGet('HMGET', k.items, popped, 1000)
  local ids, payloads = {}, {}
  for i = 1, #popped do
    -- an id without a payload was purged while pending: drop it
    if found[i] then
      ids[#ids + 1] = popped[i]
      payloads[#payloads + 1] = found[i]
    end
  end
  if #ids == 0 then return {{}, {}, {}, 0} end
  local attempts = slicedGet('HMGET', k.attempts, ids, 1000)
  sliced('SADD', chunkKey, ids, 1000)
  local deadline = now + leaseMs
  redis.call('ZADD', k.leases, deadline, owner)
  redis.call('HINCRBY', k.stats, 'acquired', #ids)
  return {ids, payloads, attempts, deadline}
end

-- Acks the ids `owner` still holds: removes them for good. Returns the ids
-- it did not hold (fenced: reclaimed, or never leased to this owner).
local function ackHeld(k, chunkKey, ids)
  if #ids == 0 then return 0, {} end
  local held = slicedGet('SMISMEMBER', chunkKey, ids, 1000)
  local mine, notHeld = {}, {}
  for i = 1, #ids do
    if held[i] == 1 then mine[#mine + 1] = ids[i] else notHeld[#notHeld + 1] = ids[i] end
  end
  if #mine > 0 then
    sliced('SREM', chunkKey, mine, 1000)
    sliced('HDEL', k.items, mine, 1000)
    sliced('HDEL', k.attempts, mine, 1000)
    sliced('HDEL', k.errors, mine, 1000)
    redis.call('HINCRBY', k.stats, 'acked', #mine)
  end
  return #mine, notHeld
end

-- Drops the chunk's lease once it holds nothing.
local function dropLeaseIfEmpty(k, chunkKey, owner)
  if redis.call('SCARD', chunkKey) == 0 then
    redis.call('ZREM', k.leases, owner)
  end
end
