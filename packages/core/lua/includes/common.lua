-- Shared helpers, prepended to every script by the loader.

local function bjError(code, detail)
  return redis.error_reply('BJLUA:' .. code .. ':' .. detail)
end

-- Redis server time in milliseconds: the one clock shared by all hosts.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Run `cmd key <values...>` in slices so unpack stays below Lua's stack limit.
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

-- An entry of `pending` or of a chunk list is `<id>\t<payload JSON>`; ids
-- contain no control characters and JSON text has no raw tab.
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
