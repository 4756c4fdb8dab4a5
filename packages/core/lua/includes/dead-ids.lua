-- deadIds: the dead item ids a dead-letter action works on: ARGV[2..] when
-- given, else the oldest ARGV[1] (limit) of the dead set `dead`. Returns nil and an error
-- reply when the limit is not a number >= 1.
--- @include "error"

local function deadIds(script, dead)
  local limit = tonumber(ARGV[1])
  if not limit or limit < 1 then return nil, bjError(1, script .. ' expects limit >= 1') end
  if #ARGV < 2 then return redis.call('ZRANGE', dead, 0, limit - 1) end
  local ids = {}
  for i = 2, #ARGV do ids[#ids + 1] = ARGV[i] end
  return ids
end
