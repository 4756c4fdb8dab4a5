-- Entries and ids: an entry of `pending`, of a chunk list or of a group is
-- `<id>\t<payload JSON>`; ids contain no control characters and JSON text
-- has no raw tab.

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
