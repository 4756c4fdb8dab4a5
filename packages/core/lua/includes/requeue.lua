-- Entries back to the head of pending in order, without any count (never
-- started, or returned).
-- k: table of keys {pending}
--- @include "sliced"

local function requeue(k, entries)
  if #entries == 0 then return end
  local reversed = {}
  for i = #entries, 1, -1 do reversed[#reversed + 1] = entries[i] end
  sliced('LPUSH', k.pending, reversed, 1000)
end
