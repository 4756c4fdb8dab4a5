-- The age of the oldest pending item (#10): every entry appended to the tail
-- of `pending` is counted in the `pushed` field of `stats`, and each enqueue
-- marks in `since` where its entries start (score: the push count of its
-- first entry; member `<count>:<ms>`). Entries leave only from the head, so
-- the head is entry number pushed - LLEN(pending) + 1, and the newest mark at
-- or below that number says when it was enqueued (an entry handed back to the
-- head counts from an older mark; a retry from the enqueue before it). Marks
-- below the head's are dropped where chunks are taken (trimMarks).
-- k: table of keys {pending, stats, since}

-- Counts `n` entries appended to pending's tail (retries, revived items) without a mark of their own.
local function countPushed(k, n)
  if n > 0 then redis.call('HINCRBY', k.stats, 'pushed', n) end
end

-- The push number of the entry at the head of pending (0 when it is empty).
local function headNumber(k)
  local len = redis.call('LLEN', k.pending)
  if len == 0 then return 0 end
  return tonumber(redis.call('HGET', k.stats, 'pushed') or '0') - len + 1
end

-- Counts `n` entries just appended to pending's tail and marks them enqueued at `now`. Returns the push number of
-- the last. (Needs no read of pending: a producer may only write it.)
local function markPushed(k, n, now)
  if n <= 0 then return nil end
  local last = redis.call('HINCRBY', k.stats, 'pushed', n)
  local first = last - n + 1
  redis.call('ZADD', k.since, first, first .. ':' .. now)
  return last
end

-- Drops the marks of entries no longer pending (below the head's mark) once more than MARKS_KEPT are kept: run
-- where chunks are taken, so `since` holds about one mark per enqueue call still waiting.
local MARKS_KEPT = 32
local function trimMarks(k)
  if redis.call('ZCARD', k.since) <= MARKS_KEPT then return end
  local kept = redis.call('ZRANGE', k.since, headNumber(k), '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 1)
  if kept[1] then
    local colon = string.find(kept[1], ':', 1, true)
    redis.call('ZREMRANGEBYSCORE', k.since, '-inf', '(' .. string.sub(kept[1], 1, colon - 1))
  elseif redis.call('LLEN', k.pending) == 0 then
    redis.call('DEL', k.since)
  end
end
