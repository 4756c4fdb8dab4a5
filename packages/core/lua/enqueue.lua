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
