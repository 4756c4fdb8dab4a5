-- host-list: every registered host with the age of its last heartbeat,
-- measured on the clock that scored the beats (this slot's node).
-- KEYS: hostBeats hostInfo
--   hostBeats  ZSET host id -> last beat   hostInfo  HASH host id -> HostInfo JSON
-- Returns {now, {id, beatAt, infoJSON or false, ...}}.
--- @include "clock"

local now = nowMs()
local flat = redis.call('ZRANGE', K.hostBeats, 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #flat, 2 do
  out[#out + 1] = flat[i]
  out[#out + 1] = flat[i + 1]
  out[#out + 1] = redis.call('HGET', K.hostInfo, flat[i])
end
return {now, out}
