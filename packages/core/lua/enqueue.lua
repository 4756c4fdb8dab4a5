-- enqueue: adds items to a job type's queue, many per call.
-- KEYS[1] items    HASH id -> payload
-- KEYS[2] pending  LIST of waiting ids
-- KEYS[3] seq      STRING counter for generated ids
-- KEYS[4] stats    HASH of counters
-- ARGV[1] n        number of items
-- ARGV[2] autos    how many of them have no caller id
-- ARGV[3..]        n pairs: id ('' = generate one), payload
-- Returns {added, firstSeq, dedupedIds}: generated ids are '#'..seq from
-- firstSeq upwards in order; a caller id already present is skipped (dedupe).

local n = tonumber(ARGV[1])
local autos = tonumber(ARGV[2])
if not n or not autos or #ARGV ~= 2 + 2 * n then
  return bjError(1, 'enqueue expects n pairs of id and payload')
end
local seq = 0
if autos > 0 then seq = redis.call('INCRBY', KEYS[3], autos) - autos end
local firstSeq = seq + 1
local fields, push, deduped = {}, {}, {}
for i = 1, n do
  local id = ARGV[1 + 2 * i]
  local payload = ARGV[2 + 2 * i]
  if id == '' then
    seq = seq + 1
    id = '#' .. seq
    fields[#fields + 1] = id
    fields[#fields + 1] = payload
    push[#push + 1] = id
  elseif redis.call('HSETNX', KEYS[1], id, payload) == 1 then
    push[#push + 1] = id
  else
    deduped[#deduped + 1] = id
  end
end
if #fields > 0 then sliced('HSET', KEYS[1], fields, 1000) end
if #push > 0 then
  sliced('RPUSH', KEYS[2], push, 1000)
  redis.call('HINCRBY', KEYS[4], 'enqueued', #push)
end
if #deduped > 0 then redis.call('HINCRBY', KEYS[4], 'deduped', #deduped) end
return {#push, firstSeq, deduped}
