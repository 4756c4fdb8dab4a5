-- nowMs: Redis server time in milliseconds, the one clock shared by all hosts.

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
