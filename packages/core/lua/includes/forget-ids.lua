-- Forgetting ids that left for good (acked or purged): their failure records
-- and dedupe entries.
-- k: table of keys {fails, ids}
--- @include "entry"
--- @include "sliced"

local function forgetIds(k, ids)
  if #ids == 0 then return end
  if redis.call('EXISTS', k.fails) == 1 then sliced('HDEL', k.fails, ids, 1000) end
  local callers = {}
  for i = 1, #ids do
    if isCallerId(ids[i]) then callers[#callers + 1] = ids[i] end
  end
  if #callers > 0 then sliced('SREM', k.ids, callers, 1000) end
end
