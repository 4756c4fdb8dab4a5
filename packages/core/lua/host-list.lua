-- host-list: every registered host with the age of its last heartbeat,
-- measured on the clock that scored the beats (this slot's node).
-- KEYS[1] host beats ZSET  KEYS[2] host info HASH
-- Returns {now, {id, beatAt, infoJSON or false, ...}}.

local now = nowMs()
local flat = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #flat, 2 do
  out[#out + 1] = flat[i]
  out[#out + 1] = flat[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], flat[i])
end
return {now, out}
