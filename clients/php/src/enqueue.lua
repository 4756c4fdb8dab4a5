-- batchjob enqueue:0.2.0
-- bjError: a script's error reply 'BJLUA:<code>:<detail>', which
-- errorFromLua (src/errors.ts) turns into a typed error.

local function bjError(code, detail)
  return redis.error_reply('BJLUA:' .. code .. ':' .. detail)
end

-- Entries and ids: an entry of `pending`, of a chunk list or of a group is
-- `<id>\t<payload JSON>`; ids contain no control characters and JSON text
-- has no raw tab.

local TAB = '\t'

-- The id of an entry and the position of its tab. An entry written around
-- the API without a tab is all id with an empty payload (it then dies as
-- "not valid JSON" instead of breaking the script).
local function entryId(e)
  local tab = string.find(e, TAB, 1, true)
  if not tab then return e, #e end
  return string.sub(e, 1, tab - 1), tab
end

-- Generated ids start with '#'; others were given by the caller and are in
-- the dedupe set `ids` while the item exists.
local function isCallerId(id)
  return string.byte(id, 1) ~= 35
end

-- Commands over long lists of values, in slices so unpack stays below Lua's
-- stack limit.

-- Run `cmd key <values...>` in slices of `step` values.
local function sliced(cmd, key, list, step)
  local n = #list
  for i = 1, n, step do
    local j = math.min(i + step - 1, n)
    redis.call(cmd, key, unpack(list, i, j))
  end
end

-- Like `sliced`, for commands that return one value per argument (HMGET);
-- returns the concatenated replies.
local function slicedGet(cmd, key, list, step)
  local out = {}
  local n = #list
  for i = 1, n, step do
    local j = math.min(i + step - 1, n)
    local part = redis.call(cmd, key, unpack(list, i, j))
    for x = 1, #part do out[#out + 1] = part[x] end
  end
  return out
end

-- nowMs: Redis server time in milliseconds, the one clock shared by all hosts.

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

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

-- the keys of enqueue, named by its header
local K = {pending = KEYS[1], ids = KEYS[2], seq = KEYS[3], stats = KEYS[4], activity = KEYS[5], wake = KEYS[6], since = KEYS[7]}

-- enqueue: adds items that have caller ids (which dedupe) and maybe some
-- without, many per call. (Calls where no item has a caller id skip Lua: the
-- client reserves ids with INCRBY and pushes the entries in one MULTI.)
-- KEYS: pending ids seq stats activity wake since
--   pending   LIST of entries `<id>\t<payload>`
--   ids       SET of caller-given ids present (dedupe)
--   seq       STRING counter for generated ids
--   stats     HASH of counters
--   activity  STRING: items enqueued or revived (the manager's signal to read the type again)
--   wake      LIST: wakes one lingering worker (#12); kept to WAKE_SIGNALS_KEPT (keys.ts) entries
--   since     ZSET: where each enqueue's entries start in the push count (`pushed` in stats) and when
--             (the age of the oldest pending item, includes/pushed.lua)
-- ARGV[1]          the producer protocol version the caller speaks: '2'
--                  (docs/protocol.md); another is refused (BJLUA:2) before anything is written
-- ARGV[2]          how many ids to generate
-- ARGV[3..]        pairs of id ('' = generate one) and payload
-- Returns {added, firstSeq, dedupedIds}: generated ids are '#'..seq from
-- firstSeq upwards in input order; a caller id still present is skipped.
-- This script is the producer protocol: clients/ ship byte-identical copies.
--- @include "error"
--- @include "entry"
--- @include "sliced"
--- @include "clock"
--- @include "pushed"

local PROTOCOL = '2'
if ARGV[1] ~= PROTOCOL then
  return bjError(2, 'enqueue protocol version ' .. tostring(ARGV[1]) .. ' is not supported: this script speaks version '
    .. PROTOCOL .. ' (docs/protocol.md); use a client of the same batchjob release')
end
local autos = tonumber(ARGV[2])
if not autos or #ARGV % 2 ~= 0 then
  return bjError(1, 'enqueue expects a protocol version, a count and pairs of id and payload')
end
local seq = 0
if autos > 0 then seq = redis.call('INCRBY', K.seq, autos) - autos end
local firstSeq = seq + 1
local push, deduped = {}, {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if id == '' then
    seq = seq + 1
    push[#push + 1] = '#' .. seq .. TAB .. ARGV[i + 1]
  elseif redis.call('SADD', K.ids, id) == 1 then
    push[#push + 1] = id .. TAB .. ARGV[i + 1]
  else
    deduped[#deduped + 1] = id
  end
end
if #push > 0 then
  sliced('RPUSH', K.pending, push, 1000)
  markPushed(K, #push, nowMs())
  redis.call('HINCRBY', K.stats, 'enqueued', #push)
  redis.call('INCRBY', K.activity, #push)
  -- #12: wake a lingering worker; the list stays one entry long
  redis.call('LPUSH', K.wake, 1)
  redis.call('LTRIM', K.wake, 0, 0)
end
if #deduped > 0 then redis.call('HINCRBY', K.stats, 'deduped', #deduped) end
return {#push, firstSeq, deduped}
