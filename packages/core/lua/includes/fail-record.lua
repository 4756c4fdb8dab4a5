-- An item's `fails` record, and burying an item in `dead`. A record is
--   {"attempts":a,"returns":r,"at":ms,"error":"...","how":"..."}
-- with attempts first and returns second, so both read without decoding.
-- A delayed or dead item keeps its payload in `items`; a pending one carries
-- it in its entry.
-- k: table of keys {items, fails, dead}

-- Attempts and returns recorded in a `fails` record (nil/false: 0, 0).
local function recordCounts(record)
  if not record then return 0, 0 end
  local attempts = tonumber(string.match(record, '^{"attempts":(%d+)')) or 0
  local returns = tonumber(string.match(record, '^{"attempts":%d+,"returns":(%d+)')) or 0
  return attempts, returns
end

local function writeRecord(k, id, attempts, returns, now, message, how)
  redis.call('HSET', k.fails, id, '{"attempts":' .. attempts .. ',"returns":' .. returns .. ',"at":' .. now
    .. ',"error":' .. cjson.encode(message) .. ',"how":' .. cjson.encode(how) .. '}')
end

local function bury(k, id, entry, tab, now)
  redis.call('HSET', k.items, id, string.sub(entry, tab + 1))
  redis.call('ZADD', k.dead, now, id)
end
