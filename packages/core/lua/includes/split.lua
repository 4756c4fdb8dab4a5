-- Splitting: a chunk that failed as a whole with no known culprit is charged
-- nothing; its halves run as chunks of their own (groups), before anything
-- pending.
-- k: table of keys {stats, groups, groupPrefix}
--- @include "sliced"

-- Puts entries[from..to] in a new group: a list that the next acquire leases
-- as a chunk of its own, before anything pending. `groups` lists
-- "<depth>:<group id>" in order; depth counts the splits that made it.
local function pushGroup(k, entries, from, to, depth)
  if to < from then return end
  local gid = redis.call('HINCRBY', k.stats, 'groupSeq', 1)
  local part = {}
  for i = from, to do part[#part + 1] = entries[i] end
  sliced('RPUSH', k.groupPrefix .. gid, part, 1000)
  redis.call('RPUSH', k.groups, depth .. ':' .. gid)
end

-- Splits entries (held by no chunk any more) into two halves, each its own
-- group. The caller counts them as `returned` (they left their chunk).
local function splitEntries(k, entries, depth)
  local n = #entries
  if n == 0 then return end
  local half = math.ceil(n / 2)
  pushGroup(k, entries, 1, half, depth)
  pushGroup(k, entries, half + 1, n, depth)
  redis.call('HINCRBY', k.stats, 'grouped', n)
  redis.call('HINCRBY', k.stats, 'split', n)
end
