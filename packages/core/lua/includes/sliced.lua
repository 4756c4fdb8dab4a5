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
