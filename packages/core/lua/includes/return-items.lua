-- Returning items: their host or daemon died, their lease expired, a
-- shutdown aborted them. No attempt is charged; returns + 1; a lone item
-- past maxReturns dies (it kills whatever takes it). Shared by settle
-- (give back) and reclaim.
-- k: table of keys {pending, items, fails, dead, stats, groups, groupPrefix}
--- @include "entry"
--- @include "sliced"
--- @include "fail-record"
--- @include "requeue"
--- @include "split"

-- Returns entries that left a chunk through no fault of their own: returns + 1
-- each, no attempt. Entries of which one was returned before go back split
-- (something in them may kill its host); a lone entry that reached maxReturns
-- dies; the rest go back to the head of pending. Returns {returned, dead}.
local function returnItems(k, policy, now, entries, message)
  local n = #entries
  if n == 0 then return 0, 0 end
  local ids = {}
  for i = 1, n do ids[i] = entryId(entries[i]) end
  local records = slicedGet('HMGET', k.fails, ids, 1000)
  local again = false
  for i = 1, n do
    local attempts, returns = recordCounts(records[i])
    if returns > 0 then again = true end
    returns = returns + 1
    if n == 1 and returns >= policy.maxReturns then
      local why = 'returned ' .. returns .. ' times without a result: whatever ran it died each time (last: '
        .. message .. ')'
      writeRecord(k, ids[i], attempts, returns, now, why, 'returned')
      local _, tab = entryId(entries[i])
      bury(k, ids[i], entries[i], tab, now)
      redis.call('HINCRBY', k.stats, 'died', 1)
      return 0, 1
    end
    writeRecord(k, ids[i], attempts, returns, now, message, 'returned')
  end
  redis.call('HINCRBY', k.stats, 'returned', n)
  if again and n > 1 then
    splitEntries(k, entries, 1)
  else
    requeue(k, entries)
  end
  return n, 0
end
